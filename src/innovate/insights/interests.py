"""Interest tags: moderators tag rooms, people follow interests, and the two meet.

Writes go through the two service functions here: ``set_room_tags`` (a room change: it
appends ``room.updated`` and an audit entry in the same transaction) and ``set_interests``
(a person's own profile; not room-scoped, so no room event). Tags are created on first use
by a moderator; people follow tags that exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, distinct, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit, kinds
from innovate.accounts.models import User
from innovate.db import insert_for, utcnow
from innovate.errors import Forbidden, Invalid
from innovate.i18n import lazy_gettext, lazy_ngettext
from innovate.insights.models import RoomTag, Tag, UserInterest
from innovate.resources import Resources
from innovate.rooms.access import require_moderator, room_access, visible_room_ids
from innovate.rooms.events import append_event
from innovate.rooms.models import Membership, Room
from innovate.writes import Outbox, write

MAX_TAGS_PER_ROOM = 8
MAX_INTERESTS = 50
LABEL_MAX = 40
SPACES = re.compile(r"\s+")
NOT_SLUG = re.compile(r"[^\w]+", re.UNICODE)


@dataclass(frozen=True)
class TagInfo:
    id: int
    slug: str
    label: str
    rooms: int = 0
    followers: int = 0

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "slug": self.slug, "label": self.label, "rooms": self.rooms,
                "followers": self.followers}


def tag_slug(label: str) -> str:
    return NOT_SLUG.sub("-", label.lower()).strip("-_")


def parse_labels(raw: Any) -> list[str]:
    """Tags from a comma-separated string or a list of strings: trimmed, de-duplicated by slug."""
    if raw is None or raw == "":
        return []
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise Invalid.field("tags", lazy_gettext("expected a list of tag names or a comma-separated string"))
    labels: dict[str, str] = {}
    for item in items:
        label = SPACES.sub(" ", item).strip()
        if not label:
            continue
        if len(label) > LABEL_MAX:
            raise Invalid.field("tags", lazy_ngettext("each tag is at most %(num)d character",
                                                      "each tag is at most %(num)d characters", LABEL_MAX))
        slug = tag_slug(label)
        if not slug:
            raise Invalid.field("tags", lazy_gettext("“%(tag)s” needs at least one letter or digit", tag=label))
        labels.setdefault(slug, label)
    if len(labels) > MAX_TAGS_PER_ROOM:
        raise Invalid.field("tags", lazy_ngettext("at most %(num)d tag per challenge", "at most %(num)d tags per challenge",
                                                  MAX_TAGS_PER_ROOM))
    return list(labels.values())


# Writes ------------------------------------------------------------------------------------


async def set_room_tags(resources: Resources, actor: User, slug: str, raw: Any) -> list[TagInfo]:
    """Replace a room's tags (moderators). Unknown tags are created; ``room.updated`` with
    ``fields: ["tags"]`` is appended only when something changed."""
    labels = parse_labels(raw)
    async with write(resources) as (db, outbox):
        access = await room_access(db, actor, slug)
        require_moderator(access)
        await replace_room_tags(db, outbox, access.room, actor.id, labels)
        return await room_tags(db, access.room.id)


async def replace_room_tags(db: AsyncSession, outbox: Outbox, room: Room, actor_id: int, labels: list[str]) -> None:
    """Inside the caller's write transaction: the room's tags become ``labels`` (checked by
    :func:`parse_labels`); unknown tags are created."""
    wanted = {tag_slug(label): label for label in labels}
    if wanted:
        await db.execute(insert_for(db, Tag).values(
            [{"slug": s, "label": label, "created_at": utcnow()} for s, label in wanted.items()]
        ).on_conflict_do_nothing(index_elements=["slug"]))
    ids = dict((await db.execute(select(Tag.slug, Tag.id).where(Tag.slug.in_(wanted)))).all()) if wanted else {}
    current = set((await db.execute(select(RoomTag.tag_id).where(RoomTag.room_id == room.id))).scalars())
    target = set(ids.values())
    if current != target:
        await db.execute(delete(RoomTag).where(RoomTag.room_id == room.id, RoomTag.tag_id.not_in(target)))
        if target - current:
            await db.execute(insert_for(db, RoomTag).values(
                [{"room_id": room.id, "tag_id": tag_id} for tag_id in sorted(target - current)]
            ).on_conflict_do_nothing(index_elements=["room_id", "tag_id"]))
        await append_event(db, outbox, room.id, kinds.ROOM_UPDATED, {"fields": ["tags"]}, actor_id=actor_id)
        await audit.record(db, actor_id, audit.ROOM_TAGS_CHANGED, room_id=room.id, target_kind="room", target_id=room.id,
                           data={"tags": sorted(wanted)})


def _check_follower(actor: User) -> None:
    if actor.is_guest:
        raise Forbidden(lazy_gettext("Guests take part in the rooms they were invited to; interests are for employees."))


async def set_interests(resources: Resources, actor: User, tag_ids: Iterable[Any]) -> list[TagInfo]:
    """Replace the interests the actor follows with these existing tags."""
    _check_follower(actor)
    wanted: set[int] = set()
    for raw in tag_ids:
        if isinstance(raw, bool) or not (isinstance(raw, int) or isinstance(raw, str) and raw.isdigit()):
            raise Invalid.field("tags", lazy_gettext("expected tag ids"))
        wanted.add(int(raw))
    if len(wanted) > MAX_INTERESTS:
        raise Invalid.field("tags", lazy_ngettext("follow at most %(num)d interest", "follow at most %(num)d interests",
                                                  MAX_INTERESTS))

    async with resources.db.begin() as db:
        known = set((await db.execute(select(Tag.id).where(Tag.id.in_(wanted)))).scalars()) if wanted else set()
        if known != wanted:
            raise Invalid.field("tags", lazy_gettext("unknown tag"))
        await db.execute(delete(UserInterest).where(UserInterest.user_id == actor.id,
                                                    UserInterest.tag_id.not_in(wanted)))
        if wanted:
            await db.execute(insert_for(db, UserInterest).values(
                [{"user_id": actor.id, "tag_id": tag_id, "created_at": utcnow()} for tag_id in sorted(wanted)]
            ).on_conflict_do_nothing(index_elements=["user_id", "tag_id"]))
        return await followed(db, actor.id)


# Reads -----------------------------------------------------------------------------------------


async def room_tags(db: AsyncSession, room_id: int) -> list[TagInfo]:
    rows = (await db.execute(select(Tag.id, Tag.slug, Tag.label).join(RoomTag, RoomTag.tag_id == Tag.id)
                             .where(RoomTag.room_id == room_id).order_by(Tag.label))).all()
    return [TagInfo(*row) for row in rows]


async def tags_of_rooms(db: AsyncSession, room_ids: Iterable[int]) -> dict[int, list[TagInfo]]:
    ids = list(room_ids)
    found: dict[int, list[TagInfo]] = {i: [] for i in ids}
    if ids:
        for room_id, tag_id, slug, label in (await db.execute(
                select(RoomTag.room_id, Tag.id, Tag.slug, Tag.label).join(Tag, Tag.id == RoomTag.tag_id)
                .where(RoomTag.room_id.in_(ids)).order_by(Tag.label))).all():
            found[room_id].append(TagInfo(tag_id, slug, label))
    return found


async def followed(db: AsyncSession, user_id: int) -> list[TagInfo]:
    rows = (await db.execute(select(Tag.id, Tag.slug, Tag.label).join(UserInterest, UserInterest.tag_id == Tag.id)
                             .where(UserInterest.user_id == user_id).order_by(Tag.label))).all()
    return [TagInfo(*row) for row in rows]


async def all_tags(db: AsyncSession, user: User) -> list[TagInfo]:
    """The tags of the rooms ``user`` may see (and those they follow), with how many of those
    rooms carry each and how many people follow it: an invite-only room's tags are its own.
    A community open by request shows its tags to every employee (the directory lists them)."""
    visible = visible_room_ids(user)
    listed: ColumnElement[bool] = RoomTag.room_id.in_(visible)
    if not user.is_guest:
        listed = or_(listed, RoomTag.room_id.in_(select(Room.id).where(
            Room.kind == "community", Room.visibility == "by-request", Room.phase != "archived")))
    rooms = (select(func.count()).where(RoomTag.tag_id == Tag.id, listed).correlate(Tag).scalar_subquery())
    followers = select(func.count()).where(UserInterest.tag_id == Tag.id).correlate(Tag).scalar_subquery()
    mine = exists().where(UserInterest.tag_id == Tag.id, UserInterest.user_id == user.id)
    rows = (await db.execute(select(Tag.id, Tag.slug, Tag.label, rooms, followers)
                             .where(or_(rooms > 0, mine)).order_by(Tag.label))).all()
    return [TagInfo(*row) for row in rows]


async def followers_not_joined(db: AsyncSession, room: Room) -> int:
    """Active employees who follow at least one of the room's tags and are not members of it
    (never joined, or left): the people a moderator could still invite."""
    member = exists().where(Membership.room_id == room.id, Membership.user_id == UserInterest.user_id,
                            Membership.state == "active")
    stmt = (select(func.count(distinct(UserInterest.user_id)))
            .join(RoomTag, and_(RoomTag.tag_id == UserInterest.tag_id, RoomTag.room_id == room.id))
            .join(User, User.id == UserInterest.user_id)
            .where(User.is_active.is_(True), User.kind == "employee", ~member))
    return int((await db.execute(stmt)).scalar_one())
