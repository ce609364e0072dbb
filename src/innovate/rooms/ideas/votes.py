"""Votes: one per member and idea (a unique key), idempotent, with budgets that hold under
concurrency.

A member's votes in a room serialize on their membership row (``SELECT … FOR UPDATE`` on
PostgreSQL, the write lock on SQLite); the budget is a conditional UPDATE on that row and
tallies are atomic increments, so parallel requests can neither overspend nor miscount.
Votes publish a coalesced ``tally`` signal instead of a stored event: tallies are state;
and a ``my_vote`` signal, so the voter's other tabs show their own vote and dots left.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, cast

from sqlalchemy import Integer, Select, String, Table, bindparam, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from innovate import kinds
from innovate.accounts import throttles
from innovate.accounts.models import User
from innovate.db import PerDialect, UTCDateTime, utcnow
from innovate.driver_statements import Driver, DriverStatement, ModelColumns
from innovate.errors import Conflict, Invalid, NotFound
from innovate.i18n import gettext as _
from innovate.resources import Resources
from innovate.rooms import ratelimits, rules
from innovate.rooms.access import (
    RoomAccess,
    caller_membership,
    require_participant,
    room_access_from,
)
from innovate.rooms.ideas.ranking import top_rank_sql
from innovate.rooms.models import VOTING_MODES, Idea, Membership, Room, Vote
from innovate.writes import Outbox, state_changed, write, write_one_statement


@dataclass(frozen=True)
class VoteResult:
    idea_id: int
    value: int | None  # the caller's vote now (None when retracted)
    budget_left: int | None
    # What the answer to the voter is made of, as the vote left it: no need to read it back.
    access: RoomAccess
    idea: Idea
    author: User | None


def check_value(room: Room, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        else:
            raise Invalid.field("value", _("expected a whole number"))
    if room.voting_mode == "updown" and value not in (1, -1):
        raise Invalid.field("value", _("expected 1 (up) or -1 (down)"))
    if room.voting_mode == "approve" and value != 1:
        raise Invalid.field("value", _("expected 1 (this room counts approvals)"))
    if room.voting_mode == "budget" and not 1 <= value <= (room.max_per_idea or room.budget or 1):
        raise Invalid.field("value", _("expected 1 to %(max)s dots", max=room.max_per_idea or room.budget))
    return value


def _votable(*columns: Any) -> Select[Any]:
    """The idea, its author, its room and the voter's membership in one query."""
    return (
        select(*columns).select_from(Idea).join(Room, Room.id == Idea.room_id)
        .outerjoin(User, User.id == Idea.author_id).outerjoin(Membership, caller_membership())
        .where(Idea.id == bindparam("idea_id"))
    )


# Built once: they run for every vote. On PostgreSQL the same query goes to the driver's
# connection, its row split into the four instances.
_VOTABLE = _votable(Idea, User, Room, Membership)
_VOTABLE_MODELS = ModelColumns(Idea, User, Room, Membership)
_VOTABLE_ROW = DriverStatement(_votable(*_VOTABLE_MODELS.columns))


async def _votable_idea(db: AsyncSession, actor: User, idea_id: int,
                        in_room: str | None) -> tuple[RoomAccess, Idea, User | None]:
    found = (await db.execute(_VOTABLE, {"idea_id": idea_id, "user_id": actor.id})).first()
    if found is None:
        raise NotFound(_("No such idea."))
    idea, author, room, membership = found
    return _check_votable(actor, idea, author, room, membership, in_room)


async def _votable_idea_row(driver: Driver, actor: User, idea_id: int,
                            in_room: str | None) -> tuple[RoomAccess, Idea, User | None]:
    found = await driver.row(_VOTABLE_ROW, {"idea_id": idea_id, "user_id": actor.id})
    if found is None:
        raise NotFound(_("No such idea."))
    idea, author, room, membership = _VOTABLE_MODELS.instances(found)
    return _check_votable(actor, idea, author, room, membership, in_room)


