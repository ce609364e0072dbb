"""The write path of requests to join a community that is open by request.

An employee asks (once at a time, with an optional short message); the community's owners
and moderators (and administrators) approve, which makes the person a member, or decline,
optionally saying why. The person who asked may withdraw a pending request.

- Duplicates: at most one pending request per person and community (a partial unique index,
  so two clicks at once cannot both pass).
- After a decline the same person may ask that community again only once
  ``INNOVATE_JOIN_REQUEST_COOLDOWN_DAYS`` have passed: a "no" should not be answerable by
  clicking again the next minute, yet people and communities change, and a permanent ban is
  what removing a member is for (a removed person cannot ask at all).
- Rate: ``INNOVATE_JOIN_REQUESTS_PER_DAY`` requests per employee across all communities
  (withdrawn ones count: withdrawing and asking again would otherwise tell the owners anew).
- Guests never ask: they see no community they were not invited to, and come in only by an
  owner's invitation where ``INNOVATE_COMMUNITY_GUESTS`` allows it.

When a community stops being by request, :func:`settle_on_change` (run before commit in the
transaction that changed it) settles what is pending: opened to all employees, every pending
request is approved (both sides have said yes: the person asked, the owners opened the door);
archived, they are closed. Made invitation-only, they stay for the owners to answer. Someone
who asked and came in another way (an owner's invite link) has their request closed too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit, kinds
from innovate.accounts.models import User
from innovate.accounts.throttles import hit
from innovate.db import utcnow
from innovate.errors import Conflict, Forbidden, NotFound
from innovate.i18n import gettext, lazy, lazy_gettext, lazy_ngettext
from innovate.i18n.formatting import format_date
from innovate.inputs import Input, choice_field, text_field
from innovate.kinds import Category
from innovate.notifications.service import take_back, tell
from innovate.resources import Resources
from innovate.rooms.access import caller_membership, require_moderator, room_access
from innovate.rooms.events import append_event
from innovate.rooms.memberships import add_member
from innovate.rooms.models import JoinRequest, Membership, Room
from innovate.rooms.urls import room_url
from innovate.settings import Settings
from innovate.writes import Outbox, to_user, write

BY_REQUEST = "by-request"
MESSAGE_MAX = 500
REASON_MAX = 500
DAY_SECONDS = 86_400
# Answering a request someone else answered (or its asker withdrew) a moment before.
ANSWERED_ALREADY = {
    "approved": lazy_gettext("This request was approved already."),
    "declined": lazy_gettext("This request was declined already."),
    "withdrawn": lazy_gettext("This request was withdrawn already."),
}


@dataclass(frozen=True)
class Decided:
    """A request as a moderator's decision left it, and the community it was for."""

    request: JoinRequest
    room: Room


def about_url(slug: str) -> str:
    """Where someone who is not a member learns about a community and asks to join it."""
    return f"/communities/{slug}"


async def _community_for(db: AsyncSession, actor: User, slug: str) -> tuple[Room, Membership | None]:
    """The community an employee asks to join, and their membership in it (if any). Guests,
    deactivated accounts and archived communities: 404, as for anything one may not see."""
    row = (await db.execute(select(Room, Membership).outerjoin(Membership, caller_membership())
                            .where(Room.slug == slug, Room.kind == "community"),
                            {"user_id": actor.id})).first()
    if row is None or not actor.is_active or row[0].phase == "archived":
        raise NotFound(lazy_gettext("No such community."))
    room, membership = row
    active = membership is not None and membership.state == "active"
    if actor.is_guest and not active:
        raise NotFound(lazy_gettext("No such community."))
    return room, membership


async def latest_request(db: AsyncSession, room_id: int, user_id: int) -> JoinRequest | None:
    return (await db.execute(select(JoinRequest).where(JoinRequest.room_id == room_id, JoinRequest.user_id == user_id)
                             .order_by(JoinRequest.created_at.desc(), JoinRequest.id.desc()).limit(1))).scalar_one_or_none()


