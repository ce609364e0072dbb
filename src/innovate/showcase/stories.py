"""Stories: Markdown posts about life in the organisation, by admins and the writers they name.

A story is a draft until its writer publishes it; only then do the public list, its page,
the Atom feed and the sitemap show it. Its cover picture goes through ``innovate.media`` (a
bad file or a missing alt text is a 422 naming the field) and its share image is drawn when
it is published and whenever its title changes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit, markdown
from innovate.accounts.models import User
from innovate.db import insert_for, utcnow
from innovate.errors import Conflict, Forbidden, Invalid, NotFound
from innovate.i18n import lazy_gettext, use_locale
from innovate.inputs import Input, bool_field, text_field
from innovate.insights.interests import parse_labels
from innovate.media import pictures, store
from innovate.resources import Resources
from innovate.showcase import shareimages
from innovate.showcase.models import Story, StoryWriter
from innovate.writes import write

TITLE_MAX, SUMMARY_MAX, BODY_MAX, BYLINE_MAX = 200, 300, 50_000, 120
COVER = pictures.Profile("story", sizes={"large": 1600, "medium": 800, "small": 400})
# Drawn on the share image, in the site's language: one image serves every reader.
SHARE_LABEL = lazy_gettext("Story")


def _share_label(resources: Resources) -> str:
    with use_locale(resources.settings.default_locale):
        return str(SHARE_LABEL)
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Addresses the writers' own pages use under /stories/.
RESERVED = ("new", "manage")
FIELDS = ("title", "summary", "body", "byline", "slug", "tags", "cover", "cover_alt", "picture", "picture_alt",
          "published")


async def is_writer(db: AsyncSession, user: User) -> bool:
    if not user.is_active or user.is_guest:
        return False
    if user.is_admin:
        return True
    return (await db.get(StoryWriter, user.id)) is not None


async def require_writer(db: AsyncSession, user: User) -> None:
    if not await is_writer(db, user):
        raise Forbidden(lazy_gettext("Only administrators and the writers they name may write stories."))


def slug_from(title: str) -> str:
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    slug = "-".join(re.findall(r"[a-z0-9]+", plain))[:60].strip("-") or "story"
    return f"{slug}-story" if slug in RESERVED else slug


@dataclass(frozen=True)
class Draft:
    values: dict[str, Any]
    published: bool | None
    cover: object          # the uploaded file, if one came
    cover_alt: str | None
    picture: object        # a picture for the text, added at its end
    picture_alt: str | None


def _file(data: Input, name: str) -> object:
    """The file a form sent as ``name``, or None (an empty file input sends a nameless part)."""
    value = data.get(name)
    if value is None or isinstance(value, str) or not getattr(value, "filename", None):
        return value if isinstance(value, str) and value else None
    return value


def _check_pictures(body: str) -> None:
    for src, alt in markdown.pictures_in(body):
        if not src.startswith(markdown.PICTURE_PREFIX):
            raise Invalid.field("body", lazy_gettext("pictures must be uploaded with the story (their address starts with /media/)"))
        if not alt:
            raise Invalid.field("body", lazy_gettext("every picture needs a description: ![what it shows](/media/...)"))


def check(data: Input, *, creating: bool) -> Draft:
    values: dict[str, Any] = {}
    if creating or "title" in data:
        values["title"] = text_field(data, "title", max_length=TITLE_MAX)
    for name, limit, multiline in (("summary", SUMMARY_MAX, False), ("body", BODY_MAX, True),
                                   ("byline", BYLINE_MAX, False)):
        if creating or name in data:
            values[name] = text_field(data, name, max_length=limit, required=False, default="", multiline=multiline)
    if data.get("slug"):
        slug = (text_field(data, "slug", max_length=80) or "").lower()
        if not SLUG_RE.match(slug):
            raise Invalid.field("slug", lazy_gettext("use lowercase letters, digits and single hyphens, e.g. a-day-in-the-lab"))
        if slug in RESERVED:
            raise Invalid.field("slug", lazy_gettext("is reserved; choose another"))
        values["slug"] = slug
    if "tags" in data:
        values["tags"] = parse_labels(data.get("tags"))
    if "body" in values:
        _check_pictures(values["body"])
    cover, picture = _file(data, "cover"), _file(data, "picture")
    published = bool_field(data, "published") if data.get("published") not in (None, "") else None
    return Draft(values, published, cover, pictures.alt_text(data, "cover_alt") if cover is not None else None,
                 picture, pictures.alt_text(data, "picture_alt") if picture is not None else None)


async def _prepared(resources: Resources, upload: object, field: str) -> pictures.Prepared | None:
    if upload is None:
        return None
    return await pictures.prepare(upload, field=field, profile=COVER, max_bytes=resources.settings.upload_max_bytes)


async def create(resources: Resources, actor: User, data: Input) -> Story:
    async with resources.db() as db:
        await require_writer(db, actor)
    draft = check(data, creating=True)
    cover = await _prepared(resources, draft.cover, "cover")
    picture = await _prepared(resources, draft.picture, "picture")
    title = draft.values["title"]
    slug = draft.values.pop("slug", None) or slug_from(title)
    share = await shareimages.drawn(title, resources.settings.company_name, _share_label(resources)) if draft.published else None
    try:
        async with write(resources) as (db, _outbox):
            await require_writer(db, actor)
            story = Story(slug=slug, author_id=actor.id, state="draft", **{"tags": [], **draft.values})
            db.add(story)
            await db.flush()
            await _apply(db, resources, actor, story, draft, cover, picture, share)
    except IntegrityError:
        raise Invalid.field("slug", lazy_gettext("/stories/%(slug)s is taken; choose another address", slug=slug)) from None
    return story


async def update(resources: Resources, actor: User, slug: str, data: Input) -> Story:
    async with resources.db() as db:
        await require_writer(db, actor)
        current = await _story(db, slug)
        old_share_alt = shareimages.alt_for(current.title, resources.settings.company_name, _share_label(resources))
        fresh = await shareimages.current(db, current.share_key, old_share_alt)
    draft = check(data, creating=False)
    cover = await _prepared(resources, draft.cover, "cover")
    picture = await _prepared(resources, draft.picture, "picture")
    title = draft.values.get("title", current.title)
    goes_public = draft.published or (draft.published is None and current.state == "published")
    share = None
    if goes_public and (fresh is None or title != current.title):
        share = await shareimages.drawn(title, resources.settings.company_name, _share_label(resources))
    try:
        async with write(resources) as (db, _outbox):
            await require_writer(db, actor)
            story = await _story(db, slug)
            for name, value in draft.values.items():
                setattr(story, name, value)
            await _apply(db, resources, actor, story, draft, cover, picture, share)
    except IntegrityError:
        raise Invalid.field("slug", lazy_gettext("that address is taken; choose another")) from None
    return story


async def _apply(db: AsyncSession, resources: Resources, actor: User, story: Story, draft: Draft,
                 cover: pictures.Prepared | None, picture: pictures.Prepared | None,
                 share: pictures.Prepared | None) -> None:
    now = utcnow()
    if picture is not None:
        alt = draft.picture_alt or ""
        saved = await store.save(db, picture, alt=alt, owner_id=actor.id)
        # Brackets would end the Markdown's description early.
        described = alt.replace("[", "(").replace("]", ")")
        story.body = f"{story.body.rstrip()}\n\n![{described}]({saved.url('large')})\n".lstrip()
    if cover is not None:
        old = story.cover_key
        story.cover_key = (await store.save(db, cover, alt=draft.cover_alt or "", owner_id=actor.id)).key
        if old:
            await store.delete_picture(db, old)
    if share is not None:
        alt = shareimages.alt_for(story.title, resources.settings.company_name, _share_label(resources))
        story.share_key = await shareimages.replace(db, story.share_key, share, alt)
    if draft.published is True and story.state != "published":
        story.state, story.published_at = "published", now
        await audit.record(db, actor.id, audit.STORY_PUBLISHED, target_kind="story", target_id=story.id,
                           data={"slug": story.slug})
    elif draft.published is False and story.state == "published":
        story.state = "draft"
        await audit.record(db, actor.id, audit.STORY_UNPUBLISHED, target_kind="story", target_id=story.id,
                           data={"slug": story.slug})
    story.updated_at = now
    await db.flush()


async def _story(db: AsyncSession, slug: str) -> Story:
    story = (await db.execute(select(Story).where(Story.slug == slug))).scalar_one_or_none()
    if story is None:
        raise NotFound(lazy_gettext("No such story."))
    return story


async def for_writer(db: AsyncSession, actor: User, slug: str) -> Story:
    await require_writer(db, actor)
    return await _story(db, slug)


async def all_stories(db: AsyncSession, actor: User) -> list[Story]:
    await require_writer(db, actor)
    return list((await db.execute(select(Story).order_by(Story.updated_at.desc(), Story.id.desc()))).scalars())


async def published(db: AsyncSession) -> list[Story]:
    return list((await db.execute(select(Story).where(Story.state == "published")
                                  .order_by(Story.published_at.desc(), Story.id.desc()))).scalars())


# Writers ------------------------------------------------------------------------------------

async def writers(db: AsyncSession, actor: User) -> list[User]:
    if not actor.is_admin:
        raise Forbidden(lazy_gettext("Only administrators name story writers."))
    return list((await db.execute(select(User).join(StoryWriter, StoryWriter.user_id == User.id)
                                  .order_by(User.name))).scalars())


async def name_writer(resources: Resources, actor: User, user_id: int, *, writer: bool) -> None:
    if not actor.is_admin:
        raise Forbidden(lazy_gettext("Only administrators name story writers."))
    async with write(resources) as (db, _outbox):
        person = await db.get(User, user_id)
        if person is None:
            raise NotFound(lazy_gettext("No such person."))
        if writer:
            if person.is_guest:
                raise Conflict(lazy_gettext("Guests cannot write stories."))
            await db.execute(insert_for(db, StoryWriter).values(user_id=user_id, granted_by_id=actor.id,
                                                                granted_at=utcnow()).on_conflict_do_nothing())
        else:
            await db.execute(delete(StoryWriter).where(StoryWriter.user_id == user_id))
        await audit.record(db, actor.id, audit.STORY_WRITER_NAMED if writer else audit.STORY_WRITER_REMOVED,
                           target_kind="user", target_id=user_id)


def story_json(story: Story, covers: dict[str, store.Picture], public_url: str) -> dict[str, Any]:
    cover = covers.get(story.cover_key or "")
    return {
        "slug": story.slug, "state": story.state, "title": story.title, "summary": story.summary,
        "body": story.body, "byline": story.byline, "tags": story.tags,
        "url": f"{public_url}/stories/{story.slug}" if story.state == "published" else None,
        "cover": {"alt": cover.alt, "urls": {size: cover.url(size) for size in cover.sizes}} if cover else None,
        "published_at": story.published_at.isoformat() if story.published_at else None,
        "updated_at": story.updated_at.isoformat(),
    }