def _check_votable(actor: User, idea: Idea, author: User | None, room: Room, membership: Membership | None,
                   in_room: str | None) -> tuple[RoomAccess, Idea, User | None]:
    access = room_access_from(actor, room, membership)
    if idea.state == "hidden" and not access.can_moderate:
        raise NotFound(_("No such idea."))
    if in_room is not None and room.slug != in_room:
        raise NotFound(_("No such idea."))  # the page's room is not the idea's
    require_participant(access)
    rules.check_can_vote(access)
    if idea.status == "merged":
        raise Conflict(_("This idea was merged into another; vote there."))
    if idea.state == "hidden":
        raise Conflict(_("Hidden ideas cannot receive votes."))
    return access, idea, author


# The vote path runs these for every vote: Core statements on the tables, built once with
# bind parameters, so no ORM bookkeeping (bulk-update evaluation, a flush of the idea at
# commit) is paid per vote.
_ideas, _votes, _memberships = (cast(Table, model.__table__) for model in (Idea, Vote, Membership))

# A member's votes in a room serialize on their membership row, locked until commit.
_LOCK_MEMBERSHIP = (
    select(_memberships.c.votes_spent).where(_memberships.c.id == bindparam("membership_id")).with_for_update()
)
_OLD_VOTE = select(_votes.c.value).where(
    _votes.c.idea_id == bindparam("idea_id"), _votes.c.user_id == bindparam("user_id"))
_SPEND = (
    update(_memberships)
    .where(_memberships.c.id == bindparam("membership_id"),
           _memberships.c.votes_spent + bindparam("delta", type_=Integer) <= bindparam("budget", type_=Integer))
    .values(votes_spent=_memberships.c.votes_spent + bindparam("delta", type_=Integer))
    .returning(_memberships.c.votes_spent)
)
_REFUND = (
    update(_memberships).where(_memberships.c.id == bindparam("membership_id"))
    .values(votes_spent=_memberships.c.votes_spent - bindparam("refund", type_=Integer))
)
_RETRACT = delete(_votes).where(
    _votes.c.idea_id == bindparam("idea_id"), _votes.c.user_id == bindparam("user_id")).returning(_votes.c.value)


def _upsert(dialect: ModuleType) -> Any:
    stmt = dialect.insert(_votes).values(
        room_id=bindparam("room_id"), idea_id=bindparam("idea_id"), user_id=bindparam("user_id"),
        value=bindparam("value"), created_at=bindparam("now"), updated_at=bindparam("now"))
    return stmt.on_conflict_do_update(index_elements=["idea_id", "user_id"],
                                      set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at})


_UPSERT = PerDialect(_upsert)


async def _lock_membership(db: AsyncSession, membership_id: int) -> int:
    """Lock the caller's membership row; their dots spent in the room."""
    return int((await db.execute(_LOCK_MEMBERSHIP, {"membership_id": membership_id})).scalar_one())


def _contribution(mode: str, value: int) -> tuple[int, int]:
    """(up, down) that one vote adds: voters for up/down rooms, dots or approvals otherwise."""
    if mode == "updown":
        return (1 if value > 0 else 0, 1 if value < 0 else 0)
    return (max(value, 0), 0)


def _tally_update(mode: str) -> Any:
    up = _ideas.c.up + bindparam("d_up", type_=Integer)
    down = _ideas.c.down + bindparam("d_down", type_=Integer)
    score = _ideas.c.score + bindparam("d_score", type_=Integer)
    return (
        update(_ideas).where(_ideas.c.id == bindparam("idea_id"))
        .values(up=up, down=down, score=score, voters=_ideas.c.voters + bindparam("d_voters", type_=Integer),
                rank_top=top_rank_sql(mode, up, down, score))
        .returning(_ideas.c.up, _ideas.c.down, _ideas.c.score, _ideas.c.voters, _ideas.c.rank_top)
    )


