"""Publishing a closed challenge's results: the moderator's picks, the authors' consent.

The public page is built from the ``publications`` row and its ``publication_items`` alone:
picking an idea copies its title, text and status; an author's name is copied in only when
they agree, and removed the moment they decline. Anonymous ideas are never asked and never
named. Nothing of the discussion is ever copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit, kinds
from innovate.accounts.models import User
from innovate.db import utcnow
from innovate.errors import Conflict, Invalid, NotFound
from innovate.i18n import lazy_gettext, use_locale
from innovate.inputs import ID_DIGITS, Input, bool_field, text_field
from innovate.insights.interests import room_tags
from innovate.media import pictures
from innovate.resources import Resources
from innovate.rooms.access import RoomAccess, require_moderator, room_access
from innovate.rooms.events import append_event
from innovate.rooms.models import Idea, Membership, Room
from innovate.showcase import shareimages
from innovate.showcase.models import Publication, PublicationItem
from innovate.writes import write

PUBLISHABLE_PHASES = ("closed", "archived")
MAX_ITEMS = 50
TEXT_MAX = 20_000
# Consent states of a published idea's author.
NONE, ASKED, GRANTED, DECLINED = "none", "asked", "granted", "declined"
# Drawn on the share image, in the site's language: one image serves every reader.
SHARE_LABEL = lazy_gettext("Challenge results")
_STATUS_ORDER = {"selected": 0, "shortlisted": 1, "under_review": 2, "submitted": 3, "rejected": 4}


@dataclass(frozen=True)
class Candidate:
    """An idea of the room the moderator may pick, and whether (and how) it is picked."""

    idea: Idea
    item: PublicationItem | None


@dataclass(frozen=True)
class Editing:
    access: RoomAccess
    publication: Publication | None
    items: list[PublicationItem]
    candidates: list[Candidate]


def _require_publishable(access: RoomAccess) -> None:
    require_moderator(access)
    if access.room.phase not in PUBLISHABLE_PHASES:
        raise Conflict(lazy_gettext("Results can be published once the challenge has closed."))


async def editing(db: AsyncSession, actor: User, slug: str) -> Editing:
    """What the moderator's publication page and ``GET .../publication`` show."""
    access = await room_access(db, actor, slug)
    require_moderator(access)
    publication = (await db.execute(select(Publication).where(Publication.room_id == access.room.id))).scalar_one_or_none()
    items = await _items(db, publication.id) if publication is not None else []
    by_idea = {i.idea_id: i for i in items}
    ideas = (await db.execute(
        select(Idea).where(Idea.room_id == access.room.id, Idea.state == "visible", Idea.merged_into_id.is_(None))
    )).scalars().all()
    # The selected and shortlisted ideas first (what a moderator most likely publishes), then by rank.
    ideas = sorted(ideas, key=lambda i: (_STATUS_ORDER.get(i.status, 9), -i.rank_top, i.id))
    candidates = [Candidate(idea, by_idea.get(idea.id)) for idea in ideas]
    return Editing(access, publication, items, candidates)


async def _items(db: AsyncSession, publication_id: int) -> list[PublicationItem]:
    return list((await db.execute(select(PublicationItem).where(PublicationItem.publication_id == publication_id)
                                  .order_by(PublicationItem.position, PublicationItem.id))).scalars())


@dataclass(frozen=True)
class Change:
    idea_ids: list[int] | None
    summary: str | None
    outcome: str | None
    thanks: str | None
    published: bool | None


def check_change(data: Input) -> Change:
    """The moderator's input: ``items`` (idea ids, in the order shown), the texts, and
    ``published``; anything left out stays as it is."""
    raw = data.get("items")
    ids: list[int] | None = None
    if raw is not None:
        values = raw if isinstance(raw, list) else [raw]
        if len(values) > MAX_ITEMS:
            raise Invalid.field("items", lazy_gettext("at most %(max)d ideas", max=MAX_ITEMS))
        ids = []
        for value in values:
            if isinstance(value, str) and value.isdigit() and len(value) <= ID_DIGITS:
                value = int(value)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 10**ID_DIGITS:
                raise Invalid.field("items", lazy_gettext("expected a list of idea ids"))
            if value not in ids:
                ids.append(value)

    def text(name: str) -> str | None:
        if name not in data:
            return None
        return text_field(data, name, max_length=TEXT_MAX, required=False, default="", multiline=True)

    published = bool_field(data, "published") if "published" in data else None
    return Change(ids, text("summary"), text("outcome"), text("thanks"), published)


