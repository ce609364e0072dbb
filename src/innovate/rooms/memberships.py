"""Membership changes that other features share: joining (directly or through an invite)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import kinds
from innovate.accounts.models import User
from innovate.db import insert_for, utcnow
from innovate.rooms.events import append_event
from innovate.rooms.models import Membership, Room
from innovate.writes import Outbox


async def add_member(
    db: AsyncSession,
    outbox: Outbox,
    room: Room,
    user: User,
    *,
    role: str = "member",
    actor_id: int | None = None,
) -> Membership:
    """Make ``user`` an active member. A member who left (or was removed, when a moderator
    invites them again) comes back with their role; ``member.joined`` is appended only when
    something changed. A concurrent insert of the same pair is absorbed by the unique key."""
    existing = await _membership_for_update(db, room.id, user.id)
    if existing is None:
        await db.execute(
            insert_for(db, Membership)
            .values(room_id=room.id, user_id=user.id, role=role, state="active", joined_at=utcnow())
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
