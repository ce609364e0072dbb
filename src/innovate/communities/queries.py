"""The community directory: what each person may find, with member counts, the last seven
days' activity and tags; and the administrators' list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from innovate.accounts.models import User
from innovate.communities.requests import BY_REQUEST, about_url, may_ask_again_at
from innovate.db import utcnow
from innovate.errors import NotFound
from innovate.i18n import lazy_gettext
from innovate.insights.interests import tags_of_rooms
from innovate.insights.models import RoomTag, Tag
from innovate.rooms.access import RoomAccess, can_see_room, require_moderator, room_access
from innovate.rooms.models import Idea, JoinRequest, Membership, Message, Room
from innovate.rooms.serializers import room_json, user_ref
from innovate.settings import Settings

ACTIVITY_DAYS = 7
DIRECTORY_LIMIT = 200


@dataclass(frozen=True)
class Card:
    """A community as the directory shows it to one person."""

    room: dict[str, Any]
    members: int
    activity: int          # messages and ideas in the last seven days
    tags: list[dict[str, Any]]
    can_join: bool
    is_member: bool
    owners: list[str]
    # By request: the caller's own request (pending, or declined with when they may ask again),
    # and whether they may ask now.
    request: MyRequest | None = None
    can_request: bool = False
    readable: bool = False          # the caller may open the room itself

    @property
    def url(self) -> str:
        """Members and those who may look in go to the room; the others to what they may see."""
        r = self.room
        if self.readable:
            return f"/rooms/{r['slug']}"
        return about_url(r["slug"]) if r["visibility"] == BY_REQUEST else ""

    def json(self) -> dict[str, Any]:
        return {**self.room, "members": self.members, "activity_7d": self.activity, "tags": self.tags,
                "can_join": self.can_join, "is_member": self.is_member, "owners": self.owners,
                "can_request": self.can_request, "my_request": self.request.json() if self.request else None}


@dataclass(frozen=True)
class MyRequest:
    """The caller's latest request to join a community, as they see it."""

    id: int
    state: str                      # pending | declined
    message: str
    reason: str | None
    created_at: datetime
    may_ask_again_at: datetime | None

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "message": self.message, "reason": self.reason,
                "created_at": self.created_at.isoformat(),
                "may_ask_again_at": self.may_ask_again_at.isoformat() if self.may_ask_again_at else None}


async def my_requests(db: AsyncSession, user: User, room_ids: list[int], settings: Settings) -> dict[int, MyRequest]:
    """The caller's latest request per community, where it still matters: pending, or
    declined and still in its cool-down."""
    found: dict[int, MyRequest] = {}
    if not room_ids:
        return found
    rows = (await db.execute(select(JoinRequest).where(JoinRequest.user_id == user.id, JoinRequest.room_id.in_(room_ids))
                             .order_by(JoinRequest.created_at.desc(), JoinRequest.id.desc()))).scalars()
    latest: dict[int, JoinRequest] = {}
    for request in rows:
        latest.setdefault(request.room_id, request)
    now = utcnow()
    for room_id, request in latest.items():
        again = may_ask_again_at(request, settings)
        if request.state == "pending" or again is not None and again > now:
            found[room_id] = MyRequest(request.id, request.state, request.message, request.reason, request.created_at,
                                       again)
    return found


def _members_count() -> Any:
    return (select(func.count()).select_from(Membership).join(User, User.id == Membership.user_id)
            .where(Membership.room_id == Room.id, Membership.state == "active", User.is_active.is_(True))
            .correlate(Room).scalar_subquery())


def _activity_count() -> Any:
    since = utcnow() - timedelta(days=ACTIVITY_DAYS)
    messages = (select(func.count()).select_from(Message)
                .where(Message.room_id == Room.id, Message.state == "visible", Message.created_at >= since)
                .correlate(Room).scalar_subquery())
    ideas = (select(func.count()).select_from(Idea)
             .where(Idea.room_id == Room.id, Idea.state == "visible", Idea.created_at >= since)
             .correlate(Room).scalar_subquery())
    return messages + ideas


