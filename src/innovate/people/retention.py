"""Guests are not kept for ever: a guest with no room left for ``INNOVATE_GUEST_RETENTION_DAYS``
(180 by default) is erased automatically, as an administrator would (people/erase.py).

"No room left" since the latest of: leaving, removal or the end of their access in each room
(``left_at``), the room ending guest access (its last change, when it is archived or closed
for guests), their deactivation, or their account's creation if they never joined anything.
Every process runs the check once an hour; an erasure locks the account row first, so two
processes never erase one person twice. The same round deletes guest sign-ups whose
confirmation link expired unused (auth/guest_signup.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from sqlalchemy import select

from innovate.accounts.models import User
from innovate.auth.guest_signup import forget_expired_signups
from innovate.background import running_beside
from innovate.db import utcnow
from innovate.errors import NotFound
from innovate.people.erase import erase_user
from innovate.resources import Resources
from innovate.rooms.access import can_see_room, guest_access_over
from innovate.rooms.models import Membership, Room

log = logging.getLogger("innovate.people")

CHECK_EVERY = 3600.0


def _lost_at(membership: Membership, room: Room, now: datetime) -> datetime | None:
    """When the guest lost this room (None: they have not, or only their deactivation took it)."""
    if membership.state != "active":
        return membership.left_at
    if guest_access_over(room):
        return room.updated_at
    if membership.access_ends_at is not None and membership.access_ends_at <= now:
        return membership.access_ends_at
    return None


def roomless_since(user: User, rows: list[tuple[Membership, Room]], now: datetime) -> datetime | None:
    """When the guest lost their last room; None while they still have one."""
    if user.is_active and any(can_see_room(room, user, membership) for membership, room in rows):
        return None
    moments = [user.created_at, user.deactivated_at, *(_lost_at(m, room, now) for m, room in rows)]
    return max(t for t in moments if t is not None)


async def guests_past_retention(resources: Resources, now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    cutoff = now - timedelta(days=resources.settings.guest_retention_days)
    async with resources.db() as db:
        guests = list((await db.execute(select(User).where(
            User.kind == "guest", User.erased_at.is_(None), User.created_at <= cutoff))).scalars())
        rows = (await db.execute(
            select(Membership, Room).join(Room, Room.id == Membership.room_id)
            .where(Membership.user_id.in_([g.id for g in guests]))
        )).all() if guests else []
    by_user: dict[int, list[tuple[Membership, Room]]] = {}
    for membership, room in rows:
        by_user.setdefault(membership.user_id, []).append((membership, room))
    due = []
    for guest in guests:
        since = roomless_since(guest, by_user.get(guest.id, []), now)
        if since is not None and since <= cutoff:
            due.append(guest.id)
    return due


async def anonymise_departed_guests(resources: Resources, now: datetime | None = None) -> list[int]:
    """Erase every guest past the retention period; returns the ids they had."""
    erased = []
    for user_id in await guests_past_retention(resources, now):
        try:
            await erase_user(resources, None, user_id)
        except NotFound:
            continue  # another process was first
        erased.append(user_id)
    return erased


async def retention_round(resources: Resources, now: datetime | None = None) -> None:
    """One round: erase the guests past retention, forget the expired guest sign-ups. A part
    that fails is logged, and the next round tries again."""
    try:
        erased = await anonymise_departed_guests(resources, now)
        if erased:
            log.info("anonymised %d guests without a room for %d days", len(erased),
                     resources.settings.guest_retention_days)
    except Exception:  # one bad round must not stop the loop
        log.exception("anonymising departed guests failed")
    try:
        forgotten = await forget_expired_signups(resources, now)
        if forgotten:
            log.info("deleted %d guest sign-ups whose confirmation link expired", forgotten)
    except Exception:
        log.exception("deleting expired guest sign-ups failed")


async def run_retention(resources: Resources, interval: float) -> None:
    while True:
        await retention_round(resources)
        await asyncio.sleep(interval)


@asynccontextmanager
async def retention(resources: Resources) -> AsyncIterator[None]:
    if resources.settings.scheduler_interval_seconds <= 0:  # the scheduler is off (tests): so is this
        yield
        return
    async with running_beside(run_retention(resources, CHECK_EVERY), "innovate-guest-retention"):
        yield
