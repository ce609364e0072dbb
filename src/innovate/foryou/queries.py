"""Working out "For you" for one employee.

Candidates are the communities and challenges the person may join now (open challenges,
communities not archived, not already theirs). One is recommended when a persona they follow
recommends it, or when it carries a tag they follow or a tag a persona they follow cares
about. Each entry says why, once per reason ("because you follow Sustainability champion",
"because you follow the tag Cycling"); entries with more reasons come first, then the newest.
Open pulses sent to the followers of a persona they follow come before them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.i18n import gettext as _
from innovate.insights.models import RoomTag, Tag, UserInterest
from innovate.personas.models import Persona, PersonaFollow, PersonaRoom, PersonaTag
from innovate.pulses.models import Pulse, PulseTarget
from innovate.pulses.queries import pulse_json
from innovate.pulses.service import is_open
from innovate.rooms.access import RoomAccess
from innovate.rooms.models import JoinRequest, Membership, Room
from innovate.rooms.serializers import room_json

LIMIT = 12
ROOM_PHASES = ("open", "voting")


@dataclass
class Entry:
    kind: str                      # "challenge" | "community" | "pulse"
    item: dict[str, Any]
    reasons: list[str] = field(default_factory=list)
    sort_key: tuple[Any, ...] = ()

    def because(self, reason: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)

    def json(self) -> dict[str, Any]:
        return {"type": self.kind, "item": self.item, "reasons": self.reasons}


def persona_reason(name: str) -> str:
    return _("because you follow %(name)s", name=name)


def tag_reason(label: str) -> str:
    return _("because you follow the tag %(label)s", label=label)


async def followed_personas(db: AsyncSession, user: User) -> dict[int, str]:
    return dict((await db.execute(select(Persona.id, Persona.name).join(
        PersonaFollow, PersonaFollow.persona_id == Persona.id).where(PersonaFollow.user_id == user.id))).all())


async def room_entries(db: AsyncSession, user: User, personas: dict[int, str]) -> list[Entry]:
    """Communities and challenges for the person, with their reasons."""
    if user.is_guest or not user.is_active:
        return []
    my_tags = dict((await db.execute(select(Tag.id, Tag.label).join(UserInterest, UserInterest.tag_id == Tag.id)
                                     .where(UserInterest.user_id == user.id))).all())
    persona_tags: dict[int, list[int]] = {}
    persona_rooms: dict[int, list[int]] = {}
    if personas:
        for persona_id, tag_id in (await db.execute(select(PersonaTag.persona_id, PersonaTag.tag_id)
                                                    .where(PersonaTag.persona_id.in_(personas)))).all():
            persona_tags.setdefault(tag_id, []).append(persona_id)
        for persona_id, room_id in (await db.execute(select(PersonaRoom.persona_id, PersonaRoom.room_id)
                                                     .where(PersonaRoom.persona_id.in_(personas)))).all():
            persona_rooms.setdefault(room_id, []).append(persona_id)
    tag_ids = set(my_tags) | set(persona_tags)
    tagged: dict[int, list[int]] = {}
    if tag_ids:
        for room_id, tag_id in (await db.execute(select(RoomTag.room_id, RoomTag.tag_id)
                                                 .where(RoomTag.tag_id.in_(tag_ids)))).all():
            tagged.setdefault(room_id, []).append(tag_id)
    candidates = set(tagged) | set(persona_rooms)
    if not candidates:
        return []
    rows = (await db.execute(
        select(Room, Membership)
        .outerjoin(Membership, and_(Membership.room_id == Room.id, Membership.user_id == user.id))
        .where(Room.id.in_(candidates), Room.phase.in_(ROOM_PHASES)))).all()
    asked = set((await db.execute(select(JoinRequest.room_id).where(
        JoinRequest.user_id == user.id, JoinRequest.room_id.in_(candidates), JoinRequest.state == "pending"))).scalars())
    entries = []
    for room, membership in rows:
        access = RoomAccess(room, user, membership)
        if not (access.can_join or access.can_ask and room.id not in asked):
            continue  # theirs already (or asked for), or not open to them
        entry = Entry(room.kind, room_json(room, membership, moderator=False),
                      sort_key=(room.created_at, room.id))
        for persona_id in sorted(persona_rooms.get(room.id, []), key=lambda i: personas[i]):
            entry.because(persona_reason(personas[persona_id]))
        for tag_id in sorted(tagged.get(room.id, []), key=lambda i: my_tags.get(i, "")):
            for persona_id in sorted(persona_tags.get(tag_id, []), key=lambda i: personas[i]):
                entry.because(persona_reason(personas[persona_id]))
            if tag_id in my_tags:
                entry.because(tag_reason(my_tags[tag_id]))
        entries.append(entry)
    return entries


def ranked(entries: list[Entry]) -> list[Entry]:
    by_newest = sorted(entries, key=lambda e: e.sort_key, reverse=True)
    return sorted(by_newest, key=lambda e: len(e.reasons), reverse=True)[:LIMIT]


async def pulse_entries(db: AsyncSession, secret: str, user: User, personas: dict[int, str]) -> list[Entry]:
    """Open pulses sent to the followers of a persona the person follows."""
    if not personas:
        return []
    rows = (await db.execute(select(Pulse, PulseTarget.persona_id).join(PulseTarget, PulseTarget.pulse_id == Pulse.id)
                             .where(PulseTarget.persona_id.in_(personas), Pulse.closed_at.is_(None)))).all()
    entries: dict[int, Entry] = {}
    for pulse, persona_id in rows:
        if not is_open(pulse) or persona_id is None:
            continue
        if pulse.id not in entries:
            entries[pulse.id] = Entry("pulse", await pulse_json(db, secret, pulse, user),
                                      sort_key=(pulse.created_at, pulse.id))
        entries[pulse.id].because(persona_reason(personas[persona_id]))
    return list(entries.values())


async def for_you(db: AsyncSession, secret: str, user: User) -> list[Entry]:
    """Pulses first (they wait for an answer), then communities and challenges."""
    personas = await followed_personas(db, user)
    pulses = sorted(await pulse_entries(db, secret, user, personas), key=lambda e: e.sort_key, reverse=True)
    return (pulses + ranked(await room_entries(db, user, personas)))[:LIMIT]
