"""Guests who lost a room (removed, their access ran out, or the room closed or was archived):
with no room left, their sessions end too."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from innovate.accounts.models import User
from innovate.accounts.sessions import revoke_user_sessions
from innovate.db import utcnow
from innovate.resources import Resources
from innovate.rooms.access import can_see_room
from innovate.rooms.memberships import end_guest_access_in
from innovate.rooms.models import Membership, Room
from innovate.writes import write


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


async def end_due_guest_access(resources: Resources, now: datetime | None = None) -> list[tuple[int, int]]:
    """Guests whose own end date has come lose the room as on removal: the membership is
    marked ``expired`` with its room event and audit entry, their sockets on it close, and a
    guest with no room left is signed out. Returns the (room id, user id) pairs it ended.

    Access already ended at the date (``rooms.access.can_see_room``); this makes it a fact
    that sockets, lists and the timeline see. Each membership is re-read under its row lock,
    so two schedulers never end one twice."""
    now = now or utcnow()
    async with resources.db() as db:
        due = list((await db.execute(
            select(Membership.id).join(User, User.id == Membership.user_id)
            .where(Membership.state == "active", Membership.access_ends_at <= now, User.kind == "guest")
            .order_by(Membership.id)
        )).scalars())
    ended: list[tuple[int, int]] = []
    for membership_id in due:
        async with write(resources) as (db, outbox):
            membership = (await db.execute(
                select(Membership).where(Membership.id == membership_id).with_for_update()
                .execution_options(populate_existing=True)
            )).scalar_one_or_none()
            if membership is None or membership.access_ends_at is None or membership.access_ends_at > now:
                continue
            if await end_guest_access_in(db, outbox, membership, now=now, actor_id=None):
                ended.append((membership.room_id, membership.user_id))
    for user_id in {user_id for _, user_id in ended}:
        await end_guest_access_if_roomless(resources, user_id)
    return ended