def may_ask_again_at(request: JoinRequest | None, settings: Settings) -> datetime | None:
    """When the person whose latest request this is may ask again (None: now, or when it is
    pending: never while it is)."""
    if request is None or request.state != "declined" or request.decided_at is None:
        return None
    return request.decided_at + timedelta(days=settings.join_request_cooldown_days)


async def pending_count(db: AsyncSession, room_id: int) -> int:
    return int((await db.execute(select(func.count()).select_from(JoinRequest).join(User, User.id == JoinRequest.user_id)
                                 .where(JoinRequest.room_id == room_id, JoinRequest.state == "pending",
                                        User.is_active.is_(True)))).scalar_one())


async def ask_to_join(resources: Resources, actor: User, slug: str, data: Input) -> JoinRequest:
    """Ask to join a community that is open by request; the owners are told."""
    message = text_field(data, "message", max_length=MESSAGE_MAX, required=False, default="", multiline=True) or ""
    settings = resources.settings
    try:
        async with write(resources) as (db, outbox):
            room, membership = await _community_for(db, actor, slug)
            if membership is not None and membership.state == "active":
                raise Conflict(lazy_gettext("You are already a member of this community."))
            if actor.is_admin:
                raise Conflict(lazy_gettext("Administrators join a community directly."))
            if membership is not None and membership.state == "removed":
                raise Forbidden(lazy_gettext("A moderator removed you from this community."))
            if room.visibility == "employees":
                raise Conflict(lazy_gettext("This community is open to every employee: join it directly."))
            if room.visibility != BY_REQUEST:
                raise Conflict(lazy_gettext("This community takes members by invitation only: ask an owner to invite you."))
            latest = await latest_request(db, room.id, actor.id)
            if latest is not None and latest.state == "pending":
                raise Conflict(lazy_gettext("You already asked to join; your request is waiting for the owners."))
            again = may_ask_again_at(latest, settings)
            if again is not None and again > utcnow():
                raise Conflict(lazy(lambda: gettext("The owners declined your request; you may ask again from %(date)s.",
                                                      date=format_date(again, "long"))))
            await hit(db, f"join_request:{actor.id}", limit=settings.join_requests_per_day, window_seconds=DAY_SECONDS,
                      message=lazy_ngettext("You may ask to join at most %(num)d community a day; try again later.",
                                             "You may ask to join at most %(num)d communities a day; try again later.",
                                             settings.join_requests_per_day))
            request = JoinRequest(room_id=room.id, user_id=actor.id, state="pending", message=message,
                                  created_at=utcnow())
            db.add(request)
            await db.flush()
            await append_event(db, outbox, room.id, kinds.JOIN_REQUESTED,
                               {"request_id": request.id, "user_id": actor.id,
                                "pending": await pending_count(db, room.id)},
                               audience="moderators", actor_id=actor.id)
    except IntegrityError:  # the same person's other click won
        raise Conflict(lazy_gettext("You already asked to join; your request is waiting for the owners.")) from None
    return request


async def withdraw_request(resources: Resources, actor: User, slug: str) -> Room:
    """Take back one's pending request (no cool-down follows)."""
    async with write(resources) as (db, outbox):
        room, _ = await _community_for(db, actor, slug)
        withdrawn = (await db.execute(
            update(JoinRequest).where(JoinRequest.room_id == room.id, JoinRequest.user_id == actor.id,
                                      JoinRequest.state == "pending")
            .values(state="withdrawn", decided_at=utcnow()).returning(JoinRequest.id)
            .execution_options(synchronize_session=False))).scalar_one_or_none()
        if withdrawn is None:
            raise Conflict(lazy_gettext("You have no pending request to join this community."))
        await append_event(db, outbox, room.id, kinds.JOIN_REQUEST_WITHDRAWN, {"request_id": withdrawn, "user_id": actor.id},
                           audience="moderators", actor_id=actor.id)
        await _unless_someone_waits(db, outbox, room.id)
    return room


