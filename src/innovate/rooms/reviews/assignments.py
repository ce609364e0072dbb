"""Assigning ideas to reviewers, by hand or automatically.

Automatic assignment gives every idea of the room (not merged, not hidden) ``per_idea``
reviewers, counting the ones it already has; never its author nor the author of an idea
merged into it, and optionally nobody from the same e-mail domain as one of them. Loads
stay balanced: ideas with the fewest possible reviewers are served first, each by the
least loaded reviewers it may have, so with no conflicts the loads differ by at most one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit, kinds
from innovate.accounts.models import User
from innovate.db import insert_for, utcnow
from innovate.errors import Invalid
from innovate.i18n import gettext as _
from innovate.i18n import ngettext
from innovate.inputs import Input, bool_field, id_field, int_field
from innovate.resources import Resources
from innovate.rooms.events import append_event
from innovate.rooms.models import Idea, Membership
from innovate.rooms.reviews.models import Assignment, Reviewer
from innovate.rooms.reviews.queries import deadline_of, pending_count, settings_of
from innovate.rooms.reviews.service import moderated_room
from innovate.writes import write

MAX_PER_IDEA = 20
MAX_PAIRS = 1000


def domain_of(email: str | None) -> str | None:
    return email.rpartition("@")[2].lower() if email and "@" in email else None


@dataclass(frozen=True)
class Candidate:
    """An idea waiting for reviewers: who it has, and who may never review it."""

    idea_id: int
    has: frozenset[int]
    barred: frozenset[int]


def balance(ideas: Iterable[Candidate], reviewers: Iterable[int], per_idea: int,
            loads: dict[int, int]) -> list[tuple[int, int]]:
    """New (idea, reviewer) pairs so each idea has ``per_idea`` reviewers. ``loads``: each
    reviewer's current number of ideas (updated in place). Raises ``Invalid`` naming
    ``auto.per_idea`` when an idea cannot get enough reviewers."""
    panel = sorted(set(reviewers))
    for reviewer in panel:
        loads.setdefault(reviewer, 0)
    waiting = [c for c in ideas if len(c.has) < per_idea]
    # The most constrained first: their few possible reviewers are still free.
    waiting.sort(key=lambda c: (sum(1 for r in panel if r not in c.barred), c.idea_id))
    pairs: list[tuple[int, int]] = []
    for candidate in waiting:
        possible = [r for r in panel if r not in candidate.barred and r not in candidate.has]
        needed = per_idea - len(candidate.has)
        if len(possible) < needed:
            raise Invalid.field("auto.per_idea", ngettext(
                "idea %(idea)s can have only %(num)d reviewer (authors and conflicts left out)",
                "idea %(idea)s can have only %(num)d reviewers (authors and conflicts left out)",
                len(possible) + len(candidate.has), idea=candidate.idea_id))
        for reviewer in sorted(possible, key=lambda r: (loads[r], r))[:needed]:
            loads[reviewer] += 1
            pairs.append((candidate.idea_id, reviewer))
    return pairs


@dataclass(frozen=True)
class Assigned:
    created: int
    loads: dict[int, int]


async def _panel(db: AsyncSession, room_id: int) -> dict[int, User]:
    """The room's reviewers who are still active members of it."""
    rows = await db.execute(select(User).join(Reviewer, Reviewer.user_id == User.id).join(
        Membership, (Membership.user_id == User.id) & (Membership.room_id == room_id)).where(
        Reviewer.room_id == room_id, Membership.state == "active", User.is_active.is_(True)))
    return {u.id: u for u in rows.scalars()}


async def _conflicts(db: AsyncSession, room_id: int, panel: dict[int, User], same_domain: bool) -> dict[int, set[int]]:
    """Per reviewable idea, the reviewers it may never have: its authors (its own and those
    of the ideas merged into it) and, when asked, reviewers sharing an author's domain."""
    ideas = (await db.execute(select(Idea.id, Idea.author_id, Idea.merged_into_id, Idea.status, Idea.state)
                              .where(Idea.room_id == room_id))).all()
    authors: dict[int, set[int]] = defaultdict(set)
    reviewable: set[int] = set()
    for idea_id, author_id, merged_into, status, state in ideas:
        if status != "merged" and state == "visible":
            reviewable.add(idea_id)
        target = merged_into if status == "merged" and merged_into else idea_id
        if author_id is not None:
            authors[target].add(author_id)
    domains: dict[int, str | None] = {}
    if same_domain:
        everyone = {a for group in authors.values() for a in group}
        domains = {u: domain_of(e) for u, e in (await db.execute(
            select(User.id, User.email).where(User.id.in_(everyone)))).all()} if everyone else {}
    barred: dict[int, set[int]] = {}
    for idea_id in reviewable:
        out = set(authors.get(idea_id, set()))
        if same_domain:
            author_domains = {domains.get(a) for a in out} - {None}
            out |= {r for r, user in panel.items() if domain_of(user.email) in author_domains}
        barred[idea_id] = out
    return barred


