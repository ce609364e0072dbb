"""What public pages show, read from published rows only (never from the rooms).

Every reader here filters on the published state in SQL, so an unpublished story, a
withdrawn results page or a closed position is never loaded for a public page at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.errors import Gone, NotFound
from innovate.i18n import lazy_gettext, lazy_pgettext, ngettext
from innovate.insights.interests import tag_slug
from innovate.markdown import render
from innovate.media import store
from innovate.media.store import Picture
from innovate.showcase.models import Position, Publication, PublicationItem, Story

STATUS_WORDS = {"selected": lazy_pgettext("idea status", "Selected"), "shortlisted": lazy_pgettext("idea status", "Shortlisted"),
                "under_review": lazy_pgettext("idea status", "Under review"),
                "submitted": lazy_pgettext("idea status", "Submitted"),
                "rejected": lazy_pgettext("idea status", "Not taken forward")}
# Who wrote an idea, for an author who did not agree to be named (or was never asked).
UNNAMED = {"employee": lazy_gettext("a colleague"), "guest": lazy_gettext("an external expert"),
           "anonymous": lazy_gettext("an anonymous contributor")}


@dataclass(frozen=True)
class PublicIdea:
    title: str
    body_html: str
    status: str
    author: str
    named: bool


@dataclass(frozen=True)
class PublicPosition:
    key: str
    title: str
    team: str
    location: str
    ats_url: str
    tags: list[str]


@dataclass(frozen=True)
class PublicChallenge:
    slug: str
    title: str
    summary_html: str
    outcome_html: str
    thanks_html: str
    employees: int
    guests: int
    ideas: list[PublicIdea]
    published_at: datetime
    share: Picture | None
    positions: list[PublicPosition]
    tags: list[str]

    @property
    def description(self) -> str:
        return ngettext("The results of the challenge “%(title)s”: %(num)d idea.",
                        "The results of the challenge “%(title)s”: %(num)d ideas.", len(self.ideas), title=self.title)


def author_label(item: PublicationItem) -> str:
    if item.consent == "granted" and item.author_name:
        return item.author_name
    return str(UNNAMED.get(item.author_kind, UNNAMED["employee"]))


async def challenge(db: AsyncSession, slug: str) -> PublicChallenge:
    """A published results page; 410 once withdrawn, 404 if it never was."""
    publication = (await db.execute(select(Publication).where(Publication.slug == slug))).scalar_one_or_none()
    if publication is None or publication.state == "draft" or publication.published_at is None:
        raise NotFound(lazy_gettext("No such page."))
    if publication.state != "published":
        raise Gone(lazy_gettext("These results are no longer published."))
    items = (await db.execute(select(PublicationItem).where(PublicationItem.publication_id == publication.id)
                              .order_by(PublicationItem.position, PublicationItem.id))).scalars().all()
    ideas = [PublicIdea(i.title, render(i.body), str(STATUS_WORDS.get(i.status, i.status)), author_label(i),
                        i.consent == "granted" and bool(i.author_name)) for i in items]
    share = await store.load(db, publication.share_key) if publication.share_key else None
    return PublicChallenge(
        slug=publication.slug, title=publication.title, summary_html=render(publication.summary),
        outcome_html=render(publication.outcome), thanks_html=render(publication.thanks),
        employees=publication.employees, guests=publication.guests, ideas=ideas,
        published_at=publication.published_at, share=share,
        positions=await positions_sharing(db, publication.tags), tags=list(publication.tags))


async def published_challenges(db: AsyncSession) -> list[tuple[str, str, datetime]]:
    """(slug, title, published_at) of every published results page, newest first."""
    rows = (await db.execute(select(Publication.slug, Publication.title, Publication.published_at)
                             .where(Publication.state == "published").order_by(Publication.published_at.desc()))).all()
    return [(slug, title, at) for slug, title, at in rows if at is not None]


async def open_positions(db: AsyncSession) -> list[PublicPosition]:
    rows = (await db.execute(select(Position).where(Position.state == "open")
                             .order_by(Position.created_at.desc(), Position.id.desc()))).scalars().all()
    return [PublicPosition(p.key, p.title, p.team, p.location, p.ats_url, list(p.tags)) for p in rows]


async def open_position(db: AsyncSession, key: str) -> PublicPosition:
    p = (await db.execute(select(Position).where(Position.key == key, Position.state == "open"))).scalar_one_or_none()
    if p is None:
        raise NotFound(lazy_gettext("This position is not open."))
    return PublicPosition(p.key, p.title, p.team, p.location, p.ats_url, list(p.tags))


async def positions_sharing(db: AsyncSession, tags: list[str]) -> list[PublicPosition]:
    """Open positions with at least one tag in common with ``tags``."""
    wanted = {tag_slug(t) for t in tags}
    if not wanted:
        return []
    return [p for p in await open_positions(db) if wanted & {tag_slug(t) for t in p.tags}]


@dataclass(frozen=True)
class PublicStory:
    slug: str
    title: str
    summary: str
    byline: str
    body_html: str
    cover: Picture | None
    share: Picture | None
    published_at: datetime
    updated_at: datetime
    tags: list[str]
    positions: list[PublicPosition]


async def _public_stories(db: AsyncSession, rows: list[Story], *, with_positions: bool) -> list[PublicStory]:
    pictures_ = await store.load_many(db, [k for r in rows for k in (r.cover_key, r.share_key) if k])
    found = []
    for r in rows:
        assert r.published_at is not None
        found.append(PublicStory(
            slug=r.slug, title=r.title, summary=r.summary, byline=r.byline, body_html=render(r.body, pictures=True),
            cover=pictures_.get(r.cover_key or ""), share=pictures_.get(r.share_key or ""),
            published_at=r.published_at, updated_at=max(r.updated_at, r.published_at), tags=list(r.tags),
            positions=await positions_sharing(db, list(r.tags)) if with_positions else []))
    return found


async def stories(db: AsyncSession, limit: int = 100) -> list[PublicStory]:
    """Published stories, newest first."""
    rows = list((await db.execute(select(Story).where(Story.state == "published", Story.published_at.is_not(None))
                                  .order_by(Story.published_at.desc(), Story.id.desc()).limit(limit))).scalars())
    return await _public_stories(db, rows, with_positions=False)


async def story(db: AsyncSession, slug: str) -> PublicStory:
    row = (await db.execute(select(Story).where(Story.slug == slug, Story.state == "published",
                                                Story.published_at.is_not(None)))).scalar_one_or_none()
    if row is None:
        raise NotFound(lazy_gettext("No such story."))
    return (await _public_stories(db, [row], with_positions=True))[0]
