"""What the discussion parts of the pages show: a page of a thread, and one message."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from innovate.rooms.access import MessageInRoom, RoomAccess
from innovate.rooms.context import room_context
from innovate.rooms.discussion.queries import list_messages, parent_names
from innovate.rooms.queries import viewer_for
from innovate.rooms.serializers import message_json

MESSAGES_PER_PAGE = 40


def thread_key(idea_id: int | None) -> str:
    """The name of a thread in element ids (``thread-room``, ``composer-idea-7``)."""
    return f"idea-{idea_id}" if idea_id else "room"


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
            "thread_key": thread_key(idea_id), "idea_id": idea_id}


async def message_context(db: AsyncSession, found: MessageInRoom) -> dict[str, Any]:
    """One message as the caller sees it (``m``), with the room's context and the name of
    the message it replies to."""
    access = found.access
    context = room_context(access)
    message = message_json(found.message, access.room, found.author, viewer_for(access))
    return {**context, "m": message, "parents": await parent_names(db, access, [message])}
