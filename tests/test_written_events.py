"""The live pump renders this process's own posts as their write left them, without reading
them back, on SQLite; whenever that could differ from a read (a seq missing, rows that do not
cover the frame, PostgreSQL), it reads them back as before."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from innovate.live.feed import RoomFeed
from innovate.realtime.channel import Channel
from innovate.rooms.discussion import service as messages
from innovate.rooms.models import Event, Room
from innovate.rooms.timeline import Written
from innovate.web import create_templates
from tests.factories import join, make_idea, make_room
from tests.live_support import (  # noqa: F401 - fixtures
    LiveServer,
    frames_until,
    has_kind,
    live,
    live_socket,
    of_kind,
    open_room,
    post,
    settings_overrides,
    until,
)
from tests.sql_log import recorded_statements


@pytest.fixture
def live_overrides() -> dict[str, Any]:
    return {}


VIEWS = [("json", False), ("json", True), ("html:en", False)]
# The pump's read of the events after its head (innovate.live.feed._EVENTS_AFTER).
EVENTS_READ = "FROM events WHERE events.room_id ="


@dataclass
class HubRecorder:
    """Stands in for the hub: what the write path handed over after commit."""

    items: list[tuple[int, int, object]] = field(default_factory=list)

    def written(self, room_id: int, seq: int, written: object) -> None:
        self.items.append((room_id, seq, written))


async def _head(resources: Any, room_id: int) -> int:
    async with resources.db() as db:
        room = await db.get(Room, room_id)
        assert room is not None
        return room.last_seq


def _wire(batch: Any) -> dict[Any, list[bytes | None]]:
    return {view: [m.wire if m is not None else None for m in batch.shared(view)] for view in VIEWS}


async def test_a_post_is_handed_over_after_commit_on_sqlite_only(make_user, resources) -> None:
    moderator = await make_user("mod@example.com", is_moderator=True)
    ann = await make_user("ann@example.com", name="Ann Author")
    room = await make_room(resources, moderator, slug="handed", title="Handed over")
    await join(resources, room, ann)
    recorder = resources.hub = HubRecorder()
    try:
        posted = await messages.post(resources, ann, room.slug, {"body": "Cargo bikes?"})
        # A post that fails hands nothing over.
        try:
            await messages.post(resources, ann, room.slug, {"body": "x", "reply_to": 999_999})
        except Exception:
            pass
    finally:
        resources.hub = None
    if not resources.settings.is_sqlite:
        assert recorder.items == []
        return
    [(room_id, seq, written)] = recorder.items
    assert room_id == room.id and seq == await _head(resources, room.id)
    assert isinstance(written, Written)
    assert written.event.seq == seq and written.event.kind == "message.posted"
    assert written.messages == (posted.message,) and [u.id for u in written.users] == [ann.id]


async def test_the_batch_as_written_is_the_batch_read_back(make_user, resources) -> None:
    """Byte for byte, per view, for members, moderators and the author, with no statement."""
    moderator = await make_user("mod@example.com", is_moderator=True)
    ann = await make_user("ann@example.com", name="Ann Author")
    room = await make_room(resources, moderator, slug="same", title="Same bytes")
    await join(resources, room, ann)
    head = await _head(resources, room.id)
    recorder = resources.hub = HubRecorder()
    try:
        posts = [await messages.post(resources, ann, room.slug, {"body": "**First**, with @mod"}),
                 await messages.post(resources, moderator, room.slug, {"body": "Second"})]
    finally:
        resources.hub = None
    written = [item for _, _, item in recorder.items]
    if not resources.settings.is_sqlite:
        # Nothing is handed over on PostgreSQL; the feed still renders what it is given alike.
        assert written == []
        async with resources.db() as db:
            stored = (await db.execute(select(Event).where(Event.room_id == room.id, Event.seq > head)
                                       .order_by(Event.seq))).scalars().all()
        written = [Written(event=Event(room_id=e.room_id, seq=e.seq, kind=e.kind, data=e.data, audience=e.audience,
                                       actor_id=e.actor_id, created_at=e.created_at),
                           room=found.access.room, messages=(found.message,), users=(found.access.user,))
                   for e, found in zip(stored, posts, strict=True)]
    feed = RoomFeed(resources.db, create_templates())
    with recorded_statements(resources) as seen:
        as_written = await feed.batch(room.id, head, VIEWS, written)
    assert as_written is not None and seen == []
    read_back = await feed.batch(room.id, head, VIEWS)
    assert read_back is not None
    assert as_written.seqs == read_back.seqs == [head + 1, head + 2]
    assert as_written.frames == read_back.frames
    assert _wire(as_written) == _wire(read_back)
    assert as_written.subjects == read_back.subjects
    for view in VIEWS:
        mine, read = as_written.personal(ann.id, view, 0), read_back.personal(ann.id, view, 0)
        assert mine is not None and read is not None and mine.wire == read.wire


async def test_a_missing_seq_or_rows_that_do_not_cover_the_frame_are_read_back(make_user, resources) -> None:
    moderator = await make_user("mod@example.com", is_moderator=True)
    room = await make_room(resources, moderator, slug="gaps", title="Gaps")
    head = await _head(resources, room.id)
    await make_idea(resources, moderator, room)  # head + 1, written by "another process"
    resources.hub = HubRecorder()
    try:
        await messages.post(resources, moderator, room.slug, {"body": "After the idea"})  # head + 2
    finally:
        resources.hub = None
    feed = RoomFeed(resources.db, create_templates())
    async with resources.db() as db:
        room_row = await db.get(Room, room.id)
    assert room_row is not None
    mine = Written(event=Event(room_id=room.id, seq=head + 2, kind="message.posted", data={"message_id": 1},
                               audience="all", created_at=datetime.now(UTC)), room=room_row)
    idea = Written(event=Event(room_id=room.id, seq=head + 1, kind="idea.submitted", data={"idea_id": 1},
                               audience="all", created_at=datetime.now(UTC)), room=room_row)
    for given in ([mine], [idea, mine]):  # head + 1 missing; an idea's rows not given
        with recorded_statements(resources) as seen:
            batch = await feed.batch(room.id, head, VIEWS, given)
        assert batch is not None and batch.seqs == [head + 1, head + 2]
        assert any(EVENTS_READ in sql for sql in seen)
        assert batch.frames[False][1]["data"]["message"]["body"] == "After the idea"


@dataclass
class _Batch:
    seqs: list[int]
    created_at: list[datetime] = field(default_factory=list)
    subjects: list[frozenset[int]] = field(default_factory=list)
    recheck_users: set[int] = field(default_factory=set)
    recheck_all: bool = False
    more: bool = False

    def shared(self, view: Any) -> None:
        return None


class _Feed:
    def __init__(self, stored: set[tuple[int, int]]) -> None:
        self.stored = stored  # (head, seq): the events after each head the "database" holds
        self.calls: list[tuple[int, list[object]]] = []
        self.called = asyncio.Event()

    async def batch(self, room_id: int, after: int, views: Any, written: Any = ()) -> _Batch:
        self.calls.append((after, list(written)))
        self.called.set()
        last = max([after, *(s for s in (after + 1, after + 2) if (after, s) in self.stored)])
        return _Batch(seqs=list(range(after + 1, last + 1)))


class _Host:
    def __init__(self, feed: _Feed) -> None:
        self.feed = feed

        class _Inflight:
            async def settle(self, seconds: float) -> None:
                return None

        self.inflight = _Inflight()

    def room_gone(self, room_id: int) -> None:
        raise AssertionError("the room is there")


async def test_the_channel_hands_the_feed_only_a_run_that_follows_its_head() -> None:
    feed = _Feed({(10, 11), (10, 12), (12, 14)})
    channel = Channel(_Host(feed), room_id=1, slug="r", head=10)  # type: ignore[arg-type]
    try:
        channel.written(9, "already out")
        channel.written(12, "b")
        channel.written(11, "a")
        channel.announce(12)
        await asyncio.wait_for(feed.called.wait(), 10)
        await until(lambda: channel.head == 12)
        assert feed.calls == [(10, ["a", "b"])]
        feed.called.clear()
        channel.written(14, "d")  # 13 was written elsewhere: the run stops before it
        channel.announce(14)
        await asyncio.wait_for(feed.called.wait(), 10)
        await until(lambda: channel.head == 14)
        assert feed.calls[1] == (12, [])
        assert channel._written == {}
    finally:
        channel.close()


async def test_on_sqlite_a_post_reaches_a_socket_without_the_pump_reading_it(live: LiveServer, make_user: Any) -> None:
    moderator = await make_user(is_moderator=True)
    ada, bob = await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob)
    async with await live.connect(bob, room["slug"]) as ws:
        await until(lambda: bob.id in live.hub.by_user)
        with recorded_statements(live.resources) as seen:
            message = await post(live, ada, room["slug"], "Straight from the write")
            frames = await frames_until(ws, has_kind("message.posted"))
    posted = of_kind(frames, "message.posted")[0]
    assert posted["data"]["message"]["id"] == message["id"]
    assert posted["data"]["message"]["author"]["id"] == ada.id
    pump_reads = [sql for sql in seen if EVENTS_READ in sql]
    if live.settings.is_sqlite:
        assert pump_reads == []
    else:
        assert pump_reads
