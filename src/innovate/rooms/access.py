"""Who may see and do what in a room. Pages, the JSON API and the live socket all ask here.

Rule of thumb (from Zulip): anything the caller may not see answers exactly like a thing
that does not exist (404), so access checks never leak existence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, false, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.db import utcnow
from innovate.driver_statements import ModelColumns
from innovate.errors import Forbidden, NotFound, NotSignedIn
from innovate.i18n import gettext as _
from innovate.inline_statements import InlineStatement, as_loaded
from innovate.rooms.models import Idea, Membership, Message, Room


@dataclass(frozen=True)
class RoomAccess:
    """What one user may do in one room, decided once per request or socket."""

    room: Room
    user: User
    membership: Membership | None

    @property
    def is_member(self) -> bool:
        return self.membership is not None and self.membership.state == "active"

    @property
    def can_moderate(self) -> bool:
        return self.user.is_admin or (self.is_member and self.membership.role == "moderator")  # type: ignore[union-attr]

    @property
    def is_muted(self) -> bool:
        m = self.membership
        return m is not None and m.muted_until is not None and m.muted_until > utcnow()

    @property
    def can_join(self) -> bool:
        """Employees may join employee-visible rooms that are open; admins may join any live room."""
        if self.is_member or self.membership is not None and self.membership.state == "removed":
            return False
        if self.user.is_admin:
            return self.room.phase not in ("closed", "archived")
        return (
            self.user.kind == "employee"
            and self.room.visibility == "employees"
            and self.room.phase in ("open", "voting")
        )


    @property
    def can_ask(self) -> bool:
        """An employee who is not in may ask to join a community open by request (its owners
        decide: communities/requests.py); administrators join directly, guests never ask."""
        m = self.membership
        return (self.room.kind == "community" and self.room.visibility == "by-request"
                and self.room.phase != "archived" and self.user.is_active and self.user.kind == "employee"
                and not self.user.is_admin and not self.is_member and not (m is not None and m.state == "removed"))


def guest_access_over(room: Room) -> bool:
    """Guests lose a room when it is archived, or already when it closes if the room says so."""
    return room.phase == "archived" or (room.guests_until == "closed" and room.phase == "closed")


def guest_access_ends_at(room: Room, membership: Membership | None = None) -> datetime | None:
    """When a guest's access to the room ends (None: no date is set): the membership's own
    end date, the room's archiving time, or its closing time when guests leave at close,
    whichever comes first. The one place that says it, for the room page and the notices
    sent before the end."""
    times = [room.archives_at, room.closes_at if room.guests_until == "closed" else None,
             membership.access_ends_at if membership is not None else None]
    set_times = [t for t in times if t is not None]
    return min(set_times) if set_times else None


def guest_membership_over(membership: Membership, now: datetime | None = None) -> bool:
    """A guest's own end date has passed. Access ends at that instant, before the scheduler
    has marked the membership ``expired`` and closed the sockets."""
    ends = membership.access_ends_at
    return ends is not None and ends <= (now or utcnow())


def can_see_room(room: Room, user: User, membership: Membership | None) -> bool:
    if not user.is_active:
        return False
    if user.is_admin:
        return True
    active = membership is not None and membership.state == "active"
    if user.is_guest:
        return active and not guest_access_over(room) and not guest_membership_over(membership)  # type: ignore[arg-type]
    if active:
        return room.phase != "draft" or membership.role == "moderator"  # type: ignore[union-attr]
    return room.visibility == "employees" and room.phase != "draft"


def visible_room_ids(user: User) -> Select[int]:
    """The ids of the rooms ``user`` may see, as SQL: :func:`can_see_room` for queries that
    count or search across rooms (tests hold the two to the same answers)."""
    if not user.is_active:
        return select(Room.id).where(false())
    if user.is_admin:
        return select(Room.id)
    mine = and_(Membership.room_id == Room.id, Membership.user_id == user.id, Membership.state == "active")
    stmt = select(Room.id).outerjoin(Membership, mine)
    if user.is_guest:
        over = or_(Room.phase == "archived", and_(Room.guests_until == "closed", Room.phase == "closed"))
        return stmt.where(Membership.id.is_not(None), not_(over))
    return stmt.where(or_(
        and_(Membership.id.is_not(None), or_(Room.phase != "draft", Membership.role == "moderator")),
        and_(Room.visibility == "employees", Room.phase != "draft"),
    ))


def moderated_room_ids(user: User) -> Select[int]:
    """The ids of the rooms ``user`` moderates (every room, for an administrator), as SQL:
    :attr:`RoomAccess.can_moderate` for queries across rooms."""
    if not user.is_active:
        return select(Room.id).where(false())
    if user.is_admin:
        return select(Room.id)
    return select(Membership.room_id).where(Membership.user_id == user.id, Membership.state == "active",
                                            Membership.role == "moderator")


def caller_membership() -> Any:
    """The join condition for the caller's membership (``:user_id``) in ``Room``: for
    statements that load a room's thing, its room and the caller's standing in one query."""
    return and_(Membership.room_id == Room.id, Membership.user_id == bindparam("user_id"))


_ROOM_AND_MEMBERSHIP = ModelColumns(Room, Membership)


def _room_and_membership(room_matches: Any) -> InlineStatement:
    # Built once with bind parameters: constructing the statement per request costs more
    # than running it. Its row is read straight from SQLite's connection, and taken into the
    # session as the ORM would have loaded it (innovate.inline_statements): it runs first in
    # nearly every request.
    return InlineStatement(
        select(*_ROOM_AND_MEMBERSHIP.columns)
        .outerjoin(Membership, caller_membership())
        .where(room_matches)
    )


_BY_SLUG = _room_and_membership(Room.slug == bindparam("slug"))
_BY_ID = _room_and_membership(Room.id == bindparam("room_id"))


async def room_access(db: AsyncSession, user: User | None, slug: str) -> RoomAccess:
    """The room and the caller's standing in it; 404 if the caller may not see it."""
    return await _load(db, user, _BY_SLUG, slug=slug)


