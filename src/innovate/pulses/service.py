"""The write path for pulses: HR sends one to an audience; its audience answers, once, and may
change the answer until it closes; the sender closes it. How an anonymous answer is kept apart
from its person: see ``pulses/models.py``."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit, kinds
from innovate.accounts.models import User
from innovate.db import affected, insert_for, utcnow
from innovate.errors import Conflict, Forbidden, Invalid, NotFound
from innovate.i18n import lazy_gettext
from innovate.inputs import Input, bool_field, choice_field, datetime_field, text_field
from innovate.kinds import Category
from innovate.markdown import render
from innovate.notifications.service import tell
from innovate.personas.models import Persona, PersonaFollow
from innovate.personas.service import is_curator, require_curator
from innovate.pulses.models import AUDIENCES, QUESTION_KINDS, Pulse, PulseAnswer, PulseParticipation, PulseTarget
from innovate.resources import Resources
from innovate.rooms.models import Membership, Room
from innovate.writes import to_user, write

BODY_MAX = 5000
QUESTION_MAX = 300
CHOICE_MAX = 100
MAX_CHOICES = 6
COMMENT_MAX = 1000
MAX_TARGETS = 20


# Who is in a pulse's audience ---------------------------------------------------------------------


def _employees() -> Any:
    return select(User.id).where(User.is_active.is_(True), User.kind == "employee")


async def audience_of(db: AsyncSession, audience: str, persona_ids: list[int], room_ids: list[int]) -> dict[int | None, set[int]]:
    """The people each target reaches (key None: everyone, for ``all``): active employees."""
    if audience == "all":
        return {None: set((await db.execute(_employees())).scalars())}
    reached: dict[int | None, set[int]] = {}
    if audience == "personas":
        rows = await db.execute(select(PersonaFollow.persona_id, PersonaFollow.user_id).where(
            PersonaFollow.persona_id.in_(persona_ids), PersonaFollow.user_id.in_(_employees())))
    else:
        rows = await db.execute(select(Membership.room_id, Membership.user_id).where(
            Membership.room_id.in_(room_ids), Membership.state == "active", Membership.user_id.in_(_employees())))
    for target, user_id in rows.all():
        reached.setdefault(target, set()).add(user_id)
    return reached


async def reached_through(db: AsyncSession, pulse: Pulse, user: User) -> list[int] | None:
    """The pulse's targets that reach ``user`` now (their ids; ``[]`` for an all-employees
    pulse), or None when the pulse is not for them."""
    if not user.is_active or user.is_guest:
        return None
    if pulse.audience == "all":
        return []
    targets = list((await db.execute(select(PulseTarget).where(PulseTarget.pulse_id == pulse.id))).scalars())
    if pulse.audience == "personas":
        followed = set((await db.execute(select(PersonaFollow.persona_id).where(
            PersonaFollow.user_id == user.id))).scalars())
        found = [t.id for t in targets if t.persona_id in followed]
    else:
        rooms = set((await db.execute(select(Membership.room_id).where(
            Membership.user_id == user.id, Membership.state == "active"))).scalars())
        found = [t.id for t in targets if t.room_id in rooms]
    return found or None


def is_open(pulse: Pulse, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return pulse.closed_at is None and (pulse.closes_at is None or pulse.closes_at > now)


# Sending -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    kind: str
    text: str
    choices: list[str]


def _question(data: Input) -> Question:
    kind = choice_field(data, "question_kind", QUESTION_KINDS, default="none")
    if kind == "none":
        return Question("none", "", [])
    text = text_field(data, "question", max_length=QUESTION_MAX) or ""
    choices: list[str] = []
    if kind == "choice":
        raw = data.get("choices")
        items = [line for line in raw.splitlines()] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise Invalid.field("choices", lazy_gettext("expected a list of choices"))
        choices = [" ".join(i.split()) for i in items if i.strip()]
        if not 2 <= len(choices) <= MAX_CHOICES:
            raise Invalid.field("choices", lazy_gettext("give from 2 to %(max)d choices", max=MAX_CHOICES))
        if any(len(c) > CHOICE_MAX for c in choices):
            raise Invalid.field("choices", lazy_gettext("each choice is at most %(max)d characters", max=CHOICE_MAX))
        if len(set(c.lower() for c in choices)) != len(choices):
            raise Invalid.field("choices", lazy_gettext("each choice once"))
    return Question(kind, text, choices)


def _ids(data: Input, name: str) -> list[Any]:
    raw = data.get(name)
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        raise Invalid.field(name, lazy_gettext("choose at least one"))
    if len(items) > MAX_TARGETS:
        raise Invalid.field(name, lazy_gettext("at most %(max)d", max=MAX_TARGETS))
    return [i.strip() if isinstance(i, str) else i for i in items]


async def send_pulse(resources: Resources, actor: User, data: Input) -> Pulse:
    body = text_field(data, "body", max_length=BODY_MAX, multiline=True) or ""
    question = _question(data)
    allow_comment = bool_field(data, "allow_comment")
    anonymous = bool_field(data, "anonymous", default=True)
    results_to_audience = bool_field(data, "results_to_audience", default=True)
    audience = choice_field(data, "audience", AUDIENCES, default="all")
    closes_at = datetime_field(data, "closes_at")
    if closes_at is not None and closes_at <= utcnow():
        raise Invalid.field("closes_at", lazy_gettext("must be in the future"))
    async with write(resources) as (db, outbox):
        await require_curator(db, actor)
        persona_ids: list[int] = []
        room_ids: list[int] = []
        if audience == "personas":
            wanted = _ids(data, "personas")
            found = dict((await db.execute(select(Persona.id, Persona.name).where(Persona.id.in_(
                [int(i) for i in wanted if isinstance(i, int) or (isinstance(i, str) and i.isdigit())])))).all())
            if len(found) != len(set(map(str, wanted))):
                raise Invalid.field("personas", lazy_gettext("unknown persona"))
            persona_ids = sorted(found)
        elif audience == "communities":
            slugs = [str(s).lower() for s in _ids(data, "communities")]
            by_slug: dict[str, int] = dict((await db.execute(select(Room.slug, Room.id).where(
                Room.slug.in_(slugs), Room.kind == "community", Room.phase != "archived"))).all())
            missing = [s for s in slugs if s not in by_slug]
            if missing:
                raise Invalid.field("communities", lazy_gettext("no such community: %(slugs)s", slugs=", ".join(missing)))
            room_ids = sorted(set(by_slug.values()))
        reached = await audience_of(db, audience, persona_ids, room_ids)
        everyone = set().union(*reached.values()) if reached else set()
        pulse = Pulse(author_id=actor.id, body=body, body_html=render(body), question_kind=question.kind,
                      question=question.text, choices=question.choices, allow_comment=allow_comment,
                      anonymous=anonymous, results_to_audience=results_to_audience, audience=audience,
                      audience_size=len(everyone), closes_at=closes_at)
        db.add(pulse)
        await db.flush()
        for persona_id in persona_ids:
            db.add(PulseTarget(pulse_id=pulse.id, persona_id=persona_id, audience_size=len(reached.get(persona_id, ()))))
        for room_id in room_ids:
            db.add(PulseTarget(pulse_id=pulse.id, room_id=room_id, audience_size=len(reached.get(room_id, ()))))
        await db.flush()
        await audit.record(db, actor.id, audit.PULSE_SENT, target_kind="pulse", target_id=pulse.id,
                           data={"audience": audience, "personas": persona_ids, "rooms": room_ids,
                                 "anonymous": anonymous, "audience_size": pulse.audience_size})
        title = question.text or " ".join(body.split())[:200]
        await tell(db, outbox, resources.settings, everyone, kind="pulse", category=Category.PULSES,
                   thread=f"pulse:{pulse.id}", title=title, path=f"/pulses/{pulse.id}", actor_id=actor.id,
                   data={"question": question.kind != "none"})
        for user_id in sorted(everyone):
            to_user(outbox, user_id, {"kind": kinds.PULSE_SENT.name, "data": {"pulse_id": pulse.id}})
    return pulse


async def close_pulse(resources: Resources, actor: User, pulse_id: int) -> Pulse:
    async with write(resources) as (db, outbox):
        pulse = await db.get(Pulse, pulse_id)
        if pulse is None or not await may_see_results(db, pulse, actor):
            raise NotFound(lazy_gettext("No such pulse."))
        if pulse.author_id != actor.id and not actor.is_admin:
            raise Forbidden(lazy_gettext("Only the pulse's sender (or an administrator) may close it."))
        if pulse.closed_at is None:
            pulse.closed_at = utcnow()
            await db.flush()
            await audit.record(db, actor.id, audit.PULSE_CLOSED, target_kind="pulse", target_id=pulse.id)
            if pulse.author_id is not None:
                to_user(outbox, pulse.author_id, {"kind": kinds.PULSE_RESULTS.name, "data": {"pulse_id": pulse.id}})
    return pulse


async def may_see_results(db: AsyncSession, pulse: Pulse, user: User) -> bool:
    """HR (the sender, other curators, admins) always: the results, never who answered what."""
    return pulse.author_id == user.id or await is_curator(db, user)


# Answering ---------------------------------------------------------------------------------------


def participant_key(secret: str, pulse_id: int, user_id: int) -> str:
    """The keyed hash that stands for "this person answered this pulse" (see models.py)."""
    return hmac.new(secret.encode(), f"innovate.pulse:{pulse_id}:user:{user_id}".encode(), hashlib.sha256).hexdigest()


def receipt_key(receipt: str) -> str:
    return hashlib.sha256(f"innovate.pulse.receipt:{receipt}".encode()).hexdigest()


@dataclass(frozen=True)
class Answered:
    pulse: Pulse
    receipt: str | None      # a new anonymous answer's receipt: shown (and set as a cookie) once
    changed: bool


def _answer_values(pulse: Pulse, data: Input) -> tuple[int | None, str | None]:
    value: int | None = None
    raw = data.get("value")
    if pulse.question_kind == "scale":
        if isinstance(raw, bool) or not (isinstance(raw, int) or isinstance(raw, str) and raw.isdigit()) \
                or not 1 <= int(raw) <= 5:
            raise Invalid.field("value", lazy_gettext("choose from 1 to 5"))
        value = int(raw)
    elif pulse.question_kind == "yesno":
        if raw in (True, "yes", "true"):
            value = 1
        elif raw in (False, "no", "false"):
            value = 0
        else:
            raise Invalid.field("value", lazy_gettext("answer yes or no"))
    elif pulse.question_kind == "choice":
        if isinstance(raw, bool) or not (isinstance(raw, int) or isinstance(raw, str) and raw.isdigit()) \
                or not 0 <= int(raw) < len(pulse.choices):
            raise Invalid.field("value", lazy_gettext("choose one of the %(count)d choices (0 to %(last)d)",
                                                          count=len(pulse.choices), last=len(pulse.choices) - 1))
        value = int(raw)
    elif raw not in (None, ""):
        raise Invalid.field("value", lazy_gettext("this pulse asks no question"))
    comment = None
    if data.get("comment") not in (None, ""):
        if not pulse.allow_comment:
            raise Invalid.field("comment", lazy_gettext("this pulse takes no comments"))
        comment = text_field(data, "comment", max_length=COMMENT_MAX, multiline=True)
    if value is None and comment is None:
        raise Invalid.field("comment" if pulse.question_kind == "none" else "value", lazy_gettext("give an answer"))
    return value, comment


async def _open_pulse_for(db: AsyncSession, user: User, pulse_id: int) -> tuple[Pulse, list[int]]:
    pulse = await db.get(Pulse, pulse_id)
    targets = await reached_through(db, pulse, user) if pulse is not None else None
    if pulse is None or targets is None:
        raise NotFound(lazy_gettext("No such pulse."))
    if pulse.question_kind == "none" and not pulse.allow_comment:
        raise Conflict(lazy_gettext("This pulse asks nothing to answer."))
    if not is_open(pulse):
        raise Conflict(lazy_gettext("This pulse is closed: answers can no longer change."))
    return pulse, targets


async def answer(resources: Resources, user: User, pulse_id: int, data: Input, *, receipt: str | None) -> Answered:
    """Answer once; change the answer until the pulse closes (anonymous: with the receipt)."""
    async with resources.db() as db:
        pulse, targets = await _open_pulse_for(db, user, pulse_id)
    value, comment = _answer_values(pulse, data)
    who = participant_key(resources.settings.secret_key, pulse.id, user.id)
    if not pulse.anonymous:
        async with write(resources) as (db, outbox):
            await db.execute(insert_for(db, PulseParticipation).values(pulse_id=pulse.id, who=who, targets=targets)
                             .on_conflict_do_nothing(index_elements=["pulse_id", "who"]))
            changed = affected(await db.execute(update(PulseAnswer).where(
                PulseAnswer.pulse_id == pulse.id, PulseAnswer.user_id == user.id).values(value=value, comment=comment)))
            if not changed:
                db.add(PulseAnswer(key=secrets.token_hex(32), pulse_id=pulse.id, user_id=user.id, value=value,
                                   comment=comment))
            _results_changed(outbox, pulse)
        return Answered(pulse, None, bool(changed))
    if receipt:
        async with write(resources) as (db, outbox):
            changed = affected(await db.execute(update(PulseAnswer).where(
                PulseAnswer.key == receipt_key(receipt), PulseAnswer.pulse_id == pulse.id,
                PulseAnswer.user_id.is_(None)).values(value=value, comment=comment)))
            if changed:
                _results_changed(outbox, pulse)
        if changed:
            return Answered(pulse, None, True)
    # A first anonymous answer: the participation, then (in a transaction of its own) the answer.
    async with resources.db.begin() as db:
        took = affected(await db.execute(insert_for(db, PulseParticipation).values(
            pulse_id=pulse.id, who=who, targets=targets).on_conflict_do_nothing(index_elements=["pulse_id", "who"])))
    if not took:
        raise Conflict(lazy_gettext("You answered this pulse already. Answers are anonymous, so yours can be changed only "
                                    "from the browser you answered with (or with its receipt)."),
                       fields={"receipt": lazy_gettext("the receipt of your answer is needed to change it")})
    new_receipt = secrets.token_urlsafe(32)
    try:
        async with write(resources) as (db, outbox):
            db.add(PulseAnswer(key=receipt_key(new_receipt), pulse_id=pulse.id, user_id=None, value=value,
                               comment=comment))
            _results_changed(outbox, pulse)
    except BaseException:
        async with resources.db.begin() as db:  # no answer stored: the person may answer again
            await db.execute(delete(PulseParticipation).where(PulseParticipation.pulse_id == pulse.id,
                                                              PulseParticipation.who == who))
        raise
    return Answered(pulse, new_receipt, False)


def _results_changed(outbox: Any, pulse: Pulse) -> None:
    """The sender's results follow live: a signal with the pulse's id only, nothing of who."""
    if pulse.author_id is not None:
        to_user(outbox, pulse.author_id, {"kind": kinds.PULSE_RESULTS.name, "data": {"pulse_id": pulse.id}})


async def has_answered(db: AsyncSession, secret: str, pulse: Pulse, user: User) -> bool:
    who = participant_key(secret, pulse.id, user.id)
    found = await db.execute(select(PulseParticipation.who).where(PulseParticipation.pulse_id == pulse.id,
                                                                  PulseParticipation.who == who))
    return found.first() is not None
