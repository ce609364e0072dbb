"""Who may get mail: never a deactivated person, an address that bounced, or a guest whose
access ended; and only about rooms the person can still see."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.i18n import N_
from innovate.notifications import preferences
from innovate.rooms.access import can_see_room
from innovate.rooms.models import Membership, Room


async def visible_rooms(db: AsyncSession, user: User, room_ids: set[int] | None = None) -> set[int]:
    """The rooms among ``room_ids`` (None: the person's rooms) the person is an active member
    of and can see now."""
    statement = select(Room, Membership).join(Membership, Membership.room_id == Room.id).where(
        Membership.user_id == user.id, Membership.state == "active")
    if room_ids is not None:
        if not room_ids:
            return set()
        statement = statement.where(Room.id.in_(room_ids))
    rows = (await db.execute(statement)).all()
    return {room.id for room, membership in rows if can_see_room(room, user, membership)}


async def mailable(db: AsyncSession, user: User, *, address: str | None = None) -> str | None:
    """Why no mail may go to this person now (None: it may)."""
    if not user.is_active:
        return N_("not sent: the account is deactivated")
    if not user.email:
        return N_("not sent: the account has no e-mail address")
    if address is not None and address.lower() != user.email.lower():
        return N_("not sent: the person's address changed since")
    prefs = await preferences.load(db, user.id)
    if prefs.bouncing(user.email):
        return N_("not sent: the address bounced")
    if user.is_guest and not await visible_rooms(db, user):
        return N_("not sent: the guest's access has ended")
    return None
