"""Open positions (HR), referrals (employees) and visitors' interest.

HR are the site's moderators and administrators. A referral sends the referred person one
polite mail (if mail is configured) naming who referred them and for what, with a one-click
"not interested" link; it never mentions a room or anything said in one. HR see each
position's referrals with their state and the visitors who said they were interested.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from email.headerregistry import Address
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from innovate import audit
from innovate.accounts.models import User
from innovate.db import utcnow
from innovate.errors import Conflict, Forbidden, Invalid, NotFound
from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext
from innovate.inputs import Input, choice_field, id_field, text_field
from innovate.insights.interests import parse_labels
from innovate.mail import messages
from innovate.mail.outbox import Draft, enqueue
from innovate.notifications import preferences
from innovate.resources import Resources
from innovate.rooms.models import Membership
from innovate.showcase import visitors
from innovate.showcase.models import Position, PositionInterest, Referral
from innovate.writes import write

STATES = ("open", "closed")
NOTE_MAX = 1000
# Referral states: the mail went out (or is queued); no mail could go; the person said no.
SENT, NOT_MAILED, NOT_INTERESTED = "sent", "not_mailed", "not_interested"


def is_hr(user: User) -> bool:
    return user.is_active and not user.is_guest and (user.is_admin or user.is_moderator)


def require_hr(user: User) -> None:
    if not is_hr(user):
        raise Forbidden(lazy_gettext("Only HR (moderators and administrators) manage positions."))


def _url(data: Input, name: str) -> str:
    value = text_field(data, name, max_length=500) or ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid.field(name, lazy_gettext("expected an http(s) address such as https://jobs.example.com/123"))
    return value


def check_position(data: Input, *, creating: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if creating or "title" in data:
        values["title"] = text_field(data, "title", max_length=200)
    for name in ("team", "location"):
        if creating or name in data:
            values[name] = text_field(data, name, max_length=120, required=False, default="")
    if creating or "ats_url" in data:
        values["ats_url"] = _url(data, "ats_url")
    if "tags" in data:
        values["tags"] = parse_labels(data.get("tags"))
    if "state" in data:
        values["state"] = choice_field(data, "state", STATES)
    return values


async def create(resources: Resources, actor: User, data: Input) -> Position:
    require_hr(actor)
    values = check_position(data, creating=True)
    async with write(resources) as (db, _outbox):
        position = Position(key=secrets.token_hex(5), created_by_id=actor.id, **{"tags": [], **values})
        db.add(position)
        await db.flush()
        await audit.record(db, actor.id, audit.POSITION_SAVED, target_kind="position", target_id=position.id,
                           data={"title": position.title})
    return position


async def update(resources: Resources, actor: User, position_id: int, data: Input) -> Position:
    require_hr(actor)
    values = check_position(data, creating=False)
    async with write(resources) as (db, _outbox):
        position = await db.get(Position, position_id)
        if position is None:
            raise NotFound(lazy_gettext("No such position."))
        for name, value in values.items():
            setattr(position, name, value)
        position.updated_at = utcnow()
        await audit.record(db, actor.id, audit.POSITION_SAVED, target_kind="position", target_id=position.id,
                           data={"changed": sorted(values)})
    return position


@dataclass(frozen=True)
class Listed:
    position: Position
    referrals: dict[str, int]   # per state (HR only)
    interested: int


async def listing(db: AsyncSession, actor: User) -> list[Listed]:
    """HR: every position with its referrals per state; anyone else signed in: the open ones."""
    statement = select(Position).order_by(Position.state, Position.created_at.desc(), Position.id.desc())
    if not is_hr(actor):
        statement = statement.where(Position.state == "open")
    found = list((await db.execute(statement)).scalars())
    counts: dict[int, dict[str, int]] = {}
    interested: dict[int, int] = {}
    if is_hr(actor) and found:
        ids = [p.id for p in found]
        for position_id, state, n in (await db.execute(
                select(Referral.position_id, Referral.state, func.count()).where(Referral.position_id.in_(ids))
                .group_by(Referral.position_id, Referral.state))).all():
            counts.setdefault(position_id, {})[state] = n
        interested = dict((await db.execute(
            select(PositionInterest.position_id, func.count()).where(PositionInterest.position_id.in_(ids))
            .group_by(PositionInterest.position_id))).all())
    return [Listed(p, counts.get(p.id, {}), interested.get(p.id, 0)) for p in found]


def position_json(listed: Listed, public_url: str, *, hr: bool) -> dict[str, Any]:
    p = listed.position
    body: dict[str, Any] = {"id": p.id, "key": p.key, "state": p.state, "title": p.title, "team": p.team,
                            "location": p.location, "ats_url": p.ats_url, "tags": p.tags,
                            "url": f"{public_url}/positions/{p.key}"}
    if hr:
        body["referrals"] = listed.referrals
        body["interested"] = listed.interested
    return body


async def open_id(db: AsyncSession, key: str) -> int:
    found = (await db.execute(select(Position.id).where(Position.key == key, Position.state == "open"))).scalar()
    if found is None:
        raise NotFound(lazy_gettext("No such open position."))
    return found


# Referrals ----------------------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _address(data: Input) -> str:
    raw = text_field(data, "email", max_length=320) or ""
    try:
        address = Address(addr_spec=raw)
    except Exception:
        raise Invalid.field("email", lazy_gettext("expected an e-mail address such as name@example.org")) from None
    if not address.domain or "." not in address.domain:
        raise Invalid.field("email", lazy_gettext("expected an e-mail address such as name@example.org"))
    return raw.lower()


async def met_guests(db: AsyncSession, actor: User) -> list[User]:
    """Guests who were in a room with ``actor``: the people they can refer by name."""
    mine, theirs = aliased(Membership), aliased(Membership)
    return list((await db.execute(
        select(User).join(theirs, theirs.user_id == User.id)
        .join(mine, and_(mine.room_id == theirs.room_id, mine.user_id == actor.id))
        .where(User.kind == "guest", User.is_active.is_(True)).distinct().order_by(User.name))).scalars())


async def _can_mail(db: AsyncSession, user: User) -> bool:
    if not user.is_active or not user.email:
        return False
    return not (await preferences.load(db, user.id)).bouncing(user.email)


async def refer(resources: Resources, actor: User, position_id: int, data: Input) -> Referral:
    """Refer a guest the employee met in a room (``user_id``) or anyone (``email`` and
    ``name``) to an open position, with a ``note``."""
    if actor.is_guest or not actor.is_active:
        raise Forbidden(lazy_gettext("Employees refer people to positions."))
    settings = resources.settings
    note = visitors.plain_text(data, "note", max_length=NOTE_MAX, required=False, multiline=True)
    user_id = id_field(data, "user_id", required=False)
    email = _address(data) if user_id is None else None
    name = visitors.plain_text(data, "name", max_length=120) if user_id is None else ""
    token = secrets.token_urlsafe(24)
    try:
        async with write(resources) as (db, _outbox):
            position = await db.get(Position, position_id)
            if position is None or position.state != "open":
                raise NotFound(lazy_gettext("No such open position."))
            to = email
            if user_id is not None:
                guest = next((g for g in await met_guests(db, actor) if g.id == user_id), None)
                if guest is None:
                    raise Invalid.field("user_id", lazy_gettext("not a guest expert you were in a challenge with"))
                name = guest.name
                to = guest.email if await _can_mail(db, guest) else None
            state = SENT if settings.mail_enabled and to else NOT_MAILED
            referral = Referral(position_id=position.id, referrer_id=actor.id, referred_user_id=user_id,
                                email=email, name=name, note=note, state=state, token_hash=_token_hash(token))
            db.add(referral)
            await db.flush()
            if state == SENT and to is not None:
                await _mail(db, resources, referral, position, actor, to, token)
    except IntegrityError:
        raise Conflict(lazy_gettext("This person was already referred to this position.")) from None
    return referral


async def _mail(db: AsyncSession, resources: Resources, referral: Referral, position: Position, actor: User,
                to: str, token: str) -> None:
    settings = resources.settings
    url = f"{settings.public_url}/referrals/{token}"
    # The referred person may have no account: the site's language, not the referrer's.
    with messages.for_recipient(settings, None):
        text, html = messages.render("referral", referrer=actor.name, person=referral.name, position=position,
                                     note=referral.note, company=settings.company_name, not_interested_url=url,
                                     position_url=f"{settings.public_url}/positions/{position.key}")
        subject = _("%(referrer)s thought of you for “%(position)s” at %(company)s", referrer=actor.name,
                    position=position.title, company=settings.company_name)
    # No user_id: the mail is about a job, not a room, so a guest whose room access ended
    # may still get it; the address alone decides.
    await enqueue(db, settings, Draft(
        to_address=to, subject=subject,
        body_text=text, body_html=html, purpose="referral"))


async def referral_by_token(db: AsyncSession, token: str) -> tuple[Referral, Position] | None:
    row = (await db.execute(select(Referral, Position).join(Position, Position.id == Referral.position_id)
                            .where(Referral.token_hash == _token_hash(token)))).first()
    return (row[0], row[1]) if row is not None else None


async def not_interested(resources: Resources, token: str, data: Input, ip: str) -> Referral:
    """The referred person's one click: the referral is closed as "not interested"."""
    visitors.check_honeypot(data)
    async with write(resources) as (db, _outbox):
        await visitors.count_post(db, resources.settings, ip)
        found = await referral_by_token(db, token)
        if found is None:
            raise NotFound(lazy_gettext("This link is not valid."))
        referral = found[0]
        if referral.state != NOT_INTERESTED:
            referral.state, referral.answered_at = NOT_INTERESTED, utcnow()
    return referral