# Built once per voting mode: the statement is large and runs for every vote.
_TALLY_UPDATES = {mode: _tally_update(mode) for mode in VOTING_MODES}
_TALLY_FIELDS = ("up", "down", "score", "voters", "rank_top")


async def apply_tally_delta(db: AsyncSession, room: Room, idea: Idea, old: int, new: int) -> None:
    """Move one member's contribution on ``idea`` from ``old`` to ``new`` (0 = no vote), and
    its rank with it, in one statement; ``idea`` takes the new figures (as loaded, not as
    changes to flush)."""
    (new_up, new_down), (old_up, old_down) = _contribution(room.voting_mode, new), _contribution(room.voting_mode, old)
    row = (await db.execute(_TALLY_UPDATES[room.voting_mode], {
        "idea_id": idea.id, "d_up": new_up - old_up, "d_down": new_down - old_down, "d_score": new - old,
        "d_voters": int(bool(new)) - int(bool(old)),
    })).one()
    for name, value in zip(_TALLY_FIELDS, row, strict=True):
        set_committed_value(idea, name, value)


# PostgreSQL: everything after the access checks in one round trip (migration 0012 holds the
# function; it runs the statements below in the same order, each with a fresh snapshot).
_CAST_IN_ONE = DriverStatement(text(
    "SELECT outcome, rate_used, spent_before, spent, old_value, new_up, new_down, new_score, new_voters, "
    "new_rank_top FROM innovate_cast_vote(:room_id, :idea_id, :user_id, :membership_id, :value, :mode, "
    "CAST(:budget AS integer), CAST(:rate_key AS text), CAST(:rate_limit AS integer), :rate_stamp, :rate_cutoff, "
    ":now)"
).bindparams(
    bindparam("room_id", type_=Integer()), bindparam("idea_id", type_=Integer()), bindparam("user_id", type_=Integer()),
    bindparam("membership_id", type_=Integer()), bindparam("value", type_=Integer()), bindparam("mode", type_=String()),
    bindparam("rate_stamp", type_=UTCDateTime()), bindparam("rate_cutoff", type_=UTCDateTime()),
    bindparam("now", type_=UTCDateTime()),
).columns(
    outcome=String(), rate_used=Integer(), spent_before=Integer(), spent=Integer(), old_value=Integer(),
    new_up=_ideas.c.up.type, new_down=_ideas.c.down.type, new_score=_ideas.c.score.type,
    new_voters=_ideas.c.voters.type, new_rank_top=_ideas.c.rank_top.type,
))


async def _vote_in_one(resources: Resources, driver: Driver, outbox: Outbox, access: RoomAccess, idea: Idea,
                       author: User | None, value: int) -> VoteResult:
    """Cast (``value``) or retract (0) on PostgreSQL: one statement instead of up to seven."""
    room, actor = access.room, access.user
    attempt = ratelimits.counted(resources.settings, access, ratelimits.VOTES)
    now = utcnow()
    window = throttles.Window.at(now, ratelimits.VOTES.window_seconds)
    budget = room.budget or 0 if room.voting_mode == "budget" else None
    row = await driver.row(_CAST_IN_ONE, {
        "room_id": room.id, "idea_id": idea.id, "user_id": actor.id,
        "membership_id": access.membership.id,  # type: ignore[union-attr]
        "value": value, "mode": room.voting_mode, "budget": budget,
        "rate_key": attempt.key if attempt else None, "rate_limit": attempt.limit if attempt else None,
        "rate_stamp": window.stamp, "rate_cutoff": window.cutoff, "now": now,
    })
    assert row is not None  # the function returns one row
    outcome, rate_used, spent_before, spent = row[:4]
    if outcome == "rate":
        assert attempt is not None
        async with resources.db.lookup() as db:  # the rare refusal: when the window has room again
            refused = await throttles.refusal(db, attempt.key, window, rate_used - attempt.limit, "")
        raise attempt.refused(refused.retry_after)
    if outcome == "budget":
        raise Conflict(_("Not enough dots left: you have %(left)s of %(budget)s.", left=(budget or 0) - spent_before, budget=budget))
    budget_left = None if budget is None else budget - spent
    result_value = value or None
    if outcome == "ok":
        for name, figure in zip(_TALLY_FIELDS, row[5:], strict=True):
            set_committed_value(idea, name, figure)
        state_changed(outbox, room.id, kinds.TALLY_CHANGED, idea.id)
        state_changed(outbox, room.id, kinds.VOTE_MINE, idea.id, user_id=actor.id)
    return VoteResult(idea.id, result_value, budget_left, access, idea, author)


