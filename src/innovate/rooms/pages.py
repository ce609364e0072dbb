"""What the room pages show: read-side context for the templates, built from the same
API-shaped dicts the JSON API returns (rooms/queries.py, rooms/serializers.py).

Also decides, as human-readable reasons, what the page lets a viewer do right now: the
phase rules come from rooms/rules.py (the same checks the services enforce), the viewer's
standing (member, muted) is added on top. ``None`` means "allowed".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.db import utcnow
from innovate.errors import AppError, Conflict, NotFound
from innovate.rooms import rules
from innovate.rooms.access import RoomAccess, room_access
from innovate.rooms.discussion.queries import pinned_json
from innovate.rooms.ideas.service import MODERATOR_STATUSES, idea_in_room
from innovate.rooms.models import Idea, Membership, Message, Room
from innovate.rooms.queries import (
    idea_detail,
    list_ideas,
    list_members,
    list_messages,
    list_rooms,
    viewer_for,
)
from innovate.rooms.serializers import Viewer, room_json, tallies_visible

NEEDS = ("post", "submit", "vote")
MESSAGES_PER_PAGE = 40
IDEAS_PER_PAGE = 20

PHASE_MOVES: dict[str, list[tuple[str, str, str]]] = {
    "draft": [("open", "Open the room", "next")],
    "open": [("voting", "Start voting", "next"), ("closed", "Close the room", "skip")],
    "voting": [("closed", "Close voting", "next"), ("open", "Back to collecting ideas", "back")],
    "closed": [("archived", "Archive", "next"), ("voting", "Reopen voting", "back")],
    "archived": [],
}

# Which scheduled time ends each phase, and what comes then.
NEXT_STEP = {"draft": (("opens_at", "open"),), "open": (("voting_at", "voting"), ("closes_at", "closed")),
             "voting": (("closes_at", "closed"),), "closed": (("archives_at", "archived"),)}


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


# What the phase allows ------------------------------------------------------------------


def phase_blocks(room: dict[str, Any], moderator: bool) -> dict[str, str | None]:
    """Why the phase (and lock) stops posting, submitting or voting, per need; None = allowed.

    Asks rules.py, the checks the services run, with a stand-in for RoomAccess that holds
    only what those checks read, so pages and live fragments never drift from the services.
    """
    stand_in = SimpleNamespace(
        room=SimpleNamespace(phase=room["phase"], locked=room["locked"], votes_in_open=room["voting"]["votes_in_open"]),
        can_moderate=moderator,
    )
    checks = {"post": rules.check_can_post, "submit": rules.check_can_submit_idea, "vote": rules.check_can_vote}
    blocks: dict[str, str | None] = {}
    for need, check in checks.items():
        try:
            check(stand_in)  # type: ignore[arg-type]
            blocks[need] = None
        except Conflict as exc:
            blocks[need] = exc.message
    return blocks


@dataclass(frozen=True)
class Standing:
    member: bool
    muted_until: str | None
    can_join: bool

    @classmethod
    def of(cls, access: RoomAccess) -> Standing:
        muted = access.membership.muted_until if access.is_muted else None  # type: ignore[union-attr]
        return cls(member=access.is_member, muted_until=muted.isoformat() if muted else None, can_join=access.can_join)


def blocked_for(room: dict[str, Any], moderator: bool, standing: Standing) -> dict[str, str | None]:
    """Phase reasons first (the most useful to read), then membership, then a mute."""
    blocks = phase_blocks(room, moderator)
    if not standing.member:
        reason = "Join this challenge to take part." if standing.can_join else "Only members of this room take part."
    elif standing.muted_until:
        reason = f"You are muted until {standing.muted_until[:16].replace('T', ' ')} UTC."
    else:
        reason = None
    return {need: blocks[need] or reason for need in NEEDS}


def next_step(room: dict[str, Any], now: datetime | None = None) -> dict[str, str] | None:
    """The next scheduled phase change: {phase, at, remaining}, or None."""
    now = now or utcnow()
    for name, phase in NEXT_STEP.get(room["phase"], ()):
        at = room["schedule"].get(name)
        if at:
            return {"phase": phase, "at": at, "remaining": remaining_text(datetime.fromisoformat(at) - now)}
    return None


def remaining_text(delta: Any) -> str:
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "any moment now"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = max(1, rest // 60) if not days and not hours else rest // 60
    parts = [f"{days} d"] if days else []
    if hours or days:
        parts.append(f"{hours} h")
    if not days:
        parts.append(f"{minutes} min")
    return "in " + " ".join(parts)


def phase_moves(room: dict[str, Any]) -> list[tuple[str, str, str]]:
    return PHASE_MOVES.get(room["phase"], [])


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
