"""A room's timeline as one viewer may see it: stored events turned into API frames.

Events store ids only; frames carry the current state of what they point at, shaped for the
viewer (hidden content, anonymous authors and hidden tallies are decided here, once per
distinct view). The events API, replay on connect and live fan-out all use these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Integer, bindparam, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import kinds
from innovate.accounts.models import User
from innovate.db import dialect_name
from innovate.rooms.models import Event, Idea, Membership, Message, Report, Room, Vote
from innovate.rooms.serializers import (
    Viewer,
    idea_json,
    member_json,
    message_json,
    room_json,
    tallies_visible,
)


def audience_allows(event: Event, viewer: Viewer) -> bool:
    """May this viewer receive this event at all?"""
    if event.audience == "all":
        return True
    if viewer.moderator:
        return True
    if event.audience.startswith("user:"):
        return event.audience == f"user:{viewer.user_id}"
    return False  # "moderators"


async def visible_events(db: AsyncSession, room: Room, after: int, viewer: Viewer, limit: int) -> list[Event]:
    """Stored events after ``after`` that the viewer may receive, oldest first."""
    rows = await db.execute(
        select(Event).where(Event.room_id == room.id, Event.seq > after).order_by(Event.seq).limit(limit)
    )
    return [event for event in rows.scalars() if audience_allows(event, viewer)]


async def event_frames(db: AsyncSession, room: Room, events: Sequence[Event], viewer: Viewer) -> list[dict[str, Any]]:
    """One frame per event, in order, loading what the events point at in a few batched queries."""
    return frames_for(await load_references(db, events), room, events, viewer)


async def load_references(db: AsyncSession, events: Sequence[Event]) -> References:
    """What ``events`` point at, loaded once for every view that will be rendered of them."""
    refs = References(db)
    for event in events:
        refs.note(event)
    await refs.load()
    return refs


def frames_for(refs: References, room: Room, events: Sequence[Event], viewer: Viewer) -> list[dict[str, Any]]:
    """One viewer's frames of ``events`` (all of them covered by ``refs``)."""
    return [
        {
            "seq": event.seq,
            "kind": event.kind,
            "room": room.slug,
            "at": event.created_at.isoformat(),
            "data": refs.data_for(event, room, viewer),
        }
        for event in events
    ]


async def tally_frame(db: AsyncSession, room: Room, idea_ids: Iterable[int], viewer: Viewer) -> dict[str, Any] | None:
    """The coalesced ``tally.changed`` frame (no seq: tallies are state, not history)."""
    if not tallies_visible(room, viewer):
        return None
    ids = sorted(set(idea_ids))
    if not ids:
        return None
    rows = await db.execute(
        select(Idea.id, Idea.up, Idea.down, Idea.score, Idea.voters, Idea.state)
        .where(Idea.room_id == room.id, Idea.id.in_(ids))
    )
    tallies = [
        {"idea_id": r.id, "up": r.up, "down": r.down, "score": r.score, "voters": r.voters}
        for r in rows
        if r.state == "visible" or viewer.moderator
    ]
    if not tallies:
        return None
    return {"kind": "tally.changed", "room": room.slug, "data": {"tallies": tallies}}


async def idea_ids_of(db: AsyncSession, room_id: int) -> set[int]:
    """Every idea of the room (``tally_frame`` leaves out those the viewer may not see)."""
    return set((await db.execute(select(Idea.id).where(Idea.room_id == room_id))).scalars())


async def voted_ideas(db: AsyncSession, room_id: int, user_id: int) -> list[int]:
    """The ideas of the room that ``user_id`` has a vote on now."""
    rows = await db.execute(select(Vote.idea_id).where(Vote.room_id == room_id, Vote.user_id == user_id))
    return sorted(rows.scalars())


# PostgreSQL: the pairs as two arrays, each pair looked up in the votes' unique index, in one
# statement text whatever their number (prepared once per connection). A row-value IN list is
# a new statement for every length, planned each time, and compared against every vote of
# the room.
_VOTES_OF_PAIRS = text(
    "SELECT v.user_id, v.idea_id, v.value "
    "FROM unnest(CAST(:users AS integer[]), CAST(:ideas AS integer[])) AS p(user_id, idea_id) "
    "JOIN votes v ON v.idea_id = p.idea_id AND v.user_id = p.user_id WHERE v.room_id = :room_id"
).columns(user_id=Integer(), idea_id=Integer(), value=Integer())


