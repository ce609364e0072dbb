"""Membership changes that other features share: joining (directly or through an invite), and
a guest's access ending (on its date, or when a moderator ends it now)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit, kinds
from innovate.accounts.models import User
from innovate.db import insert_for, utcnow
from innovate.rooms.events import append_event
from innovate.rooms.models import Membership, Room
from innovate.writes import Outbox, access_changed


async def add_member(
    db: AsyncSession,
    outbox: Outbox,
    room: Room,
    user: User,
    *,
    role: str = "member",
    actor_id: int | None = None,
    access_ends_at: datetime | None = None,
) -> Membership:
    """Make ``user`` an active member. A member who left (or was removed, when a moderator
    invites them again) comes back with their role; ``member.joined`` is appended only when
    something changed. A concurrent insert of the same pair is absorbed by the unique key.
    ``access_ends_at``: a guest's own end of access, set when they (re)join."""
    existing = await _membership_for_update(db, room.id, user.id)
    if existing is None:
        await db.execute(
            insert_for(db, Membership)
            .values(room_id=room.id, user_id=user.id, role=role, state="active", joined_at=utcnow(),
                    access_ends_at=access_ends_at)
            .on_conflict_do_nothing(index_elements=["room_id", "user_id"])
        )
        membership = await _membership_for_update(db, room.id, user.id)
        assert membership is not None
    elif existing.state == "active":
        if role == "moderator" and existing.role != "moderator":
            existing.role = "moderator"
            await db.flush()
        return existing
    else:
        existing.state = "active"
        existing.left_at = None
        existing.joined_at = utcnow()
        existing.access_ends_at = access_ends_at
        if role == "moderator":
            existing.role = "moderator"
        await db.flush()
        membership = existing
    await append_event(db, outbox, room.id, kinds.MEMBER_JOINED, {"user_id": user.id}, actor_id=actor_id or user.id)
    return membership


async def _membership_for_update(db: AsyncSession, room_id: int, user_id: int) -> Membership | None:
    return (await db.execute(
        select(Membership)
        .where(Membership.room_id == room_id, Membership.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )).scalar_one_or_none()


async def end_guest_access_in(db: AsyncSession, outbox: Outbox, membership: Membership, *, now: datetime,
                              actor_id: int | None, reason: str | None = None) -> bool:
    """Inside the caller's transaction: the guest's access to the room ends now, as a removal
    does (their sockets on the room close; the caller ends their sessions if no room is left),
    except that a new invite brings them back. False if it had already ended."""
    if membership.state != "active":
        return False
    membership.state, membership.left_at, membership.muted_until = "expired", now, None
    membership.access_ends_at = min(membership.access_ends_at or now, now)
    await db.flush()
    await append_event(db, outbox, membership.room_id, kinds.MEMBER_ACCESS_ENDED, {"user_id": membership.user_id},
                       actor_id=actor_id)
    await audit.record(db, actor_id, audit.MEMBER_ACCESS_ENDED, room_id=membership.room_id, target_kind="user",
                       target_id=membership.user_id, reason=reason,
                       data={"kind": "guest", "scheduled": actor_id is None})
    access_changed(outbox, room_id=membership.room_id, user_id=membership.user_id)
    return True