async def decide(resources: Resources, actor: User, slug: str, request_id: int, data: Input) -> Decided:
    """Approve (the person becomes a member) or decline (with an optional reason they are
    told) a pending request: the community's moderators and administrators."""
    decision = choice_field(data, "decision", ("approve", "decline"))
    reason = (text_field(data, "reason", max_length=REASON_MAX, required=False, multiline=True)
              if decision == "decline" else None) or None
    async with write(resources) as (db, outbox):
        access = await room_access(db, actor, slug)
        room = access.room
        if room.kind != "community":
            raise NotFound(lazy_gettext("No such community."))
        require_moderator(access)
        request = (await db.execute(select(JoinRequest).where(JoinRequest.id == request_id,
                                                              JoinRequest.room_id == room.id)
                                    .with_for_update())).scalar_one_or_none()
        if request is None:
            raise NotFound(lazy_gettext("No such request."))
        if request.state != "pending":
            raise Conflict(ANSWERED_ALREADY.get(request.state, ANSWERED_ALREADY["approved"]))
        requester = await db.get(User, request.user_id)
        assert requester is not None  # the request's foreign key cascades
        if decision == "approve":
            if not requester.is_active:
                raise Conflict(lazy_gettext("%(name)s's account is no longer active.", name=requester.name))
            if requester.is_guest and not resources.settings.community_guests:
                raise Conflict(lazy_gettext("%(name)s is a guest now, and this site keeps guests out of communities.",
                                                    name=requester.name))
            await _approve(db, outbox, resources.settings, room, request, requester, actor.id)
        else:
            await _decline(db, outbox, resources.settings, room, request, requester, actor.id, reason)
        await _unless_someone_waits(db, outbox, room.id)
    return Decided(request, room)


async def _unless_someone_waits(db: AsyncSession, outbox: Outbox, room_id: int) -> None:
    """Nobody waits any more: the owners' unread "… ask to join" item goes (it would point at
    an empty queue)."""
    if await pending_count(db, room_id) == 0:
        await take_back(db, outbox, f"join_request:room:{room_id}")


async def _approve(db: AsyncSession, outbox: Outbox, settings: Settings, room: Room, request: JoinRequest,
                   requester: User, actor_id: int | None, *, opened: bool = False) -> None:
    request.state, request.decided_at, request.decided_by_id = "approved", utcnow(), actor_id
    await db.flush()
    # The join is the requester's own (they asked): no "someone added you" besides the answer.
    await add_member(db, outbox, room, requester, actor_id=requester.id)
    await audit.record(db, actor_id, audit.JOIN_REQUEST_APPROVED, room_id=room.id, target_kind="user",
                       target_id=requester.id, data={"request_id": request.id, **({"opened": True} if opened else {})})
    await append_event(db, outbox, room.id, kinds.JOIN_REQUEST_APPROVED,
                       {"request_id": request.id, "user_id": requester.id, "pending": await pending_count(db, room.id)},
                       audience="moderators", actor_id=actor_id)
    _answered(outbox, requester.id, room.slug)
    await tell(db, outbox, settings, {requester.id}, kind="join_approved", category=Category.INVITATIONS,
               thread=f"join_answer:room:{room.id}", title=room.title, path=room_url(room.slug), actor_id=actor_id,
               data={"opened": True} if opened else {})


async def _decline(db: AsyncSession, outbox: Outbox, settings: Settings, room: Room, request: JoinRequest,
                   requester: User, actor_id: int, reason: str | None) -> None:
    request.state, request.decided_at, request.decided_by_id, request.reason = "declined", utcnow(), actor_id, reason
    await db.flush()
    await audit.record(db, actor_id, audit.JOIN_REQUEST_DECLINED, room_id=room.id, target_kind="user",
                       target_id=requester.id, reason=reason, data={"request_id": request.id})
    await append_event(db, outbox, room.id, kinds.JOIN_REQUEST_DECLINED,
                       {"request_id": request.id, "user_id": requester.id, "pending": await pending_count(db, room.id)},
                       audience="moderators", actor_id=actor_id)
    _answered(outbox, requester.id, room.slug)
    await tell(db, outbox, settings, {requester.id}, kind="join_declined", category=Category.INVITATIONS,
               thread=f"join_answer:room:{room.id}", title=room.title, path=about_url(room.slug), actor_id=actor_id,
               data={"reason": reason})


