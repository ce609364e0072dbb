"""Reading people for administrators: the searchable list and each person's details (rooms,
last seen, sign-in methods, open sessions), in a handful of queries per page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.local import LOCAL_ISSUER, has_signed_in_way
from innovate.accounts.models import Identity, Session, User
from innovate.db import utcnow
from innovate.errors import Invalid, NotFound
from innovate.i18n import lazy_gettext, lazy_ngettext
from innovate.inputs import Input
from innovate.rooms.models import Membership, Room

KINDS = ("employee", "guest")
ROLES = ("admin", "moderator", "none")
STATES = ("active", "deactivated", "invited")
PAGE = 50
MAX_PAGE = 200


@dataclass(frozen=True)
class PeopleFilter:
    q: str = ""
    kind: str = ""
    role: str = ""
    state: str = ""
    room: str = ""
    after: int = 0
    limit: int = PAGE

    @classmethod
    def read(cls, data: Input) -> PeopleFilter:
        """From query parameters; a bad one is a 422 naming it."""
        def choice(name: str, allowed: tuple[str, ...]) -> str:
            value = str(data.get(name) or "").strip()
            if value and value not in allowed:
                raise Invalid.field(name, lazy_gettext("expected one of %(choices)s", choices=", ".join(allowed)))
            return value

        def number(name: str, default: int, top: int) -> int:
            raw = str(data.get(name) or "").strip()
            if not raw:
                return default
            if not raw.isdigit() or not 0 <= int(raw) <= top:
                raise Invalid.field(name, lazy_gettext("expected a whole number from 0 to %(max)d", max=top))

            return int(raw)

        q = " ".join(str(data.get("q") or "").split())
        if len(q) > 200:
            raise Invalid.field("q", lazy_ngettext("use at most %(num)d character", "use at most %(num)d characters", 200))
        return cls(q=q, kind=choice("kind", KINDS), role=choice("role", ROLES), state=choice("state", STATES),
                   room=str(data.get("room") or "").strip()[:64], after=number("after", 0, 10**12),
                   limit=max(1, number("limit", PAGE, MAX_PAGE)))

    def query(self) -> dict[str, str]:
        """The filter as query parameters (for links to the next page)."""
        values = {"q": self.q, "kind": self.kind, "role": self.role, "state": self.state, "room": self.room}
        return {k: v for k, v in values.items() if v}


def _signed_in() -> Any:
    return has_signed_in_way(User.id)


def state_of(user: User, can_sign_in: bool) -> str:
    if not user.is_active:
        return "deactivated"
    return "active" if can_sign_in else "invited"


def _conditions(flt: PeopleFilter) -> list[Any]:
    conditions: list[Any] = [User.erased_at.is_(None)]
    if flt.q:
        pattern = f"%{flt.q.lower()}%"
        conditions.append(or_(func.lower(User.name).like(pattern), func.lower(User.email).like(pattern)))
    if flt.kind:
        conditions.append(User.kind == flt.kind)
    if flt.role == "admin":
        conditions.append(User.is_admin.is_(True))
    elif flt.role == "moderator":
        conditions.append(User.is_moderator.is_(True))
    elif flt.role == "none":
        conditions.extend([User.is_admin.is_(False), User.is_moderator.is_(False)])
    if flt.state == "deactivated":
        conditions.append(User.is_active.is_(False))
    elif flt.state == "active":
        conditions.extend([User.is_active.is_(True), _signed_in()])
    elif flt.state == "invited":
        conditions.extend([User.is_active.is_(True), ~_signed_in()])
    if flt.room:
        conditions.append(exists().where(Membership.user_id == User.id, Membership.state == "active",
                                         Membership.room_id == select(Room.id).where(Room.slug == flt.room)
                                         .scalar_subquery()))
    if flt.after:
        conditions.append(User.id > flt.after)
    return conditions


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def _details(db: AsyncSession, users: list[User]) -> list[dict[str, Any]]:
    ids = [u.id for u in users]
    if not ids:
        return []
    now = utcnow()
    methods: dict[int, list[str]] = {}
    last_seen: dict[int, datetime] = {}
    for user_id, issuer, secret, used in (await db.execute(
            select(Identity.user_id, Identity.issuer, Identity.secret_hash.is_not(None), Identity.last_used_at)
            .where(Identity.user_id.in_(ids)).order_by(Identity.id))).all():
        if issuer == LOCAL_ISSUER and not secret:
            continue  # a password not set yet is no way in
        methods.setdefault(user_id, []).append("password" if issuer == LOCAL_ISSUER else issuer)
        if used is not None and (user_id not in last_seen or used > last_seen[user_id]):
            last_seen[user_id] = used
    sessions: dict[int, int] = {}
    for owner, count, latest in (await db.execute(
            select(Session.user_id, func.count(), func.max(Session.created_at))
            .where(Session.user_id.in_(ids), Session.revoked_at.is_(None), Session.expires_at > now)
            .group_by(Session.user_id))).all():
        if owner is None:
            continue
        sessions[owner] = int(count)
        if latest is not None and (owner not in last_seen or latest > last_seen[owner]):
            last_seen[owner] = latest
    rooms: dict[int, list[dict[str, str]]] = {}
    for user_id, slug, title, role in (await db.execute(
            select(Membership.user_id, Room.slug, Room.title, Membership.role).join(Room, Room.id == Membership.room_id)
            .where(Membership.user_id.in_(ids), Membership.state == "active").order_by(Room.title))).all():
        rooms.setdefault(user_id, []).append({"slug": slug, "title": title, "role": role})
    return [person_json(u, methods.get(u.id, []), sessions.get(u.id, 0), last_seen.get(u.id), rooms.get(u.id, []))
            for u in users]


def person_json(user: User, methods: list[str], sessions: int, last_seen: datetime | None,
                rooms: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "id": user.id, "name": user.name, "email": user.email, "kind": user.kind, "is_admin": user.is_admin,
        "is_moderator": user.is_moderator, "state": state_of(user, bool(methods)),
        "sign_in_methods": methods, "open_sessions": sessions, "last_seen_at": _iso(last_seen),
        "rooms": rooms, "created_at": _iso(user.created_at), "deactivated_at": _iso(user.deactivated_at),
        "external_id": user.external_id,
    }


async def list_people(db: AsyncSession, flt: PeopleFilter) -> tuple[list[dict[str, Any]], int | None]:
    """A page of people matching the filter, oldest account first; the cursor of the next page."""
    users = list((await db.execute(
        select(User).where(*_conditions(flt)).order_by(User.id).limit(flt.limit + 1))).scalars())
    more = len(users) > flt.limit
    users = users[:flt.limit]
    return await _details(db, users), users[-1].id if more and users else None


async def count_people(db: AsyncSession, flt: PeopleFilter) -> int:
    whole = PeopleFilter(q=flt.q, kind=flt.kind, role=flt.role, state=flt.state, room=flt.room)
    return int((await db.execute(select(func.count()).select_from(User).where(*_conditions(whole)))).scalar_one())


async def person(db: AsyncSession, user_id: int) -> dict[str, Any]:
    user = (await db.execute(select(User).where(User.id == user_id, User.erased_at.is_(None)))).scalar_one_or_none()
    if user is None:
        raise NotFound(lazy_gettext("No such user."))
    return (await _details(db, [user]))[0]