async def save(resources: Resources, actor: User, slug: str, change: Change) -> Editing:
    """Create or change the room's publication; ask the newly picked authors for consent;
    publish or withdraw it. One transaction; the share image is drawn before it."""
    company = resources.settings.company_name
    with use_locale(resources.settings.default_locale):
        label = str(SHARE_LABEL)
    async with resources.db() as db:
        access = await room_access(db, actor, slug)
        _require_publishable(access)
        old = (await db.execute(select(Publication).where(Publication.room_id == access.room.id))).scalar_one_or_none()
        alt = shareimages.alt_for(access.room.title, company, label)
        fresh = await shareimages.current(db, old.share_key if old else None, alt)
    drawn = None if fresh is not None else await shareimages.drawn(access.room.title, company, label)
    try:
        await _save(resources, actor, slug, change, alt, drawn)
    except IntegrityError:  # another moderator created it at the same moment
        raise Conflict(lazy_gettext("The publication changed meanwhile; reload and try again.")) from None
    async with resources.db() as db:
        return await editing(db, actor, slug)


async def _save(resources: Resources, actor: User, slug: str, change: Change, alt: str,
                drawn: pictures.Prepared | None) -> None:
    async with write(resources) as (db, outbox):
        access = await room_access(db, actor, slug)
        _require_publishable(access)
        room = access.room
        publication = (await db.execute(select(Publication).where(Publication.room_id == room.id))).scalar_one_or_none()
        now = utcnow()
        if publication is None:
            publication = Publication(room_id=room.id, slug=room.slug, title=room.title, summary=room.brief,
                                      outcome="", thanks="", state="draft", tags=[], employees=0, guests=0)
            db.add(publication)
            await db.flush()
        publication.title = room.title
        for name in ("summary", "outcome", "thanks"):
            value = getattr(change, name)
            if value is not None:
                setattr(publication, name, value)
        if change.idea_ids is not None:
            await _pick(db, outbox, actor, room, publication, change.idea_ids)
        if drawn is not None:
            publication.share_key = await shareimages.replace(db, publication.share_key, drawn, alt)
        was = publication.state
        if change.published is True:
            publication.state = "published"
            publication.published_at = publication.published_at if was == "published" else now
            publication.withdrawn_at = None
            publication.employees, publication.guests = await _took_part(db, room.id)
            publication.tags = [t.label for t in await room_tags(db, room.id)]
        elif change.published is False and was == "published":
            publication.state, publication.withdrawn_at = "withdrawn", now
        publication.updated_by_id, publication.updated_at = actor.id, now
        action = audit.PUBLICATION_SAVED
        if publication.state != was:
            action = audit.PUBLICATION_PUBLISHED if publication.state == "published" else audit.PUBLICATION_WITHDRAWN
        await audit.record(db, actor.id, action,
                           room_id=room.id, target_kind="publication", target_id=publication.id,
                           data={"items": len(change.idea_ids) if change.idea_ids is not None else None})


