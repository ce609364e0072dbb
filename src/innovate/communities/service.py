"""The write path for communities beyond the rooms' own: starting one and editing what the
directory shows of it (name, description, tags, who may join) in one transaction each; and
the administrators' hand-over, archiving and reopening. Owners run their community with the
rooms' own tools (settings, members and their roles, moderation), scoped to that room by its
memberships."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit, kinds
from innovate.accounts.models import User
from innovate.errors import Forbidden, Invalid, NotFound
from innovate.i18n import lazy_gettext
from innovate.inputs import FieldErrors, Input, choice_field, int_field, text_field
from innovate.insights.interests import parse_labels, replace_room_tags
from innovate.resources import Resources
from innovate.rooms.access import RoomAccess, room_access
from innovate.rooms.events import append_event
from innovate.rooms.memberships import add_member
from innovate.rooms.models import Membership, Room
from innovate.rooms.service import InTransaction, create_room, update_room
from innovate.writes import Outbox, write

# The community form's fields (the rest of a room's settings are on the room's settings page).
EDITED = ("title", "brief", "visibility", "ideas_board")


def _tags_in_transaction(actor: User, labels: list[str]) -> InTransaction:
    async def write_tags(db: AsyncSession, outbox: Outbox, room: Room) -> None:
        await replace_room_tags(db, outbox, room, actor.id, labels)

    return write_tags


async def create_community(resources: Resources, actor: User, data: Input) -> Room:
    """Start a community with its tags, at once (no approval): one transaction, and every
    field's error together (``tags`` with the others)."""
    errors = FieldErrors()
    labels = errors.check(parse_labels, data.get("tags"))
    values = {k: v for k, v in data.items() if k != "tags"}
    values["kind"] = "community"
    return await create_room(resources, actor, values, errors=errors,
                             then=_tags_in_transaction(actor, labels) if labels else None)


async def edit_community(resources: Resources, actor: User, slug: str, data: Input) -> RoomAccess:
    """Change a community's name, description, tags and who may join (its moderators): one
    transaction, every field's error together. Tags are replaced only when ``tags`` is given."""
    errors = FieldErrors()
    labels = errors.check(parse_labels, data.get("tags")) if "tags" in data else None
    async with resources.db() as db:
        await _community(db, actor, slug)
    return await update_room(resources, actor, slug, {k: v for k, v in data.items() if k in EDITED}, errors=errors,
                             then=_tags_in_transaction(actor, labels or []) if "tags" in data else None)


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise Forbidden(lazy_gettext("Only administrators may do that."))


async def _community(db: AsyncSession, actor: User, slug: str) -> RoomAccess:
    access = await room_access(db, actor, slug)
    if access.room.kind != "community":
        raise NotFound(lazy_gettext("No such community."))
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
            raise Invalid.field(field, lazy_gettext("choose an active employee"))
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
