"""Read side: the lists pages and the API show, each shaped for the viewer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.db import utcnow
from innovate.errors import Invalid
from innovate.rooms.access import RoomAccess, can_see_room
from innovate.rooms.ideas.ranking import decode_cursor, encode_cursor, trending_rank
from innovate.rooms.models import PHASES, Idea, Membership, Message, Room, Vote
from innovate.rooms.serializers import (
    Viewer,
    idea_json,
    member_json,
    message_json,
    room_json,
    tallies_visible,
)

IDEA_SORTS = ("top", "new", "trending", "discussed")
MAX_LIMIT = 100


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None = None

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"items": self.items}
        if self.next_cursor:
            data["next_cursor"] = self.next_cursor
        return data


def viewer_for(access: RoomAccess) -> Viewer:
    return Viewer(user_id=access.user.id, moderator=access.can_moderate)


def check_limit(raw: str | None, default: int = 30) -> int:
    if raw in (None, ""):
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:  # type: ignore[union-attr]
        raise Invalid.field("limit", f"expected a whole number from 1 to {MAX_LIMIT}")
    return int(raw)  # type: ignore[arg-type]


async def list_rooms(db: AsyncSession, user: User, *, query: str = "", phase: str | None = None,
                     mine: bool = False) -> list[dict[str, Any]]:
    """Rooms the user may see, newest first, with search and a phase filter."""
    if phase is not None and phase not in PHASES:
        raise Invalid.field("phase", f"expected one of {', '.join(PHASES)}")
    stmt = (select(Room, Membership)
            .outerjoin(Membership, and_(Membership.room_id == Room.id, Membership.user_id == user.id))
            .order_by(Room.created_at.desc(), Room.id.desc()))
    if query:
        like = f"%{query.lower()[:100]}%"
        stmt = stmt.where(or_(func.lower(Room.title).like(like), func.lower(Room.slug).like(like)))
    if phase:
        stmt = stmt.where(Room.phase == phase)
    if mine:
        stmt = stmt.where(Membership.state == "active")
    elif not user.is_admin:
        # The database narrows; can_see_room below has the last word.
        stmt = stmt.where(or_(Membership.state == "active", Room.visibility == "employees"))
    items = []
    for room, membership in (await db.execute(stmt.limit(500))).all():
        if not can_see_room(room, user, membership):
            continue
        moderator = user.is_admin or (membership is not None and membership.state == "active"
                                      and membership.role == "moderator")
        items.append(room_json(room, membership, moderator=moderator))
    return items


async def list_ideas(db: AsyncSession, access: RoomAccess, *, sort: str = "top", cursor: str | None = None,
                     limit: int = 30, status: str | None = None) -> Page:
    if sort not in IDEA_SORTS:
        raise Invalid.field("sort", f"expected one of {', '.join(IDEA_SORTS)}")
    room, viewer = access.room, viewer_for(access)
    if sort == "top" and not tallies_visible(room, viewer):
        sort = "new"  # ranking by hidden tallies would reveal them
    stmt = select(Idea).where(Idea.room_id == room.id)
    if not viewer.moderator:
        stmt = stmt.where(or_(Idea.state == "visible", Idea.author_id == viewer.user_id))
    if status:
        stmt = stmt.where(Idea.status == status)
    if sort == "trending":
        return await _trending(db, access, stmt, cursor, limit)
    key_column = {"top": Idea.rank_top, "new": Idea.id, "discussed": Idea.messages_count}[sort]
    after = decode_cursor(cursor, ("k", "id"))
    if after is not None:
        stmt = stmt.where(or_(key_column < after["k"], and_(key_column == after["k"], Idea.id < after["id"])))
    rows = list((await db.execute(stmt.order_by(key_column.desc(), Idea.id.desc()).limit(limit + 1))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    items = await ideas_json(db, access, rows)
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor({"k": getattr(last, key_column.key), "id": last.id})
    return Page(items, next_cursor)


async def _trending(db: AsyncSession, access: RoomAccess, stmt: Any, cursor: str | None, limit: int) -> Page:
    # The decayed score changes with time, so the cursor pins the moment it was computed at.
    after = decode_cursor(cursor, ("at", "k", "id"))
    now = datetime.fromisoformat(after["at"]) if after else utcnow()
    ideas = list((await db.execute(stmt)).scalars())
    ranked = sorted(((trending_rank(i.score, i.voters, i.messages_count, i.created_at, now), i.id, i)
                     for i in ideas), key=lambda r: (r[0], r[1]), reverse=True)
    if after is not None:
        ranked = [r for r in ranked if (r[0], r[1]) < (after["k"], after["id"])]
    page = ranked[:limit]
    items = await ideas_json(db, access, [r[2] for r in page])
    next_cursor = None
    if len(ranked) > limit:
        next_cursor = encode_cursor({"at": now.isoformat(), "k": page[-1][0], "id": page[-1][1]})
    return Page(items, next_cursor)


async def ideas_json(db: AsyncSession, access: RoomAccess, ideas: list[Idea]) -> list[dict[str, Any]]:
    if not ideas:
        return []
    viewer = viewer_for(access)
    ids = [i.id for i in ideas]
    authors = {u.id: u for u in (await db.execute(
        select(User).where(User.id.in_({i.author_id for i in ideas if i.author_id})))).scalars()}
    votes = dict((await db.execute(
        select(Vote.idea_id, Vote.value).where(Vote.user_id == viewer.user_id, Vote.idea_id.in_(ids)))).all())
    merged_ids = {i.merged_into_id for i in ideas if i.merged_into_id}
    titles = dict((await db.execute(select(Idea.id, Idea.title).where(Idea.id.in_(merged_ids)))).all()) if merged_ids else {}
    return [
        idea_json(i, access.room, authors.get(i.author_id or 0), viewer, my_vote=votes.get(i.id),
                  merged_into_title=titles.get(i.merged_into_id or 0))
        for i in ideas
    ]


async def list_messages(db: AsyncSession, access: RoomAccess, *, idea_id: int | None = None,
                        before: int | None = None, limit: int = 50) -> Page:
    """A thread's messages, newest page first but returned oldest-first; pages backwards."""
    viewer = viewer_for(access)
    stmt = select(Message).where(Message.room_id == access.room.id)
    stmt = stmt.where(Message.idea_id == idea_id) if idea_id is not None else stmt.where(Message.idea_id.is_(None))
    if not viewer.moderator:
        stmt = stmt.where(or_(Message.state.in_(("visible", "hidden", "deleted")), Message.author_id == viewer.user_id))
    if before is not None:
        stmt = stmt.where(Message.id < before)
    rows = list((await db.execute(stmt.order_by(Message.id.desc()).limit(limit + 1))).scalars())
    more = len(rows) > limit
    rows = list(reversed(rows[:limit]))
    authors = {u.id: u for u in (await db.execute(
        select(User).where(User.id.in_({m.author_id for m in rows if m.author_id})))).scalars()}
    items = [message_json(m, access.room, authors.get(m.author_id or 0), viewer) for m in rows]
    return Page(items, str(rows[0].id) if more and rows else None)


async def list_members(db: AsyncSession, access: RoomAccess) -> list[dict[str, Any]]:
    rows = await db.execute(
        select(Membership, User).join(User, User.id == Membership.user_id)
        .where(Membership.room_id == access.room.id, Membership.state == "active", User.is_active.is_(True))
        .order_by(Membership.role.desc(), User.name)
    )
    return [member_json(m, u) for m, u in rows.all()]


async def idea_detail(db: AsyncSession, access: RoomAccess, idea: Idea) -> dict[str, Any]:
    return (await ideas_json(db, access, [idea]))[0]
