"""The administrators' write path for communities: hand one to a new owner, archive it or
bring it back. Owners run their community with the rooms' own tools (settings, members and
their roles, moderation), scoped to that room by its memberships."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit, kinds
from innovate.accounts.models import User
from innovate.errors import Forbidden, Invalid, NotFound
from innovate.inputs import Input, choice_field, int_field, text_field
from innovate.resources import Resources
from innovate.rooms.access import RoomAccess, room_access
from innovate.rooms.events import append_event
from innovate.rooms.memberships import add_member
from innovate.rooms.models import Membership, Room
from innovate.rooms.service import update_room
from innovate.writes import write


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators may do that.")


async def _community(db: AsyncSession, actor: User, slug: str) -> RoomAccess:
    access = await room_access(db, actor, slug)
    if access.room.kind != "community":
        raise NotFound("No such community.")
    return access


async def hand_over(resources: Resources, actor: User, slug: str, data: Input) -> Room:
    """Make a person (``user_id``, or ``email``) an owner of the community (administrators),
    e.g. when its owners have left; it clears the flag. An active employee only."""
    _require_admin(actor)
    field = "email" if data.get("user_id") in (None, "") else "user_id"
    email = text_field(data, "email", max_length=320) if field == "email" else None
    user_id = int_field(data, "user_id", minimum=1) if field == "user_id" else None
    async with write(resources) as (db, outbox):
        access = await _community(db, actor, slug)
        room = access.room
        owner = (await db.get(User, user_id) if user_id is not None else (await db.execute(
            select(User).where(func.lower(User.email) == (email or "").lower()))).scalar_one_or_none())
        if owner is None or not owner.is_active or owner.is_guest:
            raise Invalid.field(field, "choose an active employee")
        membership = (await db.execute(select(Membership).where(
            Membership.room_id == room.id, Membership.user_id == owner.id))).scalar_one_or_none()
        if membership is not None and membership.state == "active":
            if membership.role != "moderator":
                membership.role = "moderator"
                membership.muted_until = None
                await db.flush()
                await append_event(db, outbox, room.id, kinds.MEMBER_UPDATED, {"user_id": owner.id, "role": "moderator"},
                                   actor_id=actor.id)
        else:
            await add_member(db, outbox, room, owner, role="moderator", actor_id=actor.id)
            await append_event(db, outbox, room.id, kinds.MEMBER_UPDATED, {"user_id": owner.id, "role": "moderator"},
                               actor_id=actor.id)
        room.orphaned_at = None
        await db.flush()
        await audit.record(db, actor.id, audit.COMMUNITY_HANDED_OVER, room_id=room.id, target_kind="user",
                           target_id=owner.id)
    return room


async def set_archived(resources: Resources, actor: User, slug: str, data: Input) -> Room:
    """Archive a community (read-only, out of the directory) or bring it back (administrators)."""
    _require_admin(actor)
    target = choice_field(data, "phase", ("archived", "open"))
    async with resources.db() as db:
        await _community(db, actor, slug)
    return (await update_room(resources, actor, slug, {"phase": target})).room
