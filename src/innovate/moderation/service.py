"""The moderators' write path: hide and restore content, pin messages, lock idea threads,
review held posts, and mute, remove, promote or demote members.

Every function checks that the caller moderates the room the target lives in (a moderator
of one room has no power in another: the target's own room decides), changes rows with
conditional UPDATEs (two moderators acting at once cannot both apply), and appends the room
event and an :class:`~innovate.rooms.models.AuditEntry` in the same transaction.

Events carry ids only; the timeline shapes what they point at per viewer, so a hidden
message's text or a moderator's reason never reaches a member's socket. Changes to
someone's standing (mute, removal, role) also publish an ``access`` notice after commit:
their open sockets re-check at once (a removed member's socket closes with 1008, a muted
member's composer turns off; see realtime/hub.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit, kinds
from innovate.accounts.models import User
from innovate.audit import AuditEntry
from innovate.db import affected, utcnow
from innovate.errors import Conflict, Forbidden, Invalid, NotFound
from innovate.i18n import lazy_gettext, lazy_ngettext
from innovate.inputs import Input, bool_field, choice_field, datetime_field, int_field, text_field
from innovate.resources import Resources
from innovate.rooms import rules
from innovate.rooms.access import (
    IdeaInRoom,
    MessageInRoom,
    RoomAccess,
    idea_in_room,
    message_in_room,
    require_moderator,
    room_access,
)
from innovate.rooms.discussion.queries import PIN_LIMIT
from innovate.rooms.events import append_event
from innovate.rooms.guests import end_guest_access_if_roomless
from innovate.rooms.memberships import end_guest_access_in
from innovate.rooms.models import ROLES, Idea, Membership, Message, Report, Room
from innovate.writes import Outbox, access_changed, state_changed, write

MAX_MUTE_MINUTES = 365 * 24 * 60


# Inputs -----------------------------------------------------------------------------------


def reason_field(data: Input, *, required: bool) -> str | None:
    return text_field(data, "reason", max_length=rules.REASON_MAX, required=required, multiline=True)


def mute_until_field(data: Input) -> tuple[bool, datetime | None]:
    """(given, until) from ``mute_minutes`` or ``muted_until``; until None means unmute."""
    if data.get("mute_minutes") not in (None, ""):
        minutes = int_field(data, "mute_minutes", minimum=0, maximum=MAX_MUTE_MINUTES) or 0
        return True, (utcnow() + timedelta(minutes=minutes)) if minutes else None
    if "muted_until" in data:
        until = datetime_field(data, "muted_until")
        if until is None:
            return True, None
        now = utcnow()
        if until <= now:
            raise Invalid.field("muted_until", lazy_gettext("must be in the future (send null to lift a mute)"))
        if until > now + timedelta(minutes=MAX_MUTE_MINUTES):
            raise Invalid.field("muted_until", lazy_gettext("must be within a year"))
        return True, until
    return False, None


MAX_ACCESS_EXTENSION_DAYS = 730


@dataclass(frozen=True)
class AccessEnd:
    """A moderator's change to a guest's end of access: ``now`` ends it at once; otherwise
    ``until`` is the new end date (None: until the room's schedule ends it)."""

    now: bool
    until: datetime | None


def access_end_field(data: Input, current: datetime | None) -> AccessEnd | None:
    """From ``end_access: true``, ``extend_days: N`` (from the current end, or from now when it
    has passed or none is set) or ``access_ends_at`` (ISO 8601, or null: until the room closes)."""
    if bool_field(data, "end_access"):
        return AccessEnd(now=True, until=None)
    now = utcnow()
    if data.get("extend_days") not in (None, ""):
        days = int_field(data, "extend_days", minimum=1, maximum=MAX_ACCESS_EXTENSION_DAYS) or 0
        start = current if current is not None and current > now else now
        return AccessEnd(now=False, until=start + timedelta(days=days))
    if "access_ends_at" in data:
        until = datetime_field(data, "access_ends_at")
        if until is not None and until <= now:
            raise Invalid.field("access_ends_at", lazy_gettext("must be in the future (send end_access: true to end it now)"))
        if until is not None and until > now + timedelta(days=MAX_ACCESS_EXTENSION_DAYS):
            raise Invalid.field("access_ends_at", lazy_gettext("must be within two years"))
        return AccessEnd(now=False, until=until)
    return None


# Access -----------------------------------------------------------------------------------


async def lock_room(db: AsyncSession, room_id: int) -> None:
    """Serialize a check across rows of one room (pins counted, moderators left) with every
    other such change in the room until commit (PostgreSQL; SQLite's write lock already does)."""
    await db.execute(select(Room.id).where(Room.id == room_id).with_for_update())


def check_writable(room: Room) -> None:
    if room.phase == "archived":
        raise Conflict(lazy_gettext("The room is archived: it is read-only."))


async def moderated_message(db: AsyncSession, actor: User, message_id: int,
                            in_room: str | None = None) -> MessageInRoom:
    """The message and its room, if the caller moderates that room (404 if they may not see
    it, 403 if they see it but do not moderate its room)."""
    found = await message_in_room(db, actor, message_id, in_room=in_room)
    require_moderator(found.access)
    return found


async def moderated_idea(db: AsyncSession, actor: User, idea_id: int, in_room: str | None = None) -> IdeaInRoom:
    found = await idea_in_room(db, actor, idea_id, in_room=in_room)
    require_moderator(found.access)
    return found


# Messages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Switch:
    """A visibility change of a message or an idea: the states it goes between, and what
    it is called in the timeline and the audit trail."""

    noun: str
    table: Any
    reason_column: str
    before: str
    after: str
    verb: str
    kind: kinds.Kind
    action: str
    # What the moderator is told: the switch refused in the row's state (``%(state)s``), or
    # the row changed under them.
    refused: Callable[[str], str]
    changed: str


# A message's or an idea's state as the moderator reads it in an error.
STATE_LABELS = {"visible": lazy_gettext("visible"), "hidden": lazy_gettext("hidden"),
                "held": lazy_gettext("awaiting review"), "rejected": lazy_gettext("declined"),
                "deleted": lazy_gettext("deleted")}


def state_label(state: str) -> str:
    return STATE_LABELS.get(state, state)


MESSAGE_CHANGED = lazy_gettext("The message changed meanwhile; reload and try again.")
IDEA_CHANGED = lazy_gettext("The idea changed meanwhile; reload and try again.")
HIDE_MESSAGE = _Switch(
    "message", Message, "state_reason", "visible", "hidden", "hidden", kinds.MESSAGE_HIDDEN, audit.MESSAGE_HIDDEN,
    lambda state: lazy_gettext("This message cannot be hidden: it is %(state)s.", state=state_label(state)),
    MESSAGE_CHANGED)
RESTORE_MESSAGE = _Switch(
    "message", Message, "state_reason", "hidden", "visible", "restored", kinds.MESSAGE_RESTORED,
    audit.MESSAGE_RESTORED,
    lambda state: lazy_gettext("This message cannot be restored: it is %(state)s.", state=state_label(state)),
    MESSAGE_CHANGED)
HIDE_IDEA = _Switch(
    "idea", Idea, "hidden_reason", "visible", "hidden", "hidden", kinds.IDEA_HIDDEN, audit.IDEA_HIDDEN,
    lambda state: lazy_gettext("This idea cannot be hidden: it is %(state)s.", state=state_label(state)),
    IDEA_CHANGED)
RESTORE_IDEA = _Switch(
    "idea", Idea, "hidden_reason", "hidden", "visible", "restored", kinds.IDEA_RESTORED, audit.IDEA_RESTORED,
    lambda state: lazy_gettext("This idea cannot be restored: it is %(state)s.", state=state_label(state)),
    IDEA_CHANGED)


async def _switch(db: AsyncSession, outbox: Outbox, row: Message | Idea, switch: _Switch, reason: str | None,
                  actor_id: int | None, *, automatic: bool = False) -> bool:
    """Move ``row`` from ``switch.before`` to ``switch.after`` inside the caller's transaction,
    with its event and audit entry; False if it already was there."""
    if row.state == switch.after:
        return False
    if row.state != switch.before:
        raise Conflict(switch.refused(row.state))
    kept_reason = reason if switch.after == "hidden" else None
    table = switch.table
    result = await db.execute(update(table).where(table.id == row.id, table.state == switch.before)
                              .values({"state": switch.after, switch.reason_column: kept_reason}))
    if affected(result) == 0:
        raise Conflict(switch.changed)
    row.state = switch.after
    setattr(row, switch.reason_column, kept_reason)
    await append_event(db, outbox, row.room_id, switch.kind, {f"{switch.noun}_id": row.id}, actor_id=actor_id)
    await audit.record(db, actor_id, switch.action, room_id=row.room_id, target_kind=switch.noun, target_id=row.id,
                reason=reason, data={"automatic": True} if automatic else None)
    return True


async def hide_message_in(db: AsyncSession, outbox: Outbox, message: Message, reason: str, actor_id: int | None,
                          *, automatic: bool = False) -> bool:
    """Hide a visible message inside the caller's transaction; False if it already was hidden."""
    if not await _switch(db, outbox, message, HIDE_MESSAGE, reason, actor_id, automatic=automatic):
        return False
    await _count_in_thread(db, message, -1)
    return True


async def restore_message_in(db: AsyncSession, outbox: Outbox, message: Message, reason: str | None,
                             actor_id: int | None) -> bool:
    if not await _switch(db, outbox, message, RESTORE_MESSAGE, reason, actor_id):
        return False
    await _count_in_thread(db, message, +1)
    return True


async def _count_in_thread(db: AsyncSession, message: Message, delta: int) -> None:
    """An idea's ``messages_count`` counts the visible messages of its thread."""
    if message.idea_id is None:
        return
    stmt = update(Idea).where(Idea.id == message.idea_id)
    if delta < 0:
        stmt = stmt.where(Idea.messages_count > 0)
    await db.execute(stmt.values(messages_count=Idea.messages_count + delta))


async def hide_message(resources: Resources, actor: User, message_id: int, data: Input, *,
                       in_room: str | None = None) -> MessageInRoom:
    reason = reason_field(data, required=True) or ""
    async with write(resources) as (db, outbox):
        found = await moderated_message(db, actor, message_id, in_room)
        access, message = found.access, found.message
        check_writable(access.room)
        if await hide_message_in(db, outbox, message, reason, actor.id):
            await close_reports(db, outbox, message.room_id, "message", message.id, "hide", actor.id)
    return found


async def restore_message(resources: Resources, actor: User, message_id: int, data: Input, *,
                          in_room: str | None = None) -> MessageInRoom:
    reason = reason_field(data, required=False)
    async with write(resources) as (db, outbox):
        found = await moderated_message(db, actor, message_id, in_room)
        access, message = found.access, found.message
        check_writable(access.room)
        await restore_message_in(db, outbox, message, reason, actor.id)
    return found


async def pin_message(resources: Resources, actor: User, message_id: int, pinned: bool, *,
                      in_room: str | None = None) -> MessageInRoom:
    """Pin a visible message to the top of the room (at most ``PIN_LIMIT``), or unpin it."""
    async with write(resources) as (db, outbox):
        found = await moderated_message(db, actor, message_id, in_room)
        access, message = found.access, found.message
        check_writable(access.room)
        if message.pinned == pinned:
            return found
        if pinned and message.state != "visible":
            raise Conflict(lazy_gettext("This message cannot be pinned: it is %(state)s.",
                                        state=state_label(message.state)))
        result = await db.execute(update(Message).where(Message.id == message.id, Message.pinned.is_(not pinned))
                                  .values(pinned=pinned))
        if affected(result) == 0:
            return found
        message.pinned = pinned
        if pinned:
            # Counted after our own row is locked and changed, then the room's: the same lock
            # order as every other message change, and parallel pins see each other.
            await lock_room(db, message.room_id)
            count = (await db.execute(select(func.count()).select_from(Message).where(
                Message.room_id == message.room_id, Message.pinned.is_(True)))).scalar_one()
            if count > PIN_LIMIT:
                raise Conflict(lazy_ngettext("At most %(num)d message can be pinned; unpin one first.",
                                             "At most %(num)d messages can be pinned; unpin one first.", PIN_LIMIT))

        await append_event(db, outbox, message.room_id, kinds.MESSAGE_PINNED, {"message_id": message.id, "pinned": pinned},
                           actor_id=actor.id)
        await audit.record(db, actor.id, audit.MESSAGE_PINNED if pinned else audit.MESSAGE_UNPINNED, room_id=message.room_id,
                    target_kind="message", target_id=message.id)
    return found


async def approve_message(resources: Resources, actor: User, message_id: int, *,
                          in_room: str | None = None) -> MessageInRoom:
    """A held post goes live for everyone, in its original place in time (it keeps its id
    and ``created_at``), and counts towards its author's approved posts."""
    async with write(resources) as (db, outbox):
        found = await moderated_message(db, actor, message_id, in_room)
        access, message = found.access, found.message
        check_writable(access.room)
        if message.state != "held":
            raise Conflict(lazy_gettext("This message is not awaiting review: it is %(state)s.",
                                        state=state_label(message.state)))
        result = await db.execute(update(Message).where(Message.id == message.id, Message.state == "held")
                                  .values(state="visible", state_reason=None))
        if affected(result) == 0:
            raise Conflict(lazy_gettext("Another moderator reviewed this message meanwhile."))
        message.state, message.state_reason = "visible", None
        await _count_in_thread(db, message, +1)
        if message.author_id is not None:
            await db.execute(update(Membership)
                             .where(Membership.room_id == message.room_id, Membership.user_id == message.author_id)
                             .values(approved_posts=Membership.approved_posts + 1))
        await append_event(db, outbox, message.room_id, kinds.MESSAGE_APPROVED, {"message_id": message.id},
                           actor_id=actor.id)
        await audit.record(db, actor.id, audit.MESSAGE_APPROVED, room_id=message.room_id, target_kind="message",
                    target_id=message.id)
    return found


async def reject_message(resources: Resources, actor: User, message_id: int, data: Input, *,
                         in_room: str | None = None) -> MessageInRoom:
    """A held post is declined: only its author (and the moderators) see it, with the reason."""
    reason = reason_field(data, required=True)
    async with write(resources) as (db, outbox):
        found = await moderated_message(db, actor, message_id, in_room)
        access, message = found.access, found.message
        check_writable(access.room)
        if message.state != "held":
            raise Conflict(lazy_gettext("This message is not awaiting review: it is %(state)s.",
                                        state=state_label(message.state)))
        result = await db.execute(update(Message).where(Message.id == message.id, Message.state == "held")
                                  .values(state="rejected", state_reason=reason))
        if affected(result) == 0:
            raise Conflict(lazy_gettext("Another moderator reviewed this message meanwhile."))
        message.state, message.state_reason = "rejected", reason
        audience = f"user:{message.author_id}" if message.author_id is not None else "moderators"
        await append_event(db, outbox, message.room_id, kinds.MESSAGE_REJECTED, {"message_id": message.id},
                           audience=audience, actor_id=actor.id)
        await audit.record(db, actor.id, audit.MESSAGE_REJECTED, room_id=message.room_id, target_kind="message",
                    target_id=message.id, reason=reason)
    return found


async def held_messages(db: AsyncSession, access: RoomAccess, limit: int = 200) -> list[tuple[Message, User | None]]:
    """Posts awaiting review in this room, oldest first (moderators' queue)."""
    require_moderator(access)
    rows = await db.execute(
        select(Message, User).outerjoin(User, User.id == Message.author_id)
        .where(Message.room_id == access.room.id, Message.state == "held").order_by(Message.id).limit(limit)
    )
    return [(m, u) for m, u in rows.all()]


async def held_count(db: AsyncSession, room_id: int) -> int:
    return int((await db.execute(select(func.count()).select_from(Message).where(
        Message.room_id == room_id, Message.state == "held"))).scalar_one())


# Ideas ------------------------------------------------------------------------------------


async def hide_idea_in(db: AsyncSession, outbox: Outbox, idea: Idea, reason: str, actor_id: int | None,
                       *, automatic: bool = False) -> bool:
    return await _switch(db, outbox, idea, HIDE_IDEA, reason, actor_id, automatic=automatic)


async def restore_idea_in(db: AsyncSession, outbox: Outbox, idea: Idea, reason: str | None,
                          actor_id: int | None) -> bool:
    if not await _switch(db, outbox, idea, RESTORE_IDEA, reason, actor_id):
        return False
    # Hidden ideas show no tally to members; now they may see it again.
    state_changed(outbox, idea.room_id, kinds.TALLY_CHANGED, idea.id)
    return True


async def hide_idea(resources: Resources, actor: User, idea_id: int, data: Input, *,
                    in_room: str | None = None) -> IdeaInRoom:
    reason = reason_field(data, required=True) or ""
    async with write(resources) as (db, outbox):
        found = await moderated_idea(db, actor, idea_id, in_room)
        access, idea = found.access, found.idea
        check_writable(access.room)
        if await hide_idea_in(db, outbox, idea, reason, actor.id):
            await close_reports(db, outbox, idea.room_id, "idea", idea.id, "hide", actor.id)
    return found


async def restore_idea(resources: Resources, actor: User, idea_id: int, data: Input, *,
                       in_room: str | None = None) -> IdeaInRoom:
    reason = reason_field(data, required=False)
    async with write(resources) as (db, outbox):
        found = await moderated_idea(db, actor, idea_id, in_room)
        access, idea = found.access, found.idea
        check_writable(access.room)
        await restore_idea_in(db, outbox, idea, reason, actor.id)
    return found


async def lock_idea(resources: Resources, actor: User, idea_id: int, locked: bool, data: Input | None = None, *,
                    in_room: str | None = None) -> IdeaInRoom:
    """Lock an idea's discussion thread (read-only for members) or unlock it."""
    reason = reason_field(data or {}, required=False)
    async with write(resources) as (db, outbox):
        found = await moderated_idea(db, actor, idea_id, in_room)
        access, idea = found.access, found.idea
        check_writable(access.room)
        result = await db.execute(update(Idea).where(Idea.id == idea.id, Idea.locked.is_(not locked))
                                  .values(locked=locked))
        if affected(result) == 0:
            return found
        idea.locked = locked
        await append_event(db, outbox, idea.room_id, kinds.IDEA_LOCKED, {"idea_id": idea.id, "locked": locked},
                           actor_id=actor.id)
        await audit.record(db, actor.id, audit.IDEA_LOCKED if locked else audit.IDEA_UNLOCKED, room_id=idea.room_id,
                    target_kind="idea", target_id=idea.id, reason=reason)
    return found


# Reports closed by a moderator's direct action ----------------------------------------------------


async def close_reports(db: AsyncSession, outbox: Outbox, room_id: int, target_kind: str, target_id: int,
                        action: str, actor_id: int | None) -> list[int]:
    """Mark the open reports on a target as handled (the moderator acted on it); the
    moderators' queues drop it. Returns the ids closed."""
    state = "dismissed" if action == "dismiss" else "resolved"
    ids = list((await db.execute(
        update(Report)
        .where(Report.room_id == room_id, Report.target_kind == target_kind, Report.target_id == target_id,
               Report.state == "open")
        .values(state=state, resolution=action, resolved_by_id=actor_id, resolved_at=utcnow())
        .returning(Report.id)
    )).scalars())
    if ids:
        await append_event(db, outbox, room_id, kinds.REPORT_RESOLVED,
                           {"target_kind": target_kind, "target_id": target_id, "action": action,
                            "report_ids": sorted(ids)},
                           audience="moderators", actor_id=actor_id)
    return sorted(ids)


async def last_hide_was_automatic(db: AsyncSession, room_id: int, target_kind: str, target_id: int) -> bool:
    """Whether the target's current hiding came from the reports threshold, not a moderator."""
    switches = (HIDE_MESSAGE, RESTORE_MESSAGE) if target_kind == "message" else (HIDE_IDEA, RESTORE_IDEA)
    hidden = audit.stored_actions(switches[0].action)
    actions = hidden + audit.stored_actions(switches[1].action)
    entry = (await db.execute(
        select(AuditEntry).where(
            AuditEntry.room_id == room_id, AuditEntry.target_kind == target_kind, AuditEntry.target_id == target_id,
            AuditEntry.action.in_(actions),
        ).order_by(AuditEntry.id.desc()).limit(1)
    )).scalar_one_or_none()
    return entry is not None and entry.action in hidden and bool((entry.data or {}).get("automatic"))


# Members ----------------------------------------------------------------------------------


@dataclass
class Target:
    membership: Membership
    user: User

    @property
    def moderates(self) -> bool:
        return self.user.is_admin or self.membership.role == "moderator"


async def member_target(db: AsyncSession, access: RoomAccess, user_id: int) -> Target:
    row = (await db.execute(
        select(Membership, User).join(User, User.id == Membership.user_id)
        .where(Membership.room_id == access.room.id, Membership.user_id == user_id)
        .with_for_update(of=Membership).execution_options(populate_existing=True)
    )).first()
    if row is None or row[0].state != "active":
        raise NotFound(lazy_gettext("No such member in this room."))
    return Target(membership=row[0], user=row[1])


async def _moderating(db: AsyncSession, actor: User, slug: str) -> RoomAccess:
    access = await room_access(db, actor, slug)
    require_moderator(access)
    return access


async def mute_in(db: AsyncSession, outbox: Outbox, access: RoomAccess, target: Target, until: datetime | None,
                reason: str | None) -> bool:
    room_id, user_id = access.room.id, target.user.id
    membership = target.membership
    if until is None:
        if membership.muted_until is None or membership.muted_until <= utcnow():
            return False
        membership.muted_until = None
        await db.flush()
        await append_event(db, outbox, room_id, kinds.MEMBER_UNMUTED, {"user_id": user_id}, actor_id=access.user.id)
        await audit.record(db, access.user.id, audit.MEMBER_UNMUTED, room_id=room_id, target_kind="user", target_id=user_id,
                    reason=reason)
    else:
        if target.user.id == access.user.id:
            raise Forbidden(lazy_gettext("You cannot mute yourself."))
        if target.moderates:
            raise Conflict(lazy_gettext("Moderators cannot be muted; make them a member first."))
        membership.muted_until = until
        await db.flush()
        # ``until`` is in the event so pages and clients know when the composer comes back.
        await append_event(db, outbox, room_id, kinds.MEMBER_MUTED, {"user_id": user_id, "until": until.isoformat()},
                           actor_id=access.user.id)
        await audit.record(db, access.user.id, audit.MEMBER_MUTED, room_id=room_id, target_kind="user", target_id=user_id,
                    reason=reason, data={"until": until.isoformat()})
    access_changed(outbox, room_id=room_id, user_id=user_id)
    return True


async def _set_role(db: AsyncSession, outbox: Outbox, access: RoomAccess, target: Target, role: str,
                    reason: str | None) -> bool:
    membership = target.membership
    if membership.role == role:
        return False
    if role == "moderator" and target.user.is_guest:
        raise Conflict(lazy_gettext("Guests cannot moderate rooms; only employees can."))
    if role == "member":
        await lock_room(db, access.room.id)
        others = (await db.execute(select(func.count()).select_from(Membership).where(
            Membership.room_id == access.room.id, Membership.role == "moderator", Membership.state == "active",
            Membership.id != membership.id))).scalar_one()
        if others == 0:
            raise Conflict(lazy_gettext("A room needs at least one moderator; promote someone else first."))
    previous = membership.role
    membership.role = role
    if role == "moderator":
        membership.muted_until = None
    await db.flush()
    await append_event(db, outbox, access.room.id, kinds.MEMBER_UPDATED, {"user_id": target.user.id, "role": role},
                       actor_id=access.user.id)
    await audit.record(db, access.user.id, audit.MEMBER_ROLE_CHANGED, room_id=access.room.id, target_kind="user",
                target_id=target.user.id, reason=reason, data={"from": previous, "to": role})
    # A privilege change. The member's open sockets switch views when ``member.updated`` has
    # gone out (the live channel re-checks the sockets of a member.* event's user after
    # fanning it out); an ``access`` notice now could regroup a socket while that very
    # event is being rendered for its old view, and it would miss the event.
    return True


async def set_access_end_in(db: AsyncSession, outbox: Outbox, access: RoomAccess, target: Target, change: AccessEnd,
                            reason: str | None) -> bool:
    """A guest's end of access: ended now (as on removal, but a new invite brings them back),
    or moved to another date. Employees' access does not end by date."""
    if not target.user.is_guest:
        raise Conflict(lazy_gettext("Only guests' access ends by date; remove an employee instead."))
    membership = target.membership
    if change.now:
        return await end_guest_access_in(db, outbox, membership, now=utcnow(), actor_id=access.user.id, reason=reason)
    if membership.access_ends_at == change.until:
        return False
    previous = membership.access_ends_at
    membership.access_ends_at = change.until
    await db.flush()
    until = change.until.isoformat() if change.until is not None else None
    await append_event(db, outbox, access.room.id, kinds.MEMBER_ACCESS_CHANGED,
                       {"user_id": target.user.id, "access_ends_at": until}, actor_id=access.user.id)
    await audit.record(db, access.user.id, audit.MEMBER_ACCESS_CHANGED, room_id=access.room.id, target_kind="user",
                       target_id=target.user.id, reason=reason,
                       data={"from": previous.isoformat() if previous is not None else None, "to": until})
    # A later date may let back in a socket that was about to be cut; an earlier one is
    # enforced at that time by the scheduler.
    access_changed(outbox, room_id=access.room.id, user_id=target.user.id)
    return True


async def update_member(resources: Resources, actor: User, slug: str, user_id: int, data: Input) -> Target:
    """PATCH a member: ``role`` (moderator | member), a mute (``mute_minutes``, or
    ``muted_until``; null or 0 lifts it) and/or a guest's end of access (``extend_days``,
    ``access_ends_at``, ``end_access``). One transaction; the answer is the member as it
    left them."""
    role = choice_field(data, "role", ROLES) if "role" in data else None
    mute_given, until = mute_until_field(data)
    reason = reason_field(data, required=False)
    access_given = any(data.get(k) not in (None, "") for k in ("extend_days", "end_access")) or "access_ends_at" in data
    if role is None and not mute_given and not access_given:
        raise Invalid.field("role", lazy_gettext("send role, mute_minutes, muted_until, extend_days, access_ends_at or end_access"))
    ended = False
    async with write(resources) as (db, outbox):
        access = await _moderating(db, actor, slug)
        target = await member_target(db, access, user_id)
        if role is not None:
            await _set_role(db, outbox, access, target, role, reason)
        if mute_given:
            await mute_in(db, outbox, access, target, until, reason)
        if access_given:
            change = access_end_field(data, target.membership.access_ends_at)
            if change is not None:
                ended = await set_access_end_in(db, outbox, access, target, change, reason) and change.now
    if ended:
        await end_guest_access_if_roomless(resources, user_id)
    return target


async def remove_member(resources: Resources, actor: User, slug: str, user_id: int,
                        reason: str | None = None) -> Membership:
    """Remove a member: they lose the room at once (their sockets close with 1008); a guest
    left without any room loses their sessions too. They cannot rejoin by themselves."""
    async with write(resources) as (db, outbox):
        access = await _moderating(db, actor, slug)
        target = await member_target(db, access, user_id)
        if target.user.id == actor.id:
            raise Forbidden(lazy_gettext("You cannot remove yourself; leave the room instead."))
        if target.moderates:
            raise Conflict(lazy_gettext("Moderators cannot be removed; make them a member first."))
        membership = target.membership
        membership.state, membership.left_at, membership.muted_until = "removed", utcnow(), None
        await db.flush()
        await append_event(db, outbox, access.room.id, kinds.MEMBER_REMOVED, {"user_id": user_id}, actor_id=actor.id)
        await audit.record(db, actor.id, audit.MEMBER_REMOVED, room_id=access.room.id, target_kind="user", target_id=user_id,
                    reason=reason, data={"kind": target.user.kind})
        access_changed(outbox, room_id=access.room.id, user_id=user_id)
    if target.user.is_guest:
        await end_guest_access_if_roomless(resources, user_id)
    return membership
