"""What employees see of personas: each with its picture, tags, the communities and challenges
it recommends (those the viewer may see), how many follow it (never who) and whether the
viewer does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.errors import NotFound
from innovate.i18n import lazy_gettext
from innovate.insights.models import Tag
from innovate.markdown import render
from innovate.media import store
from innovate.personas.models import Curator, Persona, PersonaFollow, PersonaRoom, PersonaTag
from innovate.rooms.access import visible_room_ids
from innovate.rooms.models import Room


@dataclass(frozen=True)
class PersonaView:
    persona: Persona
    picture: store.Picture | None
    tags: list[dict[str, Any]]
    recommends: list[dict[str, Any]]
    followers: int
    following: bool

    def json(self) -> dict[str, Any]:
        p = self.persona
        picture = None
        if self.picture is not None:
            picture = {"alt": self.picture.alt, "large": self.picture.url("large"), "small": self.picture.url("small")}
        return {"id": p.id, "name": p.name, "portrait": p.portrait, "portrait_html": render(p.portrait),
                "picture": picture, "tags": self.tags, "recommends": self.recommends, "followers": self.followers,
                "following": self.following}


async def personas(db: AsyncSession, user: User, ids: list[int] | None = None) -> list[PersonaView]:
    """Personas (all, or these ids) by name, as ``user`` sees them."""
    followers = (select(func.count()).select_from(PersonaFollow).join(User, User.id == PersonaFollow.user_id)
                 .where(PersonaFollow.persona_id == Persona.id, User.is_active.is_(True))
                 .correlate(Persona).scalar_subquery())
    mine = (select(func.count()).select_from(PersonaFollow)
            .where(PersonaFollow.persona_id == Persona.id, PersonaFollow.user_id == user.id)
            .correlate(Persona).scalar_subquery())
    stmt = select(Persona, followers, mine).order_by(Persona.name)
    if ids is not None:
        stmt = stmt.where(Persona.id.in_(ids))
    rows = (await db.execute(stmt)).all()
    found = [r[0].id for r in rows]
    tags: dict[int, list[dict[str, Any]]] = {i: [] for i in found}
    recommends: dict[int, list[dict[str, Any]]] = {i: [] for i in found}
    if found:
        for persona_id, tag_id, slug, label in (await db.execute(
                select(PersonaTag.persona_id, Tag.id, Tag.slug, Tag.label).join(Tag, Tag.id == PersonaTag.tag_id)
                .where(PersonaTag.persona_id.in_(found)).order_by(Tag.label))).all():
            tags[persona_id].append({"id": tag_id, "slug": slug, "label": label})
        for persona_id, slug, title, kind, phase in (await db.execute(
                select(PersonaRoom.persona_id, Room.slug, Room.title, Room.kind, Room.phase)
                .join(Room, Room.id == PersonaRoom.room_id)
                .where(PersonaRoom.persona_id.in_(found), Room.id.in_(visible_room_ids(user)))
                .order_by(Room.title))).all():
            recommends[persona_id].append({"slug": slug, "title": title, "kind": kind, "phase": phase})
    pictures = await store.load_many(db, [r[0].picture_key for r in rows if r[0].picture_key])
    return [PersonaView(p, pictures.get(p.picture_key or ""), tags[p.id], recommends[p.id], int(n), bool(me))
            for p, n, me in rows]


async def persona(db: AsyncSession, user: User, persona_id: int) -> PersonaView:
    found = await personas(db, user, [persona_id])
    if not found:
        raise NotFound(lazy_gettext("No such persona."))
    return found[0]


async def followed_ids(db: AsyncSession, user_id: int) -> list[int]:
    return list((await db.execute(select(PersonaFollow.persona_id).where(PersonaFollow.user_id == user_id)
                                  .order_by(PersonaFollow.persona_id))).scalars())


async def curators(db: AsyncSession) -> list[dict[str, Any]]:
    """The HR people administrators named, by name."""
    rows = await db.execute(select(User.id, User.name, User.email).join(Curator, Curator.user_id == User.id)
                            .order_by(User.name))
    return [{"id": i, "name": n, "email": e} for i, n, e in rows.all()]
