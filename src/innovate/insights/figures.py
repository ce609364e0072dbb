"""The figures HR reports on, computed by the database as SQL aggregates.

Every function takes a ``room`` (one challenge) or ``None`` (every room: the site dashboard)
and runs the same SQL on PostgreSQL and SQLite; the two dialect differences (which day a
timestamp falls on, and the seconds between two timestamps) live in ``day_of`` and
``seconds_between``. The README's "Insights and exports" section states each rule in words.

Rules shared by the figures:

- a *participant* is a member with the role ``member``; moderators run the room and are
  left out of the funnel (they still count in activity, contributors and replies);
- a *post* is a message (any state except ``rejected`` by pre-moderation) or an idea;
- anonymous ideas count in every total, but are never attributed to a person.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    and_,
    case,
    cast,
    distinct,
    func,
    literal_column,
    not_,
    null,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from innovate.accounts.models import User
from innovate.auth.models import Invite
from innovate.db import is_postgres, utcnow
from innovate.rooms.models import (
    IDEA_STATUSES,
    Event,
    Idea,
    Membership,
    Message,
    Room,
    Vote,
)

KINDS = ("employee", "guest")
NOT_A_POST = ("rejected",)
TOP_IDEAS = 10
TOP_CONTRIBUTORS = 10
SITE_ACTIVITY_DAYS = 90
EXPIRING_WITHIN = timedelta(days=7)


# Dialect helpers ---------------------------------------------------------------------------


def day_of(db: AsyncSession, column: Any) -> ColumnElement[str]:
    """The UTC calendar day of a timestamp, as ``YYYY-MM-DD`` text on both backends."""
    if is_postgres(db):
        # Constants inline, not as parameters: GROUP BY must repeat the exact expression.
        return func.to_char(func.timezone(literal_column("'UTC'"), column), literal_column("'YYYY-MM-DD'"))
    return func.strftime(literal_column("'%Y-%m-%d'"), column)


def seconds_between(db: AsyncSession, start: Any, end: Any) -> ColumnElement[float]:
    """Whole seconds from ``start`` to ``end`` (julianday arithmetic is not exact to the µs)."""
    if is_postgres(db):
        return func.round(func.extract("epoch", end - start))
    return func.round((func.julianday(end) - func.julianday(start)) * 86400.0)


def _in_scope(column: Any, room: Room | None) -> ColumnElement[bool]:
    return column == room.id if room is not None else true()


# Participation funnel ------------------------------------------------------------------------


@dataclass
class FunnelRow:
    kind: str  # "employee" | "guest"
    invited: int = 0
    joined: int = 0
    active: int = 0

    def rate(self, part: str, whole: str) -> float | None:
        total = getattr(self, whole)
        return getattr(self, part) / total if total else None


@dataclass
class Funnel:
    employee: FunnelRow
    guest: FunnelRow

    @property
    def rows(self) -> list[FunnelRow]:
        return [self.employee, self.guest]

    @property
    def total(self) -> FunnelRow:
        return FunnelRow("all", *(sum(getattr(r, k) for r in self.rows) for k in ("invited", "joined", "active")))

    def json(self) -> dict[str, Any]:
        return {row.kind: {"invited": row.invited, "joined": row.joined, "active": row.active}
                for row in (*self.rows, self.total)}


def _acts(room: Room | None) -> Any:
    """(room_id, user_id) of everyone who did something in a room: posted a message or an
    idea, or holds a vote. One pass over each table (UNION removes duplicates), instead of
    a lookup per member that big rooms would pay for on every dashboard load."""
    return union(
        select(Message.room_id.label("room_id"), Message.author_id.label("user_id"))
        .where(_in_scope(Message.room_id, room), Message.state.not_in(NOT_A_POST), Message.author_id.is_not(None)),
        select(Idea.room_id, Idea.author_id).where(_in_scope(Idea.room_id, room), Idea.author_id.is_not(None)),
        select(Vote.room_id, Vote.user_id).where(_in_scope(Vote.room_id, room)),
    ).subquery("acts")


async def funnel(db: AsyncSession, room: Room | None) -> Funnel:
    """Invited → joined → active, per kind of person.

    - joined: people who became participants (whatever their membership state now);
    - active: of those, people who posted or voted in that room;
    - invited, employees: the room's audience: every active employee account when the room
      is open to all employees (and past draft), plus anyone who joined; for invite-only
      rooms, those who joined;
    - invited, guests: guests who joined, plus the places still unused on invite links that
      were not revoked (an expired, unused invitation is a person who did not come).

    Over every room (``room=None``) people are counted once, however many rooms they are in.
    """
    acts = _acts(room)
    joined_rows = (
        select(User.kind, func.count(distinct(Membership.user_id)), func.count(distinct(acts.c.user_id)))
        .join(User, User.id == Membership.user_id)
        .outerjoin(acts, and_(acts.c.room_id == Membership.room_id, acts.c.user_id == Membership.user_id))
        .where(Membership.role == "member", _in_scope(Membership.room_id, room))
        .group_by(User.kind)
    )
    result = Funnel(FunnelRow("employee"), FunnelRow("guest"))
    for kind, joined, active in (await db.execute(joined_rows)).all():
        row = result.employee if kind == "employee" else result.guest
        row.joined, row.active = int(joined), int(active)

    ever_joined = select(Membership.user_id).where(Membership.role == "member", _in_scope(Membership.room_id, room))
    open_to_employees = room is None or (room.visibility == "employees" and room.phase != "draft")
    reached = User.id.in_(ever_joined)
    audience = and_(User.kind == "employee", or_(User.is_active.is_(True), reached) if open_to_employees else reached)
    result.employee.invited = int((await db.execute(select(func.count()).where(audience))).scalar_one())
    unused = select(func.coalesce(func.sum(
        case((Invite.max_uses > Invite.uses, Invite.max_uses - Invite.uses), else_=0)), 0)
    ).where(Invite.revoked_at.is_(None), _in_scope(Invite.room_id, room))
    result.guest.invited = result.guest.joined + int((await db.execute(unused)).scalar_one())
    return result


# Activity over time ------------------------------------------------------------------------------


@dataclass
class Day:
    day: date
    messages: int = 0
    ideas: int = 0
    votes: int = 0

    def json(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "messages": self.messages, "ideas": self.ideas, "votes": self.votes}


async def activity(db: AsyncSession, room: Room | None, *, since: datetime | None = None,
                   until: datetime | None = None) -> list[Day]:
    """Messages, ideas and votes per UTC day, every day from the first to the last included.

    Votes are counted on the day they were first cast; a retracted vote no longer exists and
    is not counted. ``since`` and ``until`` are days (both included); over every room the
    last ``SITE_ACTIVITY_DAYS`` days are shown.
    """
    if room is None and since is None:
        since = utcnow() - timedelta(days=SITE_ACTIVITY_DAYS - 1)
    parts: list[Select[Any, Any, Any]] = []
    for name, model, extra in (("messages", Message, Message.state.not_in(NOT_A_POST)),
                               ("ideas", Idea, true()), ("votes", Vote, true())):
        stamp = model.created_at
        conditions = [_in_scope(model.room_id, room), extra]
        if since is not None:
            conditions.append(stamp >= datetime.combine(since.date(), datetime.min.time(), since.tzinfo))
        if until is not None:  # the whole of the last day
            conditions.append(stamp < datetime.combine(until.date() + timedelta(days=1), datetime.min.time(),
                                                       until.tzinfo))
        parts.append(select(day_of(db, stamp).label("day"), literal_column(f"'{name}'").label("what"),
                            func.count().label("n")).where(*conditions).group_by(day_of(db, stamp)))
    counts: dict[date, Day] = {}
    for day_text, what, n in (await db.execute(union_all(*parts))).all():
        day = date.fromisoformat(day_text)
        setattr(counts.setdefault(day, Day(day)), what, int(n))
    if since is not None:
        first, last = since.date(), max([*counts, (until or utcnow()).date()])
    elif counts:
        first, last = min(counts), max(counts)
    else:
        return []
    return [counts.get(first + timedelta(days=i), Day(first + timedelta(days=i)))
            for i in range((last - first).days + 1)]


# Ideas ----------------------------------------------------------------------------------------


@dataclass
class IdeaFigure:
    id: int
    room: str
    title: str
    status: str
    status_reason: str | None
    anonymous: bool
    author: str | None  # None for anonymous ideas, whoever looks
    author_kind: str | None
    up: int
    down: int
    score: int
    voters: int
    messages: int
    body_html: str | None = None  # sanitized Markdown; read only for the report

    def json(self) -> dict[str, Any]:
        data = asdict(self)
        if data["body_html"] is None:
            del data["body_html"]
        return data


def _idea_columns() -> tuple[Any, ...]:
    return (Idea.id, Room.slug, Idea.title, Idea.status, Idea.status_reason, Idea.anonymous, User.name, User.kind,
            Idea.up, Idea.down, Idea.score, Idea.voters, Idea.messages_count)


def _idea_figure(row: Any) -> IdeaFigure:
    (idea_id, slug, title, status, reason, anonymous, name, kind, up, down, score, voters, messages) = row
    return IdeaFigure(idea_id, slug, title, status, reason, bool(anonymous), None if anonymous else name,
                      None if anonymous else kind, up, down, score, voters, messages)


def _ideas_query() -> Any:
    return (select(*_idea_columns()).join(Room, Room.id == Idea.room_id)
            .outerjoin(User, User.id == Idea.author_id))


async def top_ideas(db: AsyncSession, room: Room, *, limit: int = TOP_IDEAS) -> list[IdeaFigure]:
    """The room's ranking (``Idea.rank_top``, the order of the "Top" tab), merged and hidden
    ideas left out, with tallies and status."""
    stmt = (_ideas_query()
            .where(Idea.room_id == room.id, Idea.state == "visible", Idea.status != "merged")
            .order_by(Idea.rank_top.desc(), Idea.id.desc()).limit(limit))
    return [_idea_figure(row) for row in (await db.execute(stmt)).all()]


async def ideas_with_status(db: AsyncSession, room: Room, statuses: tuple[str, ...]) -> list[IdeaFigure]:
    """Visible ideas in these statuses with their text, best first by the room's ranking
    (the report's lists)."""
    stmt = (_ideas_query().add_columns(Idea.body_html)
            .where(Idea.room_id == room.id, Idea.state == "visible", Idea.status.in_(statuses))
            .order_by(Idea.rank_top.desc(), Idea.id.desc()))
    found = []
    for row in (await db.execute(stmt)).all():
        figure = _idea_figure(row[:-1])
        figure.body_html = row[-1]
        found.append(figure)
    return found


async def pipeline(db: AsyncSession, room: Room | None) -> dict[str, int]:
    """How many ideas are in each status (hidden ones too), every status listed."""
    rows = (await db.execute(
        select(Idea.status, func.count()).where(_in_scope(Idea.room_id, room)).group_by(Idea.status))).all()
    counts = {status: 0 for status in IDEA_STATUSES}
    counts.update({status: int(n) for status, n in rows})
    return counts


# Contributors ---------------------------------------------------------------------------------


@dataclass
class Contributor:
    user_id: int
    name: str
    kind: str
    messages: int
    ideas: int
    votes: int
    moderator: bool = False

    @property
    def posts(self) -> int:
        return self.messages + self.ideas

    def json(self) -> dict[str, Any]:
        return {**asdict(self), "posts": self.posts}


@dataclass
class Contributors:
    employee: list[Contributor] = field(default_factory=list)
    guest: list[Contributor] = field(default_factory=list)
    employee_count: int = 0
    guest_count: int = 0

    def json(self) -> dict[str, Any]:
        return {"employee": [c.json() for c in self.employee], "guest": [c.json() for c in self.guest],
                "employee_count": self.employee_count, "guest_count": self.guest_count}


def _contributions(room: Room | None) -> Any:
    """One row per contribution: (user, message?, idea?, vote?). Anonymous ideas are left out:
    counting them per person would attach a name to them."""
    one: ColumnElement[Any] = literal_column("1")
    zero: ColumnElement[Any] = literal_column("0")
    return union_all(
        select(Message.author_id.label("user_id"), one.label("m"), zero.label("i"), zero.label("v"))
        .where(_in_scope(Message.room_id, room), Message.state.not_in(NOT_A_POST), Message.author_id.is_not(None)),
        select(Idea.author_id, zero, one, zero)
        .where(_in_scope(Idea.room_id, room), Idea.anonymous.is_(False), Idea.author_id.is_not(None)),
        select(Vote.user_id, zero, zero, one).where(_in_scope(Vote.room_id, room)),
    ).subquery("contributions")


async def contributors(db: AsyncSession, room: Room | None, *, limit: int = TOP_CONTRIBUTORS) -> Contributors:
    """The most active people, employees and guests ranked separately: by posts (messages
    plus named ideas), then votes. ``*_count`` is how many people of each kind contributed."""
    c = _contributions(room)
    messages, ideas, votes = (func.sum(cast(c.c.m, Integer)), func.sum(cast(c.c.i, Integer)),
                              func.sum(cast(c.c.v, Integer)))
    per_person = (select(User.id, User.name, User.kind, messages.label("messages"), ideas.label("ideas"),
                         votes.label("votes"))
                  .join(c, c.c.user_id == User.id).group_by(User.id, User.name, User.kind).subquery("per_person"))
    ranked = select(per_person, func.row_number().over(
        partition_by=per_person.c.kind,
        order_by=((per_person.c.messages + per_person.c.ideas).desc(), per_person.c.votes.desc(),
                  per_person.c.name, per_person.c.id)).label("place"),
        func.count().over(partition_by=per_person.c.kind).label("people")).subquery("ranked")
    rows = (await db.execute(select(ranked).where(ranked.c.place <= limit)
                             .order_by(ranked.c.kind, ranked.c.place))).all()
    moderators: set[int] = set()
    if room is not None:
        moderators = set((await db.execute(select(Membership.user_id).where(
            Membership.room_id == room.id, Membership.role == "moderator"))).scalars())
    result = Contributors()
    for user_id, name, kind, n_messages, n_ideas, n_votes, _place, people in rows:
        person = Contributor(user_id, name, kind, int(n_messages), int(n_ideas), int(n_votes),
                             moderator=user_id in moderators)
        getattr(result, "guest" if kind == "guest" else "employee").append(person)
        setattr(result, "guest_count" if kind == "guest" else "employee_count", int(people))
    return result


# Guest response time ---------------------------------------------------------------------------


@dataclass
class ResponseTime:
    median_seconds: float | None
    answered: int
    unanswered: int

    def json(self) -> dict[str, Any]:
        return asdict(self)


async def guest_response_time(db: AsyncSession, room: Room | None) -> ResponseTime:
    """The median time from a guest's first post in a room to the first reply by someone else.

    A guest's first post is their earliest message or idea in the room. A reply to a message
    is a message by someone else that answers it (``reply_to``) or, in an idea's thread, the
    next message by someone else in that thread; a reply to an idea is the first message by
    someone else in its thread. Guests whose first post got no reply count as unanswered.
    Over every room each (guest, room) pair counts once.
    """
    posts = union_all(
        select(Message.room_id.label("room_id"), Message.author_id.label("author_id"),
               Message.created_at.label("at"), Message.id.label("message_id"), Message.idea_id.label("idea_id"))
        .join(User, User.id == Message.author_id)
        .where(User.kind == "guest", Message.state.not_in(NOT_A_POST), _in_scope(Message.room_id, room)),
        select(Idea.room_id, Idea.author_id, Idea.created_at, cast(null(), Integer), Idea.id)
        .join(User, User.id == Idea.author_id)
        .where(User.kind == "guest", _in_scope(Idea.room_id, room)),
    ).subquery("posts")
    ordered = select(posts, func.row_number().over(
        partition_by=(posts.c.room_id, posts.c.author_id), order_by=(posts.c.at, posts.c.message_id)).label("n")
    ).subquery("ordered")
    first = select(ordered).where(ordered.c.n == 1).subquery("first_posts")
    reply = Message.__table__.alias("reply")
    answers = or_(
        and_(first.c.message_id.is_not(None), reply.c.reply_to_id == first.c.message_id),
        and_(first.c.idea_id.is_not(None), reply.c.idea_id == first.c.idea_id),
    )
    first_reply = (select(func.min(reply.c.created_at))
                   .where(reply.c.room_id == first.c.room_id, reply.c.author_id != first.c.author_id,
                          reply.c.author_id.is_not(None), reply.c.state.not_in(("rejected", "held")),
                          reply.c.created_at >= first.c.at, answers)
                   .scalar_subquery())
    waits = select(seconds_between(db, first.c.at, first_reply).label("seconds")).subquery("waits")
    counted = select(
        waits.c.seconds,
        func.row_number().over(order_by=waits.c.seconds).label("place"),
        func.count().over().label("total"),
    ).where(waits.c.seconds.is_not(None)).subquery("counted")
    # The median: the middle row, or the mean of the two middle rows (integer division).
    median = select(func.avg(counted.c.seconds)).where(
        counted.c.place.in_([(counted.c.total + 1) // 2, (counted.c.total + 2) // 2]))
    answered = select(func.count()).select_from(waits).where(waits.c.seconds.is_not(None))
    everyone = select(func.count()).select_from(waits)
    value = (await db.execute(median)).scalar_one()
    n_answered = int((await db.execute(answered)).scalar_one())
    n_all = int((await db.execute(everyone)).scalar_one())
    return ResponseTime(float(value) if value is not None else None, n_answered, n_all - n_answered)


# Totals ------------------------------------------------------------------------------------------


@dataclass
class Totals:
    messages: int
    ideas: int
    anonymous_ideas: int
    votes: int
    voters: int
    participants: int
    moderators: int

    def json(self) -> dict[str, Any]:
        return asdict(self)


async def totals(db: AsyncSession, room: Room | None) -> Totals:
    messages = select(func.count()).where(_in_scope(Message.room_id, room), Message.state.not_in(NOT_A_POST))
    ideas = select(func.count(), func.coalesce(func.sum(case((Idea.anonymous.is_(True), 1), else_=0)), 0)).where(
        _in_scope(Idea.room_id, room))
    votes = select(func.count(), func.count(distinct(Vote.user_id))).where(_in_scope(Vote.room_id, room))
    members = select(
        func.count(distinct(case((Membership.role == "member", Membership.user_id)))),
        func.count(distinct(case((and_(Membership.role == "moderator", Membership.state == "active"),
                                  Membership.user_id)))),
    ).where(_in_scope(Membership.room_id, room))
    n_ideas, n_anonymous = (await db.execute(ideas)).one()
    n_votes, n_voters = (await db.execute(votes)).one()
    n_participants, n_moderators = (await db.execute(members)).one()
    return Totals(int((await db.execute(messages)).scalar_one()), int(n_ideas), int(n_anonymous), int(n_votes),
                  int(n_voters), int(n_participants), int(n_moderators))


# The timeline of phases ------------------------------------------------------------------------


@dataclass
class PhaseStep:
    at: datetime
    phase: str
    previous: str | None
    by: str | None  # None: the schedule moved it (or the room was created in this phase)


async def phase_timeline(db: AsyncSession, room: Room) -> list[PhaseStep]:
    """The room's creation, then every ``room.phase_changed`` event in order."""
    rows = (await db.execute(
        select(Event.created_at, Event.data, User.name).outerjoin(User, User.id == Event.actor_id)
        .where(Event.room_id == room.id, Event.kind == "room.phase_changed").order_by(Event.seq))).all()
    first_phase = rows[0][1].get("from", room.phase) if rows else room.phase
    creator = (await db.execute(select(User.name).where(User.id == room.created_by_id))).scalar_one_or_none()
    steps = [PhaseStep(room.created_at, first_phase, None, creator)]
    steps.extend(PhaseStep(at, data.get("to", "?"), data.get("from"), name) for at, data, name in rows)
    return steps


# Site-wide extras ----------------------------------------------------------------------------


@dataclass
class RoomSummary:
    slug: str
    title: str
    phase: str
    participants: int
    active: int
    ideas: int
    messages: int
    votes: int
    selected: int
    leading_idea: str | None

    def json(self) -> dict[str, Any]:
        return asdict(self)


async def room_summaries(db: AsyncSession) -> list[RoomSummary]:
    """Every room with its headline numbers and its leading idea by the room's own ranking."""
    def count(model: Any, *where: Any) -> Any:
        return select(func.count()).where(model.room_id == Room.id, *where).correlate(Room).scalar_subquery()

    participants = count(Membership, Membership.role == "member")
    acts = _acts(None)
    active_per_room = (
        select(Membership.room_id.label("room_id"), func.count().label("n"))
        .join(acts, and_(acts.c.room_id == Membership.room_id, acts.c.user_id == Membership.user_id))
        .where(Membership.role == "member").group_by(Membership.room_id).subquery("active_per_room"))
    active = func.coalesce(active_per_room.c.n, 0)
    leading = (select(Idea.title).where(Idea.room_id == Room.id, Idea.state == "visible", Idea.status != "merged")
               .order_by(Idea.rank_top.desc(), Idea.id.desc()).limit(1).correlate(Room).scalar_subquery())
    stmt = select(Room.slug, Room.title, Room.phase, participants, active, count(Idea),
                  count(Message, Message.state.not_in(NOT_A_POST)), count(Vote),
                  count(Idea, Idea.status == "selected"), leading
                  ).outerjoin(active_per_room, active_per_room.c.room_id == Room.id
                  ).order_by(Room.created_at.desc(), Room.id.desc())
    return [RoomSummary(*row) for row in (await db.execute(stmt)).all()]


@dataclass
class ActiveGuest:
    user_id: int
    name: str
    email: str | None
    rooms: int
    last_post_at: datetime | None


async def active_guests(db: AsyncSession, *, limit: int = 50) -> tuple[int, list[ActiveGuest]]:
    """Guests who can still get in somewhere: an active account with an active membership in
    a room whose guest access has not ended (not archived; not closed where the room ends
    guest access at closing). Most recently active first."""
    live_room = and_(Room.phase != "archived", not_(and_(Room.guests_until == "closed", Room.phase == "closed")))
    rooms = func.count(distinct(Membership.room_id))
    last_post = (select(func.max(Message.created_at)).where(Message.author_id == User.id)
                 .correlate(User).scalar_subquery())
    base = (select(User.id, User.name, User.email, rooms.label("rooms"), last_post.label("last_post"))
            .join(Membership, Membership.user_id == User.id).join(Room, Room.id == Membership.room_id)
            .where(User.kind == "guest", User.is_active.is_(True), Membership.state == "active", live_room)
            .group_by(User.id, User.name, User.email))
    total = int((await db.execute(select(func.count()).select_from(base.subquery()))).scalar_one())
    ordered = base.subquery()
    rows = (await db.execute(select(ordered).order_by(
        ordered.c.last_post.is_(None), ordered.c.last_post.desc(), ordered.c.name).limit(limit))).all()
    return total, [ActiveGuest(*row) for row in rows]


@dataclass
class ExpiringInvite:
    id: int
    room_slug: str
    room_title: str
    email: str | None
    domain: str | None
    note: str | None
    uses: int
    max_uses: int
    expires_at: datetime
    created_by: str | None


async def expiring_invites(db: AsyncSession, *, within: timedelta = EXPIRING_WITHIN,
                           now: datetime | None = None) -> list[ExpiringInvite]:
    """Invites still usable (not revoked, places left) whose link ends within ``within``."""
    now = now or utcnow()
    creator = User.__table__.alias("creator")
    rows = (await db.execute(
        select(Invite.id, Room.slug, Room.title, Invite.email, Invite.domain, Invite.note, Invite.uses,
               Invite.max_uses, Invite.expires_at, creator.c.name)
        .join(Room, Room.id == Invite.room_id).outerjoin(creator, creator.c.id == Invite.created_by_id)
        .where(Invite.revoked_at.is_(None), Invite.uses < Invite.max_uses, Invite.expires_at > now,
               Invite.expires_at <= now + within)
        .order_by(Invite.expires_at, Invite.id))).all()
    return [ExpiringInvite(*row) for row in rows]