async def _pick(db: AsyncSession, outbox: Any, actor: User, room: Room, publication: Publication,
                idea_ids: list[int]) -> None:
    """Make the items exactly ``idea_ids`` (in that order): new ones are copied and their
    authors asked; ones left out are dropped with whatever consent they had."""
    ideas = {i.id: i for i in (await db.execute(
        select(Idea).where(Idea.room_id == room.id, Idea.id.in_(idea_ids), Idea.state == "visible",
                           Idea.merged_into_id.is_(None)))).scalars()}
    missing = [i for i in idea_ids if i not in ideas]
    if missing:
        raise Invalid.field("items", lazy_gettext("no idea %(id)d that can be published in this challenge", id=missing[0]))
    await db.execute(delete(PublicationItem).where(PublicationItem.publication_id == publication.id,
                                                   PublicationItem.idea_id.not_in(idea_ids)))
    existing = {i.idea_id: i for i in await _items(db, publication.id)}
    kinds_of = dict((await db.execute(select(User.id, User.kind).where(
        User.id.in_({i.author_id for i in ideas.values() if i.author_id is not None})))).all())
    for position, idea_id in enumerate(idea_ids):
        idea = ideas[idea_id]
        item = existing.get(idea_id)
        if item is None:
            author = None if idea.anonymous else idea.author_id
            item = PublicationItem(publication_id=publication.id, idea_id=idea.id, author_id=author,
                                   author_kind="anonymous" if author is None else kinds_of.get(author, "employee"),
                                   consent=NONE if author is None else ASKED)
            db.add(item)
            if author is not None:
                await append_event(db, outbox, room.id, kinds.PUBLICATION_CONSENT_REQUESTED, {"idea_id": idea.id},
                                   audience=f"user:{author}", actor_id=actor.id)
        item.position, item.title, item.body, item.status = position, idea.title, idea.body, idea.status
    await db.flush()


async def _took_part(db: AsyncSession, room_id: int) -> tuple[int, int]:
    """Employees and guests who were members of the room (moderators are staff)."""
    rows = dict((await db.execute(
        select(User.kind, func.count(func.distinct(User.id))).join(Membership, Membership.user_id == User.id)
        .where(Membership.room_id == room_id, Membership.role == "member").group_by(User.kind))).all())
    return int(rows.get("employee", 0)), int(rows.get("guest", 0))


# The authors' side ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    item: PublicationItem
    publication: Publication


async def my_requests(db: AsyncSession, user: User) -> list[Request]:
    """Every published or planned idea of ``user``'s that asks for (or has) their answer."""
    rows = (await db.execute(
        select(PublicationItem, Publication).join(Publication, Publication.id == PublicationItem.publication_id)
        .where(PublicationItem.author_id == user.id, PublicationItem.consent != NONE)
        .order_by(Publication.updated_at.desc(), PublicationItem.position))).all()
    return [Request(item, publication) for item, publication in rows]


async def answer(resources: Resources, user: User, item_id: int, agree: bool) -> Request:
    """The author agrees to be named (their name is copied in) or declines (it is removed)."""
    async with write(resources) as (db, _outbox):
        row = (await db.execute(
            select(PublicationItem, Publication).join(Publication, Publication.id == PublicationItem.publication_id)
            .where(PublicationItem.id == item_id, PublicationItem.author_id == user.id,
                   PublicationItem.consent != NONE))).first()
        if row is None:
            raise NotFound(lazy_gettext("No such request."))
        item, publication = row
        item.consent = GRANTED if agree else DECLINED
        item.author_name = user.name if agree else None
        item.consent_at = utcnow()
        publication.updated_at = item.consent_at
    return Request(item, publication)


def item_json(item: PublicationItem) -> dict[str, Any]:
    return {"id": item.id, "idea_id": item.idea_id, "title": item.title, "status": item.status,
            "author_kind": item.author_kind, "consent": item.consent, "named_as": item.author_name,
            "consent_at": item.consent_at.isoformat() if item.consent_at else None}


def publication_json(edit: Editing, public_url: str) -> dict[str, Any]:
    p = edit.publication
    return {
        "room": edit.access.room.slug,
        "state": p.state if p else "none",
        "url": f"{public_url}/results/{p.slug}" if p else None,
        "summary": p.summary if p else None, "outcome": p.outcome if p else None, "thanks": p.thanks if p else None,
        "published_at": p.published_at.isoformat() if p and p.published_at else None,
        "withdrawn_at": p.withdrawn_at.isoformat() if p and p.withdrawn_at else None,
        "items": [item_json(i) for i in edit.items],
    }