async def cast_vote(resources: Resources, actor: User, idea_id: int, raw_value: object, *,
                    in_room: str | None = None) -> VoteResult:
    if not resources.settings.is_sqlite:
        async with write_one_statement(resources) as (driver, signals):
            access, idea, author = await _votable_idea_row(driver, actor, idea_id, in_room)
            value = check_value(access.room, raw_value)
            return await _vote_in_one(resources, driver, signals, access, idea, author, value)
    async with write(resources) as (db, outbox):
        access, idea, author = await _votable_idea(db, actor, idea_id, in_room)
        room = access.room
        value = check_value(room, raw_value)
        await ratelimits.count(db, resources.settings, access, ratelimits.VOTES)
        membership_id = access.membership.id  # type: ignore[union-attr]
        spent_before = await _lock_membership(db, membership_id)
        old = (await db.execute(_OLD_VOTE, {"idea_id": idea.id, "user_id": actor.id})).scalar_one_or_none() or 0
        budget_left = None
        if room.voting_mode == "budget":
            budget = room.budget or 0
            spent = (await db.execute(_SPEND, {
                "membership_id": membership_id, "delta": value - old, "budget": budget})).scalar_one_or_none()
            if spent is None:
                raise Conflict(_("Not enough dots left: you have %(left)s of %(budget)s.", left=budget - spent_before, budget=budget))
            budget_left = budget - spent
        if value == old:
            return VoteResult(idea.id, value, budget_left, access, idea, author)
        await db.execute(_UPSERT(db), {
            "room_id": room.id, "idea_id": idea.id, "user_id": actor.id, "value": value, "now": utcnow()})
        await apply_tally_delta(db, room, idea, old, value)
        state_changed(outbox, room.id, kinds.TALLY_CHANGED, idea.id)
        state_changed(outbox, room.id, kinds.VOTE_MINE, idea.id, user_id=actor.id)
    return VoteResult(idea.id, value, budget_left, access, idea, author)


async def retract_vote(resources: Resources, actor: User, idea_id: int, *,
                       in_room: str | None = None) -> VoteResult:
    if not resources.settings.is_sqlite:
        async with write_one_statement(resources) as (driver, signals):
            access, idea, author = await _votable_idea_row(driver, actor, idea_id, in_room)
            return await _vote_in_one(resources, driver, signals, access, idea, author, 0)
    async with write(resources) as (db, outbox):
        access, idea, author = await _votable_idea(db, actor, idea_id, in_room)
        room = access.room
        await ratelimits.count(db, resources.settings, access, ratelimits.VOTES)
        membership_id = access.membership.id  # type: ignore[union-attr]
        spent_before = await _lock_membership(db, membership_id)
        old = (await db.execute(_RETRACT, {"idea_id": idea.id, "user_id": actor.id})).scalar_one_or_none()
        budget_left = None
        if room.voting_mode == "budget":
            if old:
                await db.execute(_REFUND, {"membership_id": membership_id, "refund": old})
            budget_left = (room.budget or 0) - (spent_before - (old or 0))
        if old:
            await apply_tally_delta(db, room, idea, old, 0)
            state_changed(outbox, room.id, kinds.TALLY_CHANGED, idea.id)
            state_changed(outbox, room.id, kinds.VOTE_MINE, idea.id, user_id=actor.id)
    return VoteResult(idea.id, None, budget_left, access, idea, author)