async def my_vote_frames(db: AsyncSession, room: Room, wanted: Iterable[tuple[int, int]]) -> dict[
        tuple[int, int], dict[str, Any]]:
    """The ``vote.mine`` frame for each (user, idea): that user's own vote on the idea now
    (``null`` when none) and, in budget rooms, the dots they have left."""
    pairs = sorted(set(wanted))
    if not pairs:
        return {}
    users = {user_id for user_id, _ in pairs}
    if dialect_name(db) == "postgresql":
        found = await db.execute(_VOTES_OF_PAIRS, {
            "room_id": room.id, "users": [user_id for user_id, _ in pairs], "ideas": [idea_id for _, idea_id in pairs]})
    else:
        found = await db.execute(select(Vote.user_id, Vote.idea_id, Vote.value)
                                 .where(Vote.room_id == room.id, tuple_(Vote.user_id, Vote.idea_id).in_(pairs)))
    votes = {(r.user_id, r.idea_id): r.value for r in found}
    spent = {r.user_id: r.votes_spent for r in await db.execute(
        select(Membership.user_id, Membership.votes_spent)
        .where(Membership.room_id == room.id, Membership.user_id.in_(users)))}
    frames = {}
    for user_id, idea_id in pairs:
        left = max(0, (room.budget or 0) - spent.get(user_id, 0)) if room.voting_mode == "budget" else None
        frames[(user_id, idea_id)] = {"kind": "vote.mine", "room": room.slug, "data": {
            "idea_id": idea_id, "my_vote": votes.get((user_id, idea_id)), "my_budget_left": left}}
    return frames


# What a batch of events points at, built once (the live pump reads them for every batch).
# Messages and ideas come with their authors: a batch of posts is one statement here.
_IDS: BindParameter[int] = bindparam("ids", expanding=True)
_MESSAGES_WITH_AUTHORS = (select(Message, User).outerjoin(User, User.id == Message.author_id)
                          .where(Message.id.in_(_IDS)))
_IDEAS_WITH_AUTHORS = select(Idea, User).outerjoin(User, User.id == Idea.author_id).where(Idea.id.in_(_IDS))
_IDEA_TITLES = select(Idea.id, Idea.title).where(Idea.id.in_(_IDS))
_REPORTS = select(Report).where(Report.id.in_(_IDS))
_USERS = select(User).where(User.id.in_(_IDS))
_MEMBERS = select(Membership).where(Membership.room_id == bindparam("room_id"), Membership.user_id.in_(_IDS))


@dataclass(frozen=True)
class Written:
    """An event as its write transaction left it, with the rows its frame shows: ``event`` is
    transient (no session knows it), the rows are the transaction's own, loaded as its answer
    shows them. The live pump renders it without reading it back (``innovate.writes``)."""

    event: Event
    room: Room
    messages: tuple[Message, ...] = ()
    users: tuple[User, ...] = ()