def _pairs(data: Input) -> list[tuple[int, int]]:
    raw = data.get("pairs")
    if not isinstance(raw, list) or not raw:
        raise Invalid.field("pairs", _('expected a list of {"idea_id", "reviewer_id"} (or "auto")'))
    if len(raw) > MAX_PAIRS:
        raise Invalid.field("pairs", _("at most %(max)s pairs at a time", max=MAX_PAIRS))
    pairs = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise Invalid.field(f"pairs.{index}", _("expected an object"))
        try:
            pairs.append((id_field(item, "idea_id") or 0, id_field(item, "reviewer_id") or 0))
        except Invalid as exc:
            field, why = next(iter((exc.fields or {}).items()))
            raise Invalid.field(f"pairs.{index}.{field}", why) from None
    return pairs


async def assign(resources: Resources, actor: User, slug: str, data: Input) -> Assigned:
    """``{"auto": {"per_idea": 3, "exclude_same_domain": false}}`` or ``{"pairs": [{"idea_id",
    "reviewer_id"}, ...]}``. Assignments already made stay; each reviewer who got new ideas
    is told (their queue updates live, and a notification says how many are waiting)."""
    auto = data.get("auto")
    if auto is not None:
        if not isinstance(auto, dict):
            raise Invalid.field("auto", _('expected an object such as {"per_idea": 3}'))
        try:
            per_idea = int_field(auto, "per_idea", minimum=1, maximum=MAX_PER_IDEA) or 1
            same_domain = bool_field(auto, "exclude_same_domain")
        except Invalid as exc:
            field, why = next(iter((exc.fields or {}).items()))
            raise Invalid.field(f"auto.{field}", why) from None
    else:
        wanted = _pairs(data)
    async with write(resources) as (db, outbox):
        access = await moderated_room(db, actor, slug)
        room = access.room
        panel = await _panel(db, room.id)
        existing: dict[int, set[int]] = defaultdict(set)
        for idea_id, reviewer_id in (await db.execute(select(Assignment.idea_id, Assignment.reviewer_id).where(
                Assignment.room_id == room.id))).all():
            existing[idea_id].add(reviewer_id)
        loads = dict((await db.execute(select(Assignment.reviewer_id, func.count()).where(
            Assignment.room_id == room.id).group_by(Assignment.reviewer_id))).all())
        if auto is not None:
            if not panel:
                raise Invalid.field("auto", _("add reviewers to the room first"))
            barred = await _conflicts(db, room.id, panel, same_domain)
            candidates = [Candidate(i, frozenset(existing[i] & set(panel)), frozenset(b)) for i, b in barred.items()]
            pairs = balance(candidates, panel, per_idea, loads)
        else:
            barred = await _conflicts(db, room.id, panel, False)
            for index, (idea_id, reviewer_id) in enumerate(wanted):
                if idea_id not in barred:
                    raise Invalid.field(f"pairs.{index}.idea_id", _("no such idea to review in this room"))
                if reviewer_id not in panel:
                    raise Invalid.field(f"pairs.{index}.reviewer_id", _("not a reviewer of this room"))
                if reviewer_id in barred[idea_id]:
                    raise Invalid.field(f"pairs.{index}.reviewer_id", _("an author of this idea cannot review it"))
            pairs = sorted({p for p in wanted if p[1] not in existing[p[0]]})
            for _idea_id, reviewer_id in pairs:
                loads[reviewer_id] = loads.get(reviewer_id, 0) + 1
        now = utcnow()
        if pairs:
            await db.execute(insert_for(db, Assignment).on_conflict_do_nothing(
                index_elements=["idea_id", "reviewer_id"]), [
                {"room_id": room.id, "idea_id": i, "reviewer_id": r, "assigned_by_id": actor.id, "created_at": now}
                for i, r in pairs])
        await _tell_reviewers(db, outbox, room, actor, pairs)
        await audit.record(db, actor.id, audit.REVIEW_ASSIGNED, room_id=room.id, target_kind="room",
                           target_id=room.id, data={"auto": auto is not None, "created": len(pairs),
                                                    **({"per_idea": per_idea} if auto is not None else {})})
    return Assigned(created=len(pairs), loads={r: int(n) for r, n in loads.items()})


async def _tell_reviewers(db: AsyncSession, outbox: Any, room: Any, actor: User, pairs: list[tuple[int, int]]) -> None:
    per_reviewer: dict[int, list[int]] = defaultdict(list)
    for idea_id, reviewer_id in pairs:
        per_reviewer[reviewer_id].append(idea_id)
    deadline = deadline_of(await settings_of(db, room.id), room)
    for reviewer_id, idea_ids in sorted(per_reviewer.items()):
        await append_event(db, outbox, room.id, kinds.REVIEW_ASSIGNED, {
            "user_id": reviewer_id, "idea_ids": sorted(idea_ids), "pending": await pending_count(db, room.id, reviewer_id),
            "deadline": deadline.isoformat() if deadline else None}, audience=f"user:{reviewer_id}", actor_id=actor.id)
