"""A community's owners (its moderators): never orphaned in silence. When the last active
owner leaves or is deactivated, the community is flagged and the administrators are told."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Exists, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit, kinds
from innovate.accounts.models import User
from innovate.db import utcnow
from innovate.rooms.events import append_event
from innovate.rooms.models import Membership, Room
from innovate.writes import Outbox


def has_owner() -> Exists:
    """The condition "the room has an active owner whose account is active"."""
    return exists().where(Membership.room_id == Room.id, Membership.role == "moderator",
                          Membership.state == "active", Membership.user_id == User.id, User.is_active.is_(True))


async def flag_ownerless(db: AsyncSession, outbox: Outbox, room_ids: Iterable[int]) -> list[int]:
    """Of these rooms, flag the communities (not archived, not flagged yet) left with no
    owner; one conditional UPDATE, so two departures at once flag (and tell) once. The flag
    is nobody's doing (no actor): every administrator is told, including one whose
    deactivation of the owner caused it."""
    ids = list(room_ids)
    if not ids:
        return []
    flagged = list((await db.execute(
        update(Room).where(Room.id.in_(ids), Room.kind == "community", Room.phase != "archived",
                           Room.orphaned_at.is_(None), ~has_owner())
        .values(orphaned_at=utcnow()).returning(Room.id)
        .execution_options(synchronize_session=False)
    )).scalars())
    for room_id in sorted(flagged):
        await append_event(db, outbox, room_id, kinds.COMMUNITY_ORPHANED, {}, audience="moderators", actor_id=None)
        await audit.record(db, None, audit.COMMUNITY_ORPHANED, room_id=room_id, target_kind="room", target_id=room_id)
    return flagged


async def owned_communities(db: AsyncSession, user_id: int) -> list[int]:
    """The communities ``user_id`` owns now (for the check after they are deactivated)."""
    return list((await db.execute(
        select(Membership.room_id).join(Room, Room.id == Membership.room_id)
        .where(Membership.user_id == user_id, Membership.role == "moderator", Membership.state == "active",
               Room.kind == "community")
    )).scalars())
