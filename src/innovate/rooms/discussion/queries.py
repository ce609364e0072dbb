"""Read side of the discussion: a thread's messages (paged backwards), the pinned messages,
and who the messages of a thread reply to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.rooms.access import RoomAccess
from innovate.rooms.models import Message
from innovate.rooms.queries import Page, viewer_for
from innovate.rooms.serializers import message_json

PIN_LIMIT = 10


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


async def pinned_messages(db: AsyncSession, room_id: int) -> list[tuple[Message, User | None]]:
    """The room's pinned messages that everyone may read, newest first."""
    rows = await db.execute(
        select(Message, User).outerjoin(User, User.id == Message.author_id)
        .where(Message.room_id == room_id, Message.pinned.is_(True), Message.state == "visible")
        .order_by(Message.id.desc()).limit(PIN_LIMIT)
    )
    return [(m, u) for m, u in rows.all()]


async def pinned_json(db: AsyncSession, access: RoomAccess) -> list[dict[str, Any]]:
    viewer = viewer_for(access)
    return [message_json(m, access.room, author, viewer) for m, author in await pinned_messages(db, access.room.id)]


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
