"""The community directory: what each person may find, with member counts, the last seven
days' activity and tags; and the administrators' list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.db import utcnow
from innovate.insights.interests import tags_of_rooms
from innovate.insights.models import RoomTag, Tag
from innovate.rooms.access import RoomAccess
from innovate.rooms.models import Idea, Membership, Message, Room
from innovate.rooms.serializers import room_json

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

    def json(self) -> dict[str, Any]:
        return {**self.room, "members": self.members, "activity_7d": self.activity, "tags": self.tags,
                "can_join": self.can_join, "is_member": self.is_member, "owners": self.owners}


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


async def directory(db: AsyncSession, user: User, *, query: str = "", tag: str | None = None,
                    mine: bool = False, archived: bool = False) -> list[Card]:
    """Communities ``user`` may find, the busiest first. Employees find every open community
    and the by-invitation ones by name (to ask an owner); guests only the ones they are in."""
    stmt = (select(Room, Membership, _members_count(), _activity_count())
            .outerjoin(Membership, and_(Membership.room_id == Room.id, Membership.user_id == user.id))
            .where(Room.kind == "community"))
    stmt = stmt.where(Room.phase == "archived") if archived else stmt.where(Room.phase != "archived")
    if mine or user.is_guest:
        stmt = stmt.where(Membership.state == "active")
    # A by-invitation community's tags are its members' own: found by name, never by tag.
    tags_visible = or_(Room.visibility == "employees", Membership.state == "active")
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
    cards = []
    for room, membership, members, activity in rows:
        access = RoomAccess(room, user, membership)
        shown = room.visibility == "employees" or access.is_member or user.is_admin
        cards.append(Card(
            room=room_json(room, membership, moderator=access.can_moderate), members=int(members),
            activity=int(activity), tags=[t.json() for t in tags[room.id]] if shown else [], can_join=access.can_join,
            is_member=access.is_member, owners=owners.get(room.id, [])))
    return cards


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