async def room_access_by_id(db: AsyncSession, user: User | None, room_id: int) -> RoomAccess:
    return await _load(db, user, _BY_ID, room_id=room_id)


async def _load(db: AsyncSession, user: User | None, statement: InlineStatement, **room: Any) -> RoomAccess:
    user = _signed_in(user)
    if db.new or db.dirty or db.deleted:  # as the ORM's query did: a membership added just now counts
        await db.flush()
    row = await statement.row(db, {**room, "user_id": user.id})
    if row is None:
        return _visible(user, None, None)
    found, membership = _ROOM_AND_MEMBERSHIP.instances(row)
    return _visible(user, as_loaded(db, found), None if membership is None else as_loaded(db, membership))


def room_access_from(user: User | None, room: Room | None, membership: Membership | None) -> RoomAccess:
    """:func:`room_access` for a room and membership the caller's query already loaded."""
    return _visible(_signed_in(user), room, membership)


def _signed_in(user: User | None) -> User:
    if user is None:
        raise NotSignedIn(_("Sign in first."))
    return user


def _visible(user: User, room: Room | None, membership: Membership | None) -> RoomAccess:
    if room is None or not can_see_room(room, user, membership):
        raise NotFound(_("No such room."))
    return RoomAccess(room=room, user=user, membership=membership)


def require_moderator(access: RoomAccess) -> None:
    if not access.can_moderate:
        raise Forbidden(_("Only this room's moderators may do that."))


def require_participant(access: RoomAccess) -> None:
    """Members who may post or vote: active membership, not muted."""
    if not access.is_member:
        raise Forbidden(_("Join the room first."))
    if access.is_muted:
        raise Forbidden(_("You are muted in this room for now."))


# Things in a room ------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageInRoom:
    """A message with the caller's access to its room and its author, as loaded or as a
    write left it: enough to answer a request without reading the message back."""

    access: RoomAccess
    message: Message
    author: User | None


# Built once: the message, its author, its room and the caller's membership, in one query.
_MESSAGE_ROOM_MEMBERSHIP = (
    select(Message, User, Room, Membership).join(Room, Room.id == Message.room_id)
    .outerjoin(User, User.id == Message.author_id).outerjoin(Membership, caller_membership())
    .where(Message.id == bindparam("message_id"))
)


async def message_in_room(db: AsyncSession, actor: User | None, message_id: int, *,
                          in_room: str | None = None) -> MessageInRoom:
    """The message and the caller's standing in its room; 404 if either is not visible, or
    if the message is not in the room ``in_room`` names (the room of the page it came from)."""
    found = (await db.execute(_MESSAGE_ROOM_MEMBERSHIP, {
        "message_id": message_id, "user_id": actor.id if actor is not None else None})).first()
    if found is None:
        raise NotFound(_("No such message."))
    message, author, room, membership = found
    access = room_access_from(actor, room, membership)
    own = actor is not None and message.author_id == actor.id
    if message.state in ("held", "rejected") and not (access.can_moderate or own):
        raise NotFound(_("No such message."))
    if in_room is not None and room.slug != in_room:
        raise NotFound(_("No such message."))
    return MessageInRoom(access, message, author)


# Built once: the idea, its room and the caller's membership, in one query.
_IDEA_ROOM_MEMBERSHIP = (
    select(Idea, Room, Membership).join(Room, Room.id == Idea.room_id)
    .outerjoin(Membership, caller_membership()).where(Idea.id == bindparam("idea_id"))
)


@dataclass(frozen=True)
class IdeaInRoom:
    """An idea with the caller's access to its room, as loaded or as a write left it:
    enough to answer a request without reading the idea back."""

    access: RoomAccess
    idea: Idea


async def idea_in_room(db: AsyncSession, actor: User | None, idea_id: int, *,
                       in_room: str | None = None) -> IdeaInRoom:
    """The idea and the caller's standing in its room; 404 if either is not visible, or if
    the idea is not in the room ``in_room`` names (the room of the page it came from)."""
    found = (await db.execute(_IDEA_ROOM_MEMBERSHIP, {
        "idea_id": idea_id, "user_id": actor.id if actor is not None else None})).first()
    if found is None:
        raise NotFound(_("No such idea."))
    idea, room, membership = found
    access = room_access_from(actor, room, membership)
    if idea.state == "hidden" and not access.can_moderate and idea.author_id != actor.id:  # type: ignore[union-attr]
        raise NotFound(_("No such idea."))
    if in_room is not None and room.slug != in_room:
        raise NotFound(_("No such idea."))
    return IdeaInRoom(access, idea)
