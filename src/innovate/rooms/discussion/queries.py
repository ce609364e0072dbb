"""Read side of the discussion that pages show beside the thread: the pinned messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.rooms.access import RoomAccess
from innovate.rooms.models import Message
from innovate.rooms.serializers import Viewer, message_json

PIN_LIMIT = 10


async def pinned_messages(db: AsyncSession, room_id: int) -> list[tuple[Message, User | None]]:
    """The room's pinned messages that everyone may read, newest first."""
    rows = await db.execute(
        select(Message, User).outerjoin(User, User.id == Message.author_id)
        .where(Message.room_id == room_id, Message.pinned.is_(True), Message.state == "visible")
        .order_by(Message.id.desc()).limit(PIN_LIMIT)
    )
    return [(m, u) for m, u in rows.all()]


async def pinned_json(db: AsyncSession, access: RoomAccess) -> list[dict[str, Any]]:
    viewer = Viewer(user_id=access.user.id, moderator=access.can_moderate)
    return [message_json(m, access.room, author, viewer) for m, author in await pinned_messages(db, access.room.id)]
