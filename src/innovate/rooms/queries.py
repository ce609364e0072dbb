"""Read side of rooms and their members, each shaped for the viewer: the lists pages and the
API show (ideas: rooms/ideas/queries.py; messages: rooms/discussion/queries.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.errors import Invalid
from innovate.i18n import gettext as _
from innovate.rooms.access import RoomAccess, can_see_room
from innovate.rooms.models import PHASES, ROOM_KINDS, Membership, Room
from innovate.rooms.serializers import Viewer, member_json, room_json

MAX_LIMIT = 100


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None = None

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"items": self.items}
        if self.next_cursor:
            data["next_cursor"] = self.next_cursor
        return data


def viewer_for(access: RoomAccess) -> Viewer:
    return Viewer(user_id=access.user.id, moderator=access.can_moderate)


def check_limit(raw: str | None, default: int = 30) -> int:
    if raw in (None, ""):
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise Invalid.field("limit", _("expected a whole number from 1 to %(max)s", max=MAX_LIMIT))
    return int(raw)


async def list_rooms(db: AsyncSession, user: User, *, query: str = "", phase: str | None = None,
                     mine: bool = False, kind: str | None = "challenge") -> list[dict[str, Any]]:
    """Rooms of ``kind`` (None: both) the user may see, newest first, with search and a
    phase filter."""
    if phase is not None and phase not in PHASES:
        raise Invalid.field("phase", _("expected one of %(choices)s", choices=", ".join(PHASES)))
    if kind is not None and kind not in ROOM_KINDS:
        raise Invalid.field("kind", _("expected one of %(choices)s", choices=", ".join(ROOM_KINDS)))
    stmt = (select(Room, Membership)
            .outerjoin(Membership, and_(Membership.room_id == Room.id, Membership.user_id == user.id))
            .order_by(Room.created_at.desc(), Room.id.desc()))
    if kind is not None:
        stmt = stmt.where(Room.kind == kind)
    if query:
        like = f"%{query.lower()[:100]}%"
        stmt = stmt.where(or_(func.lower(Room.title).like(like), func.lower(Room.slug).like(like)))
    if phase:
        stmt = stmt.where(Room.phase == phase)
    if mine:
        stmt = stmt.where(Membership.state == "active")
    elif not user.is_admin:
        # The database narrows; can_see_room below has the last word.
        stmt = stmt.where(or_(Membership.state == "active", Room.visibility == "employees"))
    items = []
    for room, membership in (await db.execute(stmt.limit(500))).all():
        if not can_see_room(room, user, membership):
            continue
        moderator = user.is_admin or (membership is not None and membership.state == "active"
                                      and membership.role == "moderator")
        items.append(room_json(room, membership, moderator=moderator))
    return items


async def list_members(db: AsyncSession, access: RoomAccess) -> list[dict[str, Any]]:
    rows = await db.execute(
        select(Membership, User).join(User, User.id == Membership.user_id)
        .where(Membership.room_id == access.room.id, Membership.state == "active", User.is_active.is_(True))
        .order_by(Membership.role.desc(), User.name)
    )
    return [member_json(m, u) for m, u in rows.all()]


async def joinable_rooms(db: AsyncSession, user: User, room_ids: list[int]) -> set[int]:
    """Of these rooms, the ones ``user`` may join now (a Join button belongs next to them)."""
    if not room_ids:
        return set()
    rows = await db.execute(
        select(Room, Membership).outerjoin(Membership, (Membership.room_id == Room.id) & (Membership.user_id == user.id))
        .where(Room.id.in_(room_ids))
    )
    return {room.id for room, membership in rows.all() if RoomAccess(room, user, membership).can_join}


async def active_member(db: AsyncSession, room_id: int, user_id: int) -> tuple[Membership, User] | None:
    row = (await db.execute(
        select(Membership, User).join(User, User.id == Membership.user_id)
        .where(Membership.room_id == room_id, Membership.user_id == user_id, Membership.state == "active")
    )).first()
    return (row[0], row[1]) if row is not None else None


async def has_membership(db: AsyncSession, room_id: int, user_id: int) -> bool:
    """Whether ``user_id`` has been in the room at all (any state: left and removed too)."""
    found = (await db.execute(select(Membership.id).where(
        Membership.room_id == room_id, Membership.user_id == user_id))).scalar_one_or_none()
    return found is not None


async def room_id_of(db: AsyncSession, slug: str) -> int | None:
    """The id of the room at ``slug``, whoever may see it (administrators' filters)."""
    found: int | None = (await db.execute(select(Room.id).where(Room.slug == slug))).scalar_one_or_none()
    return found


async def room_links(db: AsyncSession, room: Room) -> dict[str, Any]:
    """What a community and its challenges say of each other: the community a challenge grew
    out of, and the challenges that grew out of a community (those open to everyone)."""
    links: dict[str, Any] = {"grown_from": None, "grown_into": []}
    if room.grown_from_id is not None:
        parent = await db.get(Room, room.grown_from_id)
        if parent is not None:
            links["grown_from"] = {"slug": parent.slug, "title": parent.title}
    if room.kind == "community":
        rows = await db.execute(select(Room.slug, Room.title).where(
            Room.grown_from_id == room.id, Room.phase != "draft").order_by(Room.created_at))
        links["grown_into"] = [{"slug": slug, "title": title} for slug, title in rows.all()]
    return links