class References:
    """Batch-loads the messages, ideas, users and reports a list of events refers to."""

    def __init__(self, db: AsyncSession | None) -> None:
        self.db = db
        self.message_ids: set[int] = set()
        self.idea_ids: set[int] = set()
        self.user_ids: set[int] = set()
        self.report_ids: set[int] = set()
        self.messages: dict[int, Message] = {}
        self.ideas: dict[int, Idea] = {}
        self.users: dict[int, User] = {}
        self.members: dict[int, Membership] = {}
        self.titles: dict[int, str] = {}  # of ideas others were merged into
        self.reports: dict[int, Report] = {}
        self.room_id: int | None = None
        self.member_events = False

    def note(self, event: Event) -> None:
        self.room_id = event.room_id
        kind = kinds.kind_named(event.kind)
        self.member_events = self.member_events or (kind is not None and kind.loads is kinds.Loads.MEMBER)
        data = event.data or {}
        for key, ids in (("message_id", self.message_ids), ("idea_id", self.idea_ids), ("into_id", self.idea_ids),
                         ("user_id", self.user_ids), ("report_id", self.report_ids)):
            if data.get(key) is not None:
                ids.add(int(data[key]))

    @classmethod
    def written(cls, written: Sequence[Written]) -> References | None:
        """The references of events as written, or None when the rows that came with them do
        not cover everything their frames show (then they are read as for any event)."""
        refs = cls(None)
        for item in written:
            refs.note(item.event)
            refs.messages.update((m.id, m) for m in item.messages)
            refs.users.update((u.id, u) for u in item.users)
        return refs if all(refs._covers(item.event) for item in written) else None

    def _covers(self, event: Event) -> bool:
        """Does :meth:`data_for` find everything it shows of ``event`` here?"""
        kind = kinds.kind_named(event.kind)
        loads = kind.loads if kind is not None else kinds.Loads.NOTHING
        if loads in (kinds.Loads.NOTHING, kinds.Loads.ROOM):
            return True
        if loads is not kinds.Loads.MESSAGE:
            return False
        message_id = (event.data or {}).get("message_id")
        if message_id is None:
            return True
        message = self.messages.get(int(message_id))
        return message is not None and (message.author_id is None or message.author_id in self.users)

    async def load(self) -> None:
        db = self.db
        assert db is not None, "references of written events are not loaded"

        if self.message_ids:
            rows = await db.execute(_MESSAGES_WITH_AUTHORS, {"ids": sorted(self.message_ids)})
            for m, author in rows:
                self.messages[m.id] = m
                if author is not None:
                    self.users[author.id] = author
        if self.idea_ids:
            ideas = await db.execute(_IDEAS_WITH_AUTHORS, {"ids": sorted(self.idea_ids)})
            for i, author in ideas:
                self.ideas[i.id] = i
                if author is not None:
                    self.users[author.id] = author
            self.titles = {i.id: i.title for i in self.ideas.values()}
            into = {i.merged_into_id for i in self.ideas.values() if i.merged_into_id} - set(self.titles)
            if into:
                self.titles.update((await db.execute(_IDEA_TITLES, {"ids": sorted(into)})).all())
        if self.report_ids:
            for r in (await db.execute(_REPORTS, {"ids": sorted(self.report_ids)})).scalars():
                self.reports[r.id] = r
        missing = self.user_ids - set(self.users)
        if missing:
            for u in (await db.execute(_USERS, {"ids": sorted(missing)})).scalars():
                self.users[u.id] = u
        if self.user_ids and self.room_id is not None and self.member_events:  # only member.* frames show them
            members = await db.execute(_MEMBERS, {"room_id": self.room_id, "ids": sorted(self.user_ids)})
            for membership in members.scalars():
                self.members[membership.user_id] = membership

    def data_for(self, event: Event, room: Room, viewer: Viewer) -> dict[str, Any]:
        data = dict(event.data or {})
        kind = kinds.kind_named(event.kind)
        loads = kind.loads if kind is not None else kinds.Loads.NOTHING
        if loads is kinds.Loads.MESSAGE and data.get("message_id") is not None:
            message = self.messages.get(int(data["message_id"]))
            if message is not None:
                data["message"] = message_json(message, room, self.users.get(message.author_id or 0), viewer)
        elif loads is kinds.Loads.IDEA and data.get("idea_id") is not None:
            idea = self.ideas.get(int(data["idea_id"]))
            if idea is not None:
                data["idea"] = idea_json(idea, room, self.users.get(idea.author_id or 0), viewer,
                                         merged_into_title=self.titles.get(idea.merged_into_id or 0))
        elif loads is kinds.Loads.MEMBER and "user_id" in data:
            user = self.users.get(int(data["user_id"]))
            member = self.members.get(int(data["user_id"]))
            if user is not None and member is not None:
                data["member"] = member_json(member, user)
        elif loads is kinds.Loads.ROOM:
            data["room"] = room_json(room, None, moderator=viewer.moderator)
        elif loads is kinds.Loads.REPORT and "report_id" in data:
            report = self.reports.get(int(data["report_id"]))
            if report is not None:
                data["report"] = {"id": report.id, "target_kind": report.target_kind, "target_id": report.target_id,
                                  "reason": report.reason, "state": report.state}
        return data
