"""What the room pages show: read-side context for the templates, built from the same
API-shaped dicts the JSON API returns (rooms/queries.py, rooms/serializers.py); what the
phase allows is rooms/phases.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.errors import AppError, NotFound
from innovate.rooms.access import RoomAccess, room_access
from innovate.rooms.discussion.queries import pinned_json
from innovate.rooms.ideas.service import MODERATOR_STATUSES, idea_in_room
from innovate.rooms.models import Idea, Membership, Message, Room
from innovate.rooms.phases import (
    Standing,
    blocked_for,
    next_step,
    phase_blocks,
    phase_moves,
)
from innovate.rooms.queries import (
    idea_detail,
    list_ideas,
    list_members,
    list_messages,
    list_rooms,
    viewer_for,
)
from innovate.rooms.serializers import Viewer, room_json, tallies_visible

MESSAGES_PER_PAGE = 40
IDEAS_PER_PAGE = 20


@dataclass
class Form:
    """A form's state for re-rendering: submitted values, field errors, a form-level message."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    ok: bool = False

    @classmethod
    def failed(cls, values: dict[str, Any], exc: AppError, fields: tuple[str, ...]) -> Form:
        """Field errors go next to their inputs; anything else becomes the form's message."""
        errors = {k: v for k, v in (exc.fields or {}).items() if k in fields}
        message = None if errors and len(errors) == len(exc.fields or {}) else exc.message
        return cls(values={k: v for k, v in values.items() if isinstance(v, str)}, errors=errors, message=message)


# Page contexts ----------------------------------------------------------------------------


async def room_base(db: AsyncSession, user: User | None, slug: str) -> tuple[RoomAccess, dict[str, Any]]:
    """The room (read first, so its ``last_seq`` is where the live stream resumes) and the
    context every room partial needs."""
    access = await room_access(db, user, slug)
    viewer = viewer_for(access)
    room = room_json(access.room, access.membership, moderator=viewer.moderator)
    standing = Standing.of(access)
    return access, {
        "room": room,
        "viewer": viewer,
        "standing": standing,
        "blocked": blocked_for(room, viewer.moderator, standing),
        "phase_blocked": phase_blocks(room, viewer.moderator),
        "next_step": next_step(room),
        "phase_moves": phase_moves(room) if viewer.moderator else [],
    }


async def ideas_context(db: AsyncSession, access: RoomAccess, sort: str, cursor: str | None) -> dict[str, Any]:
    viewer = viewer_for(access)
    hidden = not tallies_visible(access.room, viewer)
    effective = "new" if sort == "top" and hidden else sort
    page = await list_ideas(db, access, sort=effective, cursor=cursor, limit=IDEAS_PER_PAGE)
    return {"ideas": page.items, "next_cursor": page.next_cursor, "sort": effective, "cursor": cursor,
            "tallies_hidden": hidden}


async def thread_context(db: AsyncSession, access: RoomAccess, idea_id: int | None, before: int | None,
                         reply_to: int | None = None) -> dict[str, Any]:
    page = await list_messages(db, access, idea_id=idea_id, before=before, limit=MESSAGES_PER_PAGE)
    parents = await parent_names(db, access, page.items)
    reply = None
    if reply_to is not None:
        names = parents | await parent_names(db, access, [{"reply_to": reply_to}])
        if reply_to in names:
            reply = {"id": reply_to, "name": names[reply_to]}
    return {"messages": page.items, "older": page.next_cursor, "parents": parents, "reply": reply,
            "thread_key": f"idea-{idea_id}" if idea_id else "room", "idea_id": idea_id}


async def parent_names(db: AsyncSession, access: RoomAccess, messages: list[dict[str, Any]]) -> dict[int, str]:
    """Author names of the messages these reply to, for "in reply to Ada" (visible parents only)."""
    ids = {m["reply_to"] for m in messages if m.get("reply_to")}
    if not ids:
        return {}
    rows = await db.execute(
        select(Message.id, User.name).join(User, User.id == Message.author_id)
        .where(Message.id.in_(ids), Message.room_id == access.room.id, Message.state == "visible")
    )
    return {row.id: row.name for row in rows}


async def room_page(db: AsyncSession, user: User | None, slug: str, *, sort: str = "top", cursor: str | None = None,
                    before: int | None = None, reply_to: int | None = None) -> dict[str, Any]:
    access, context = await room_base(db, user, slug)
    context.update(await ideas_context(db, access, sort, cursor))
    context.update(await thread_context(db, access, None, before, reply_to))
    context["members"] = await list_members(db, access)
    context["pinned"] = await pinned_json(db, access)
    return context


async def idea_page(db: AsyncSession, user: User | None, slug: str, idea_id: int, *, before: int | None = None,
                    reply_to: int | None = None) -> dict[str, Any]:
    access, context = await room_base(db, user, slug)
    _, idea = await idea_in_room(db, user, idea_id)
    if idea.room_id != access.room.id:
        raise NotFound("No such idea.")
    data = await idea_detail(db, access, idea)
    if idea.locked and not context["viewer"].moderator:
        context["blocked"] = {**context["blocked"], "post": "A moderator locked this discussion."}
    context.update(await thread_context(db, access, idea.id, before, reply_to))
    context.update({
        "idea": data,
        "is_author": idea.author_id == access.user.id,
        "can_edit": (idea.author_id == access.user.id and access.is_member and access.room.phase == "open"
                     and idea.status != "merged" and idea.state == "visible"),
        "statuses": MODERATOR_STATUSES,
        "merge_targets": await merge_targets(db, idea) if context["viewer"].moderator else [],
    })
    return context


async def merge_targets(db: AsyncSession, idea: Idea) -> list[dict[str, Any]]:
    rows = await db.execute(
        select(Idea.id, Idea.title).where(Idea.room_id == idea.room_id, Idea.id != idea.id, Idea.status != "merged")
        .order_by(Idea.id.desc()).limit(500)
    )
    return [{"id": r.id, "title": r.title} for r in rows]


async def directory(db: AsyncSession, user: User, *, query: str = "", phase: str | None = None,
                    mine: bool = False) -> list[tuple[dict[str, Any], bool]]:
    """Rooms the user may see, each with whether a Join button belongs next to it."""
    rooms = await list_rooms(db, user, query=query, phase=phase, mine=mine)
    if not rooms:
        return []
    rows = await db.execute(
        select(Room, Membership).outerjoin(Membership, (Membership.room_id == Room.id) & (Membership.user_id == user.id))
        .where(Room.id.in_([r["id"] for r in rooms]))
    )
    joinable = {room.id for room, membership in rows.all() if RoomAccess(room, user, membership).can_join}
    return [(r, r["id"] in joinable) for r in rooms]


def viewer_of(context: dict[str, Any]) -> Viewer:
    return context["viewer"]