def _answered(outbox: Outbox, user_id: int, slug: str) -> None:
    to_user(outbox, user_id, {"kind": kinds.JOIN_REQUEST_ANSWERED.name, "data": {"slug": slug}})


# Settling what is pending when a community stops being by request --------------------------------


def install(resources: Resources) -> None:
    """Settle pending requests in every write transaction that changes a community (once;
    before the notifications hook, which then sees what this one appended)."""
    if not any(getattr(h, "join_requests_hook", False) for h in resources.before_commit):
        hook = partial(settle_on_change, resources.settings)
        hook.join_requests_hook = True  # type: ignore[attr-defined]
        resources.before_commit.insert(0, hook)


async def settle_on_change(settings: Settings, db: AsyncSession, outbox: Outbox) -> None:
    for event in list(outbox.events):
        if event.kind == kinds.MEMBER_JOINED.name and isinstance(event.data.get("user_id"), int):
            await _joined_otherwise(db, outbox, event.room_id, event.data["user_id"])
            continue
        opened = event.kind == kinds.ROOM_UPDATED.name and "visibility" in event.data.get("fields", ())
        archived = event.kind == kinds.ROOM_PHASE_CHANGED.name and event.data.get("to") == "archived"
        if not (opened or archived):
            continue
        room = await db.get(Room, event.room_id)
        if room is None or room.kind != "community":
            continue
        pending = list((await db.execute(select(JoinRequest).where(
            JoinRequest.room_id == room.id, JoinRequest.state == "pending").order_by(JoinRequest.id)
            .with_for_update())).scalars())
        if not pending:
            continue
        if archived:
            await _close(db, pending)
        elif room.visibility == "employees":
            await _approve_all(db, outbox, settings, room, pending, event.actor_id)
        await _unless_someone_waits(db, outbox, room.id)


async def _joined_otherwise(db: AsyncSession, outbox: Outbox, room_id: int, user_id: int) -> None:
    """Someone who asked came in another way (an owner's invite link, or an administrator
    joining): their request is closed, not left in the queue. An approval marks its request
    first, so this finds nothing then."""
    closed = (await db.execute(update(JoinRequest).where(
        JoinRequest.room_id == room_id, JoinRequest.user_id == user_id, JoinRequest.state == "pending")
        .values(state="closed", decided_at=utcnow()).returning(JoinRequest.id)
        .execution_options(synchronize_session=False))).scalar_one_or_none()
    if closed is not None:
        await append_event(db, outbox, room_id, kinds.JOIN_REQUEST_WITHDRAWN, {"request_id": closed, "user_id": user_id, "closed": True},
                           audience="moderators", actor_id=None)
        await _unless_someone_waits(db, outbox, room_id)


async def _close(db: AsyncSession, pending: list[JoinRequest]) -> None:
    now = utcnow()
    for request in pending:
        request.state, request.decided_at = "closed", now
    await db.flush()


async def _approve_all(db: AsyncSession, outbox: Outbox, settings: Settings, room: Room, pending: list[JoinRequest],
                       actor_id: int | None) -> None:
    """The community is open now: each who asked is in (a removed or deactivated person's
    request is closed instead)."""
    closed = []
    for request in pending:
        requester = await db.get(User, request.user_id)
        membership = (await db.execute(select(Membership).where(
            Membership.room_id == room.id, Membership.user_id == request.user_id))).scalar_one_or_none()
        if requester is None or not requester.is_active or requester.is_guest or (
                membership is not None and membership.state == "removed"):
            closed.append(request)
            continue
        await _approve(db, outbox, settings, room, request, requester, actor_id, opened=True)
    await _close(db, closed)
