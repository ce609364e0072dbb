"""Guests who lost a room (removed, or the room closed or was archived): with no room
left, their sessions end too."""

from __future__ import annotations

from sqlalchemy import select

from innovate.accounts.models import User
from innovate.accounts.sessions import revoke_user_sessions
from innovate.resources import Resources
from innovate.rooms.access import can_see_room
from innovate.rooms.models import Membership, Room


async def guest_rooms_left(resources: Resources, user_id: int) -> int:
    async with resources.db() as db:
        user = await db.get(User, user_id)
        if user is None:
            return 0
        rows = (await db.execute(
            select(Room, Membership).join(Membership, Membership.room_id == Room.id)
            .where(Membership.user_id == user_id, Membership.state == "active")
        )).all()
    return sum(1 for room, membership in rows if can_see_room(room, user, membership))


async def end_guest_access_if_roomless(resources: Resources, user_id: int) -> None:
    """A guest who lost a room (whose sockets there the change already re-checked): with no
    room left, their sessions end too, and with them every socket they still had."""
    async with resources.db() as db:
        user = await db.get(User, user_id)
    if user is None or not user.is_guest:
        return
    if await guest_rooms_left(resources, user_id) == 0:
        await revoke_user_sessions(resources, user_id)


async def guests_lost_room(resources: Resources, room_id: int) -> None:
    """After a room stopped admitting guests: apply :func:`end_guest_access_if_roomless` to each."""
    async with resources.db() as db:
        guest_ids = list((await db.execute(
            select(User.id).join(Membership, Membership.user_id == User.id)
            .where(Membership.room_id == room_id, Membership.state == "active", User.kind == "guest")
        )).scalars())
    for guest_id in guest_ids:
        await end_guest_access_if_roomless(resources, guest_id)
