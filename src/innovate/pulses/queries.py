"""What people see of pulses: the ones addressed to them, each as JSON with its results where
they may see them; the sender's live results; and the insights (response rates per persona and
per community, repeated questions over time). Results never say who answered what."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.errors import NotFound
from innovate.i18n import lazy_gettext
from innovate.personas.models import Persona, PersonaFollow
from innovate.pulses.models import Pulse, PulseAnswer, PulseParticipation, PulseTarget
from innovate.pulses.service import has_answered, is_open, may_see_results, reached_through
from innovate.rooms.models import Membership, Room

HOME_LIMIT = 10


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def targets_of(db: AsyncSession, pulse_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in pulse_ids}
    if pulse_ids:
        rows = await db.execute(
            select(PulseTarget, Persona.name, Room.title, Room.slug)
            .outerjoin(Persona, Persona.id == PulseTarget.persona_id).outerjoin(Room, Room.id == PulseTarget.room_id)
            .where(PulseTarget.pulse_id.in_(pulse_ids)).order_by(PulseTarget.id))
        for target, persona_name, room_title, room_slug in rows.all():
            if target.persona_id is not None:
                item = {"id": target.id, "type": "persona", "persona_id": target.persona_id, "name": persona_name}
            else:
                item = {"id": target.id, "type": "community", "slug": room_slug, "name": room_title}
            found[target.pulse_id].append({**item, "audience": target.audience_size})
    return found


async def results(db: AsyncSession, pulse: Pulse) -> dict[str, Any]:
    """Counts, the distribution and the comments; per target, how many of its people answered.
    Anonymous answers are read in the order of their random keys, which is no order at all."""
    rows = (await db.execute(select(PulseAnswer.value, PulseAnswer.comment, User.name)
                             .outerjoin(User, User.id == PulseAnswer.user_id)
                             .where(PulseAnswer.pulse_id == pulse.id).order_by(PulseAnswer.key))).all()
    values = [v for v, _, _ in rows if v is not None]
    counts = Counter(values)
    distribution: list[dict[str, Any]]
    if pulse.question_kind == "scale":
        distribution = [{"label": str(i), "value": i, "count": counts[i]} for i in range(1, 6)]
    elif pulse.question_kind == "yesno":
        distribution = [{"label": "Yes", "value": 1, "count": counts[1]}, {"label": "No", "value": 0, "count": counts[0]}]
    elif pulse.question_kind == "choice":
        distribution = [{"label": c, "value": i, "count": counts[i]} for i, c in enumerate(pulse.choices)]
    else:
        distribution = []
    participation = list((await db.execute(select(PulseParticipation.targets).where(
        PulseParticipation.pulse_id == pulse.id))).scalars())
    per_target = Counter(t for targets in participation for t in targets)
    targets = (await targets_of(db, [pulse.id]))[pulse.id]
    answered = len(rows)
    return {
        "answers": answered,
        "audience": pulse.audience_size,
        "response_rate": round(answered / pulse.audience_size, 4) if pulse.audience_size else None,
        "mean": round(sum(values) / len(values), 2) if values and pulse.question_kind == "scale" else None,
        "distribution": distribution,
        "comments": [{"text": c, "by": None if pulse.anonymous else name} for _, c, name in rows if c],
        "targets": [{**t, "answered": per_target[t["id"]],
                     "response_rate": round(per_target[t["id"]] / t["audience"], 4) if t["audience"] else None}
                    for t in targets],
    }


async def pulse_json(db: AsyncSession, secret: str, pulse: Pulse, viewer: User, *, answered: bool | None = None,
                     targets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    author = await db.get(User, pulse.author_id) if pulse.author_id is not None else None
    if answered is None:
        answered = await has_answered(db, secret, pulse, viewer)
    hr = await may_see_results(db, pulse, viewer)
    data: dict[str, Any] = {
        "id": pulse.id, "author": {"id": author.id, "name": author.name} if author else None,
        "body": pulse.body, "body_html": pulse.body_html,
        "question": {"kind": pulse.question_kind, "text": pulse.question, "choices": pulse.choices},
        "allow_comment": pulse.allow_comment, "anonymous": pulse.anonymous,
        "results_to_audience": pulse.results_to_audience, "audience": pulse.audience,
        "targets": targets if targets is not None else (await targets_of(db, [pulse.id]))[pulse.id],
        "created_at": _iso(pulse.created_at), "closes_at": _iso(pulse.closes_at), "closed_at": _iso(pulse.closed_at),
        "open": is_open(pulse), "answered": answered, "can_answer": pulse.question_kind != "none" or pulse.allow_comment,
        "for_me": await reached_through(db, pulse, viewer) is not None,
        "results": None,
    }
    if hr or (answered and pulse.results_to_audience):
        data["results"] = await results(db, pulse)
    return data


async def visible_pulse(db: AsyncSession, user: User, pulse_id: int) -> Pulse:
    """A pulse the caller was sent (or, for HR, any pulse); 404 otherwise."""
    pulse = await db.get(Pulse, pulse_id)
    if pulse is None or not (await may_see_results(db, pulse, user)
                             or await reached_through(db, pulse, user) is not None):
        raise NotFound(lazy_gettext("No such pulse."))
    return pulse


async def pulses_for(db: AsyncSession, secret: str, user: User, *, open_only: bool = True) -> list[dict[str, Any]]:
    """The pulses sent to ``user`` (all employees, a persona they follow, a community they are
    in), newest first."""
    if user.is_guest or not user.is_active:
        return []
    followed = select(PersonaFollow.persona_id).where(PersonaFollow.user_id == user.id)
    mine = select(Membership.room_id).where(Membership.user_id == user.id, Membership.state == "active")
    reached = select(PulseTarget.pulse_id).where(or_(PulseTarget.persona_id.in_(followed),
                                                     PulseTarget.room_id.in_(mine)))
    stmt = (select(Pulse).where(or_(Pulse.audience == "all", Pulse.id.in_(reached)))
            .order_by(Pulse.created_at.desc(), Pulse.id.desc()).limit(HOME_LIMIT * 3))
    found = [p for p in (await db.execute(stmt)).scalars() if not open_only or is_open(p)][:HOME_LIMIT]
    targets = await targets_of(db, [p.id for p in found])
    return [await pulse_json(db, secret, p, user, targets=targets[p.id]) for p in found]


async def sent_pulses(db: AsyncSession, secret: str, user: User) -> list[dict[str, Any]]:
    """Every pulse, newest first, for HR."""
    found = list((await db.execute(select(Pulse).order_by(Pulse.created_at.desc(), Pulse.id.desc()).limit(200))).scalars())
    targets = await targets_of(db, [p.id for p in found])
    return [await pulse_json(db, secret, p, user, answered=False, targets=targets[p.id]) for p in found]


async def insights(db: AsyncSession) -> dict[str, Any]:
    """Response rates per persona and per community (over the pulses sent to them), and the
    results over time of questions asked more than once (same kind, same words)."""
    pulses = list((await db.execute(select(Pulse).order_by(Pulse.created_at, Pulse.id))).scalars())
    ids = [p.id for p in pulses]
    targets = await targets_of(db, ids)
    participation: Counter[int] = Counter()
    if ids:
        for row in (await db.execute(select(PulseParticipation.targets).where(
                PulseParticipation.pulse_id.in_(ids)))).scalars():
            participation.update(row)
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for pulse in pulses:
        for t in targets[pulse.id]:
            key = (t["type"], str(t.get("persona_id") or t.get("slug")))
            group = groups.setdefault(key, {"type": t["type"], "name": t["name"], "pulses": 0, "audience": 0,
                                            "answered": 0})
            group["pulses"] += 1
            group["audience"] += t["audience"]
            group["answered"] += participation[t["id"]]
    rates = [{**g, "response_rate": round(g["answered"] / g["audience"], 4) if g["audience"] else None}
             for g in sorted(groups.values(), key=lambda g: (g["type"], g["name"] or ""))]
    asked: dict[tuple[str, str], list[Pulse]] = {}
    for pulse in pulses:
        if pulse.question_kind != "none":
            asked.setdefault((pulse.question_kind, " ".join(pulse.question.lower().split())), []).append(pulse)
    repeated = []
    for (kind, _), series in asked.items():
        if len(series) < 2:
            continue
        points = []
        for pulse in series:
            r = await results(db, pulse)
            points.append({"pulse_id": pulse.id, "sent_at": _iso(pulse.created_at), "answers": r["answers"],
                           "response_rate": r["response_rate"], "mean": r["mean"],
                           "distribution": r["distribution"]})
        repeated.append({"question": series[-1].question, "kind": kind, "series": points})
    return {"response_rates": rates, "repeated_questions": repeated}
