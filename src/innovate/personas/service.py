"""The write path for personas: HR people (admins and the curators they name) create and
change them; employees follow them. Persona changes are not room events (no room's timeline
holds them): they are audited, and take effect on the next page or API read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit
from innovate.accounts.models import User
from innovate.db import affected, insert_for, utcnow
from innovate.errors import Conflict, Forbidden, Invalid, NotFound
from innovate.i18n import lazy_gettext
from innovate.inputs import Input, text_field
from innovate.insights.interests import parse_labels, tag_slug
from innovate.insights.models import Tag
from innovate.media import pictures, store
from innovate.personas.models import Curator, Persona, PersonaFollow, PersonaRoom, PersonaTag
from innovate.resources import Resources
from innovate.rooms.access import visible_room_ids
from innovate.rooms.models import Room
from innovate.writes import write

NAME_MAX = 80
PORTRAIT_MAX = 2000
MAX_RECOMMENDED = 12
MAX_FOLLOWED = 100
PICTURE = pictures.Profile("persona", sizes={"large": 480, "small": 120}, fmt="webp")


async def is_curator(db: AsyncSession, user: User) -> bool:
    """Admins, and the HR people they named: they curate personas and send pulses."""
    if not user.is_active or user.is_guest:
        return False
    if user.is_admin:
        return True
    return bool((await db.execute(select(exists().where(Curator.user_id == user.id)))).scalar())


async def require_curator(db: AsyncSession, user: User) -> None:
    if not await is_curator(db, user):
        raise Forbidden(lazy_gettext("Only HR (administrators and the curators they name) may do that."))


def require_employee(user: User) -> None:
    if user.is_guest or not user.is_active:
        raise NotFound()  # personas are for employees; guests see only their rooms


async def name_curator(resources: Resources, actor: User, user_id: int | None, curator: bool, *,
                       email: str | None = None) -> bool:
    """Name (or un-name) an HR person (administrators), by id or by e-mail; employees only."""
    if not actor.is_admin:
        raise Forbidden(lazy_gettext("Only administrators may do that."))
    async with write(resources) as (db, _outbox):
        if user_id is not None:
            person = await db.get(User, user_id)
        else:
            person = (await db.execute(select(User).where(
                func.lower(User.email) == (email or "").strip().lower()))).scalar_one_or_none()
            if person is None:
                raise Invalid.field("email", lazy_gettext("no account with this address"))
        if person is None:
            raise NotFound(lazy_gettext("No such user."))
        user_id = person.id
        if curator and (person.is_guest or not person.is_active):
            raise Invalid.field("email" if email is not None else "curator", lazy_gettext("only active employees can be named"))
        if curator:
            done = await db.execute(insert_for(db, Curator).values(user_id=user_id, named_by_id=actor.id,
                                                                   created_at=utcnow())
                                    .on_conflict_do_nothing(index_elements=["user_id"]))
        else:
            done = await db.execute(delete(Curator).where(Curator.user_id == user_id))
        if affected(done):
            await audit.record(db, actor.id, audit.USER_CURATOR_CHANGED, target_kind="user", target_id=user_id,
                               data={"curator": curator})
    return curator


@dataclass(frozen=True)
class PersonaInput:
    """A persona's fields as checked before any write (``None``: not given, keep it)."""

    name: str | None
    portrait: str | None
    tags: list[str] | None
    rooms: list[str] | None
    picture: pictures.Prepared | None
    picture_alt: str | None


async def check_input(resources: Resources, data: Input, *, creating: bool) -> PersonaInput:
    """Every field checked (a 422 names the first bad one), the picture decoded off the loop."""
    name = text_field(data, "name", max_length=NAME_MAX) if creating or "name" in data else None
    portrait = (text_field(data, "portrait", max_length=PORTRAIT_MAX, required=False, default="", multiline=True)
                if "portrait" in data else ("" if creating else None))
    tags = parse_labels(data.get("tags")) if "tags" in data else ([] if creating else None)
    rooms = _slugs(data.get("rooms")) if "rooms" in data else ([] if creating else None)
    upload = data.get("picture")
    prepared, alt = None, None
    if upload not in (None, "") and not (hasattr(upload, "filename") and not getattr(upload, "filename", "")):
        prepared = await pictures.prepare(upload, field="picture", profile=PICTURE,
                                          max_bytes=resources.settings.upload_max_bytes)
        alt = pictures.alt_text(data, "picture_alt")
    return PersonaInput(name, portrait, tags, rooms, prepared, alt)


def _slugs(raw: Any) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise Invalid.field("rooms", lazy_gettext("expected a list of room addresses (slugs)"))
    slugs = list(dict.fromkeys(i.strip().lower() for i in items if i.strip()))
    if len(slugs) > MAX_RECOMMENDED:
        raise Invalid.field("rooms", lazy_gettext("recommend at most %(max)d communities and challenges", max=MAX_RECOMMENDED))
    return slugs