async def directory(db: AsyncSession, user: User, settings: Settings, *, query: str = "", tag: str | None = None,
                    mine: bool = False, archived: bool = False, slug: str | None = None) -> list[Card]:
    """Communities ``user`` may find, the busiest first. Employees find every open community,
    the by-request ones (name, description, tags and members: to ask to join) and the
    by-invitation ones by name (to ask an owner); guests only the ones they are in."""
    stmt = (select(Room, Membership, _members_count(), _activity_count())
            .outerjoin(Membership, and_(Membership.room_id == Room.id, Membership.user_id == user.id))
            .where(Room.kind == "community"))
    stmt = stmt.where(Room.phase == "archived") if archived else stmt.where(Room.phase != "archived")
    if slug is not None:
        stmt = stmt.where(Room.slug == slug)
    if mine or user.is_guest:
        stmt = stmt.where(Membership.state == "active")
    # A by-invitation community's tags are its members' own: found by name, never by tag.
    tags_visible = or_(Room.visibility.in_(("employees", BY_REQUEST)), Membership.state == "active")
    if query:
        like = f"%{query.lower()[:100]}%"
        tagged = (select(RoomTag.room_id).join(Tag, Tag.id == RoomTag.tag_id)
                  .where(or_(func.lower(Tag.label).like(like), Tag.slug.like(like))))
        stmt = stmt.where(or_(func.lower(Room.title).like(like), func.lower(Room.brief).like(like),
                              Room.slug.like(like), and_(tags_visible, Room.id.in_(tagged))))
    if tag:
        stmt = stmt.where(tags_visible, Room.id.in_(select(RoomTag.room_id).join(Tag, Tag.id == RoomTag.tag_id)
                                                    .where(Tag.slug == tag.lower()[:48])))
    rows = (await db.execute(stmt.order_by(_activity_count().desc(), Room.created_at.desc(), Room.id.desc())
                             .limit(DIRECTORY_LIMIT))).all()
    if user.is_guest:
        rows = [r for r in rows if RoomAccess(r[0], user, r[1]).is_member]
    ids = [r[0].id for r in rows]
    tags = await tags_of_rooms(db, ids)
    owners = await owners_of(db, ids)
    asked = await my_requests(db, user, ids, settings) if not user.is_guest else {}
    cards = []
    for room, membership, members, activity in rows:
        access = RoomAccess(room, user, membership)
        shown = room.visibility in ("employees", BY_REQUEST) or access.is_member or user.is_admin
        cards.append(Card(
            room=room_json(room, membership, moderator=access.can_moderate), members=int(members),
            activity=int(activity), tags=[t.json() for t in tags[room.id]] if shown else [], can_join=access.can_join,
            is_member=access.is_member, owners=owners.get(room.id, []), request=asked.get(room.id),
            can_request=access.can_ask and room.id not in asked,
            readable=can_see_room(room, user, membership)))
    return cards


async def card(db: AsyncSession, user: User, settings: Settings, slug: str) -> Card:
    """One community as the directory shows it to ``user``; 404 if they may not find it."""
    found = await directory(db, user, settings, slug=slug)
    if not found:
        raise NotFound(lazy_gettext("No such community."))
    return found[0]


@dataclass(frozen=True)
class QueuedRequest:
    """A request in the owners' queue (pending) or among the latest answered."""

    id: int
    user: dict[str, Any]
    email: str | None
    state: str
    message: str
    reason: str | None
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "user": self.user, "email": self.email, "state": self.state, "message": self.message,
                "reason": self.reason, "created_at": self.created_at.isoformat(),
                "decided_at": self.decided_at.isoformat() if self.decided_at else None, "decided_by": self.decided_by}


@dataclass(frozen=True)
class Queue:
    pending: list[QueuedRequest]
    answered: list[QueuedRequest]   # the latest decisions, newest first

    def json(self) -> dict[str, Any]:
        return {"pending": [r.json() for r in self.pending], "answered": [r.json() for r in self.answered]}


