"""What every room template is rendered with: the room as the caller sees it, their standing,
what the phase and their standing block, and the moves a moderator may make.

Built from the caller's access without a query, so a handler whose service answered with
the access renders the room's partials at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.rooms import rules
from innovate.rooms.access import RoomAccess, guest_access_ends_at, room_access
from innovate.rooms.phases import Standing, blocked_for, next_step, phase_blocks, phase_moves
from innovate.rooms.queries import viewer_for
from innovate.rooms.serializers import room_json


def room_context(access: RoomAccess) -> dict[str, Any]:
    viewer = viewer_for(access)
    room = room_json(access.room, access.membership, moderator=viewer.moderator)
    standing = Standing.of(access)
    guest = access.user.is_guest and access.is_member
    ends = guest_access_ends_at(access.room, access.membership) if guest else None
    return {
        "room": room,
        "viewer": viewer,
        "standing": standing,
        "blocked": blocked_for(room, viewer.moderator, standing),
        "phase_blocked": phase_blocks(room, viewer.moderator),
        "next_step": next_step(room),
        "phase_moves": phase_moves(room) if viewer.moderator else [],
        # No maxlength on long texts (it cuts a paste silently): composer.js counts to these.
        "message_max": rules.MESSAGE_MAX,
        "idea_body_max": rules.IDEA_BODY_MAX,
        # A guest sees when their access ends: a date, or the room's phase that ends it.
        "guest_access": {"ends_at": ends.isoformat() if ends else None,
                         "until": access.room.guests_until} if guest else None,
    }


async def room_base(db: AsyncSession, user: User | None, slug: str) -> tuple[RoomAccess, dict[str, Any]]:
    """The room (read first, so its ``last_seq`` is where the live stream resumes) and its
    context."""
    access = await room_access(db, user, slug)
    return access, room_context(access)