async def interested(resources: Resources, key: str, data: Input, ip: str) -> PositionInterest:
    """A visitor's "I'm interested" in an open position: name, address and a note, plain text."""
    visitors.check_honeypot(data)
    name = visitors.plain_text(data, "name", max_length=120)
    email = _address(data)
    note = visitors.plain_text(data, "note", max_length=NOTE_MAX, required=False, multiline=True)
    async with write(resources) as (db, _outbox):
        await visitors.count_post(db, resources.settings, ip)
        position = (await db.execute(select(Position).where(Position.key == key, Position.state == "open"))
                    ).scalar_one_or_none()
        if position is None:
            raise NotFound(lazy_gettext("No such open position."))
        interest = PositionInterest(position_id=position.id, name=name, email=email, note=note)
        db.add(interest)
    return interest


@dataclass(frozen=True)
class ForHR:
    position: Position
    referrals: list[tuple[Referral, str | None]]   # with the referrer's name
    interests: list[PositionInterest]


async def for_hr(db: AsyncSession, actor: User, position_id: int) -> ForHR:
    require_hr(actor)
    position = await db.get(Position, position_id)
    if position is None:
        raise NotFound(lazy_gettext("No such position."))
    rows = (await db.execute(select(Referral, User.name).outerjoin(User, User.id == Referral.referrer_id)
                             .where(Referral.position_id == position_id).order_by(Referral.created_at.desc(),
                                                                                  Referral.id.desc()))).all()
    interests = list((await db.execute(select(PositionInterest).where(PositionInterest.position_id == position_id)
                                       .order_by(PositionInterest.created_at.desc()))).scalars())
    return ForHR(position, [(r, n) for r, n in rows], interests)


def referral_json(referral: Referral, referrer: str | None) -> dict[str, Any]:
    return {"id": referral.id, "state": referral.state, "name": referral.name, "email": referral.email,
            "user_id": referral.referred_user_id, "referrer": referrer, "note": referral.note,
            "created_at": referral.created_at.isoformat(),
            "answered_at": referral.answered_at.isoformat() if referral.answered_at else None}


def interest_json(interest: PositionInterest) -> dict[str, Any]:
    return {"id": interest.id, "name": interest.name, "email": interest.email, "note": interest.note,
            "created_at": interest.created_at.isoformat()}