async def create_persona(resources: Resources, actor: User, data: Input) -> Persona:
    checked = await check_input(resources, data, creating=True)
    try:
        async with write(resources) as (db, _outbox):
            await require_curator(db, actor)
            persona = Persona(name=checked.name, portrait=checked.portrait or "", created_by_id=actor.id)
            db.add(persona)
            await db.flush()
            await _apply(db, actor, persona, checked)
            await audit.record(db, actor.id, audit.PERSONA_CREATED, target_kind="persona", target_id=persona.id,
                               data={"name": persona.name})
    except IntegrityError:
        raise Conflict(lazy_gettext("A persona of that name exists."), fields={"name": lazy_gettext("already taken")}) from None
    return persona


async def update_persona(resources: Resources, actor: User, persona_id: int, data: Input) -> Persona:
    checked = await check_input(resources, data, creating=False)
    try:
        async with write(resources) as (db, _outbox):
            await require_curator(db, actor)
            persona = await db.get(Persona, persona_id)
            if persona is None:
                raise NotFound(lazy_gettext("No such persona."))
            if checked.name is not None:
                persona.name = checked.name
            if checked.portrait is not None:
                persona.portrait = checked.portrait
            persona.updated_at = utcnow()
            await db.flush()
            await _apply(db, actor, persona, checked)
            await audit.record(db, actor.id, audit.PERSONA_UPDATED, target_kind="persona", target_id=persona.id,
                               data={"fields": sorted(k for k in ("name", "portrait", "tags", "rooms", "picture")
                                                      if getattr(checked, k) is not None)})
    except IntegrityError:
        raise Conflict(lazy_gettext("A persona of that name exists."), fields={"name": lazy_gettext("already taken")}) from None
    return persona


async def _apply(db: AsyncSession, actor: User, persona: Persona, checked: PersonaInput) -> None:
    if checked.tags is not None:
        wanted = {tag_slug(label): label for label in checked.tags}
        if wanted:
            await db.execute(insert_for(db, Tag).values(
                [{"slug": s, "label": label, "created_at": utcnow()} for s, label in wanted.items()]
            ).on_conflict_do_nothing(index_elements=["slug"]))
        ids = list((await db.execute(select(Tag.id).where(Tag.slug.in_(wanted)))).scalars()) if wanted else []
        await db.execute(delete(PersonaTag).where(PersonaTag.persona_id == persona.id))
        if ids:
            await db.execute(insert_for(db, PersonaTag).values([{"persona_id": persona.id, "tag_id": i} for i in ids]))
    if checked.rooms is not None:
        # Recommended rooms: ones the curator can see, so a persona never reveals a private room.
        found = dict((await db.execute(select(Room.slug, Room.id).where(
            Room.slug.in_(checked.rooms), Room.id.in_(visible_room_ids(actor))))).all()) if checked.rooms else {}
        missing = [s for s in checked.rooms if s not in found]
        if missing:
            raise Invalid.field("rooms", lazy_gettext("no such community or challenge: %(slugs)s", slugs=", ".join(missing)))
        await db.execute(delete(PersonaRoom).where(PersonaRoom.persona_id == persona.id))
        if found:
            await db.execute(insert_for(db, PersonaRoom).values(
                [{"persona_id": persona.id, "room_id": i} for i in found.values()]))
    if checked.picture is not None:
        old = persona.picture_key
        picture = await store.save(db, checked.picture, alt=checked.picture_alt or persona.name, owner_id=actor.id)
        persona.picture_key = picture.key
        await db.flush()
        if old:
            await store.delete_picture(db, old)


async def set_follows(resources: Resources, actor: User, raw: Any) -> list[int]:
    """Replace the personas the actor follows (``PUT /me/personas``); employees only."""
    require_employee(actor)
    items = raw if isinstance(raw, list) else None
    if items is None or not all(isinstance(i, int) and not isinstance(i, bool) for i in items):
        raise Invalid.field("follow", lazy_gettext("expected a list of persona ids"))
    wanted = set(items)
    if len(wanted) > MAX_FOLLOWED:
        raise Invalid.field("follow", lazy_gettext("follow at most %(max)d personas", max=MAX_FOLLOWED))
    async with resources.db.begin() as db:
        known = set((await db.execute(select(Persona.id).where(Persona.id.in_(wanted)))).scalars()) if wanted else set()
        if known != wanted:
            raise Invalid.field("follow", lazy_gettext("unknown persona"))
        await db.execute(delete(PersonaFollow).where(PersonaFollow.user_id == actor.id,
                                                     PersonaFollow.persona_id.not_in(wanted)))
        if wanted:
            await db.execute(insert_for(db, PersonaFollow).values(
                [{"persona_id": i, "user_id": actor.id, "created_at": utcnow()} for i in sorted(wanted)]
            ).on_conflict_do_nothing(index_elements=["persona_id", "user_id"]))
    return sorted(wanted)


async def follow(resources: Resources, actor: User, persona_id: int, on: bool) -> None:
    """Follow or unfollow one persona (the one-click button)."""
    require_employee(actor)
    async with resources.db.begin() as db:
        if await db.get(Persona, persona_id) is None:
            raise NotFound(lazy_gettext("No such persona."))
        if on:
            await db.execute(insert_for(db, PersonaFollow).values(persona_id=persona_id, user_id=actor.id,
                                                                  created_at=utcnow())
                             .on_conflict_do_nothing(index_elements=["persona_id", "user_id"]))
        else:
            await db.execute(delete(PersonaFollow).where(PersonaFollow.persona_id == persona_id,
                                                         PersonaFollow.user_id == actor.id))