ANSWERED_SHOWN = 20
_decider = aliased(User)


async def request_queue(db: AsyncSession, room_id: int) -> Queue:
    """A community's pending requests, the oldest first (people whose account was deactivated
    meanwhile are left out: nobody can approve them), and the latest answered."""
    base = (select(JoinRequest, User, _decider.name).join(User, User.id == JoinRequest.user_id)
            .outerjoin(_decider, _decider.id == JoinRequest.decided_by_id).where(JoinRequest.room_id == room_id))
    pending = (await db.execute(base.where(JoinRequest.state == "pending", User.is_active.is_(True))
                                .order_by(JoinRequest.created_at, JoinRequest.id))).all()
    answered = (await db.execute(base.where(JoinRequest.state.in_(("approved", "declined", "withdrawn")))
                                 .order_by(JoinRequest.decided_at.desc(), JoinRequest.id.desc())
                                 .limit(ANSWERED_SHOWN))).all()

    def item(request: JoinRequest, user: User, decider: str | None) -> QueuedRequest:
        ref = user_ref(user)
        assert ref is not None
        return QueuedRequest(request.id, ref, user.email, request.state, request.message, request.reason,
                             request.created_at, request.decided_at, decider)

    return Queue([item(*row) for row in pending], [item(*row) for row in answered])


async def owners_of(db: AsyncSession, room_ids: list[int]) -> dict[int, list[str]]:
    """Each room's active owners (moderators), by name."""
    found: dict[int, list[str]] = {}
    if room_ids:
        rows = await db.execute(
            select(Membership.room_id, User.name).join(User, User.id == Membership.user_id)
            .where(Membership.room_id.in_(room_ids), Membership.role == "moderator", Membership.state == "active",
                   User.is_active.is_(True)).order_by(User.name))
        for room_id, name in rows.all():
            found.setdefault(room_id, []).append(name)
    return found


async def admin_list(db: AsyncSession, admin: User) -> list[Card]:
    """Every community for the administrators: the ones without an owner first, then the
    live ones, then the archived."""
    rows = (await db.execute(
        select(Room, Membership, _members_count(), _activity_count())
        .outerjoin(Membership, and_(Membership.room_id == Room.id, Membership.user_id == admin.id))
        .where(Room.kind == "community")
        .order_by(Room.orphaned_at.is_(None), Room.phase == "archived", Room.title, Room.id)
    )).all()
    ids = [r[0].id for r in rows]
    tags = await tags_of_rooms(db, ids)
    owners = await owners_of(db, ids)
    return [Card(room=room_json(room, membership, moderator=True), members=int(members), activity=int(activity),
                 tags=[t.json() for t in tags[room.id]], can_join=False,
                 is_member=RoomAccess(room, admin, membership).is_member, owners=owners.get(room.id, []))
            for room, membership, members, activity in rows]


async def queue_for(db: AsyncSession, user: User, slug: str) -> tuple[RoomAccess, Queue]:
    """A community's request queue, for its moderators and the administrators (members: 403;
    those who cannot see the community: 404)."""
    access = await room_access(db, user, slug)
    if access.room.kind != "community":
        raise NotFound(lazy_gettext("No such community."))
    require_moderator(access)
    return access, await request_queue(db, access.room.id)


async def edit_form_values(db: AsyncSession, user: User, slug: str) -> tuple[RoomAccess, dict[str, Any]]:
    """The community form as its moderators edit it: what the directory shows, tags included."""
    access = await room_access(db, user, slug)
    if access.room.kind != "community":
        raise NotFound(lazy_gettext("No such community."))
    require_moderator(access)
    room = access.room
    tags = (await tags_of_rooms(db, [room.id]))[room.id]
    return access, {"title": room.title, "brief": room.brief, "visibility": room.visibility,
                    "ideas_board": "true" if room.ideas_board else "false", "tags": ", ".join(t.label for t in tags)}
