"""One room as one process follows it: the local sockets grouped by view, and the pump that
turns broker notices into frames.

The pump is the only writer of live frames for the room, so frames leave in seq order.
State (tallies, someone's own votes) is read by the pump alone too, one read after the other,
the state a socket starts with included: a frame of state never reaches a socket after one
read later.
It keeps ``head``, the last seq fanned out; a notice past the head (or a resync) makes it
ask the feed for every event after the head, so a lost notice leaves no gap.

Per batch the feed renders one frame per view that has sockets, not per socket: each
``(format, privileged)`` group gets the same prepared bytes. A socket whose user an event is
about (the author of a post, the member a mute is about) gets its personal frame of that
event in between, in seq order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, Protocol

from innovate import metrics
from innovate.db import utcnow
from innovate.realtime.connection import Connection, Outgoing
from innovate.realtime.feed import Batch, Feed, View
from innovate.realtime.frames import dumps, ephemeral
from innovate.realtime.inflight import WritesInFlight
from innovate.realtime.presence import PresenceBoard

log = logging.getLogger("innovate.live")

# Socket writes between turns for the rest of the process. A fan-out to thousands of sockets
# takes several turns, so the next post of a member who posts as fast as answers come back
# (their next request on a keep-alive connection) is stored meanwhile and the batch after
# carries it with others, one send() per socket for all of them.
YIELD_EVERY = 200
STATE_INTERVAL = 0.1                # at most ~10 state frames (tallies) a second per room
PRESENCE_INTERVAL = 0.25            # between presence frames in a room of up to ~500 sockets;
PRESENCE_SOCKETS_PER_SECOND = 2000  # bigger rooms space them out, or a join storm would flood
PRESENCE_LISTED = 50                # users named in a presence frame; ``count`` has them all
TYPING_TTL = 6.0                    # seconds a "typing" mark stays on the page unless renewed
# A fan-out that took longer than this lets the writes under way land before the next batch
# is read, waiting at most as long as that fan-out took and never more than SETTLE_MAX: under
# a burst every socket gets several events per send(), and a quiet room never waits.
SETTLE_AFTER = 0.0005
SETTLE_MAX = 0.02
# Events this process wrote, held for the pump until it passes their seq: beyond this many
# (a pump held up), later ones are read back as any other.
WRITTEN_MAX = 1000

# A coalesced state signal: (name, the user it is for or None, the item it is about).
StateChange = tuple[str, int | None, int]


class Host(Protocol):
    """What a channel needs of the hub that owns it."""

    feed: Feed
    inflight: WritesInFlight
    presence: PresenceBoard

    def recheck(self, conns: Iterable[Connection], code: int = ...) -> None: ...

    def room_gone(self, room_id: int) -> None: ...

    async def names_for(self, user_ids: Iterable[int]) -> dict[int, dict[str, Any]]: ...


class Channel:
    def __init__(self, host: Host, room_id: int, slug: str, head: int) -> None:
        self.host = host
        self.room_id = room_id
        self.slug = slug
        self.head = head
        self.poll = False
        # Made as sockets arrive: one group per view and format (language) in use.
        self.groups: dict[View, set[Connection]] = {}
        self.users: dict[int, set[Connection]] = {}
        self.changes: set[StateChange] = set()
        self.arrivals: set[Connection] = set()  # live since the last turn: to be sent the state
        self.last_state = 0.0
        self.presence_dirty = False
        self.last_presence = 0.0
        self.presence_message: Outgoing | None = None
        self.typing_queue: list[tuple[int, int | None]] = []
        self.fanning_out = False
        self.fan_out_seconds = 0.0  # how long the last batch took to hand to every socket
        self._regroups: list[tuple[Connection, bool]] = []
        self._written: dict[int, object] = {}  # seq -> the event as this process wrote it
        self._wake = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"innovate-room-{room_id}")

    # Sockets ----------------------------------------------------------------------------

    def add(self, conn: Connection) -> bool:
        """Add a socket; True when it is its user's first here."""
        self.groups.setdefault(conn.view, set()).add(conn)
        mine = self.users.setdefault(conn.user_id, set())
        mine.add(conn)
        return len(mine) == 1

    def remove(self, conn: Connection) -> tuple[bool, bool]:
        """(was here, was its user's last socket here)."""
        group = self.groups.get(conn.view, set())
        if conn not in group:
            return False, False
        group.discard(conn)
        self.arrivals.discard(conn)
        mine = self.users.get(conn.user_id)
        if mine is not None:
            mine.discard(conn)
            if not mine:
                del self.users[conn.user_id]
                return True, True
        return True, False

    def regroup(self, conn: Connection, privileged: bool) -> None:
        """Switch a socket to the other view (promotion, demotion). While a batch is read,
        rendered and fanned out the switch waits until it ends, so the socket gets every
        event of the batch in the view it was rendered for."""
        if self.fanning_out:
            self._regroups.append((conn, privileged))
            return
        group = self.groups.get(conn.view, set())
        if conn not in group:
            return
        group.discard(conn)
        conn.privileged = privileged
        self.groups.setdefault(conn.view, set()).add(conn)

    @property
    def empty(self) -> bool:
        return not self.users

    def connections(self) -> list[Connection]:
        return [c for group in self.groups.values() for c in group]

    def _views(self) -> list[View]:
        return [view for view, group in self.groups.items() if group]

    # Notices ----------------------------------------------------------------------------

    def written(self, seq: int, written: object) -> None:
        if seq > self.head and len(self._written) < WRITTEN_MAX:
            self._written[seq] = written

    def _written_run(self) -> list[object]:
        """The events held from ``head + 1`` on, up to the first seq missing."""
        run: list[object] = []
        seq = self.head + 1
        while (found := self._written.get(seq)) is not None:
            run.append(found)
            seq += 1
        return run

    def announce(self, seq: int) -> None:
        if seq > self.head:
            self.poll = True
            self._wake.set()

    def resync(self) -> None:
        self.poll = True
        self._wake.set()

    def state_changed(self, name: str, user_id: int | None, item_id: int) -> None:
        """A coalesced state signal (a tally, someone's own vote): the current value goes out
        at most every ``STATE_INTERVAL``. One for a user with no socket here is dropped."""
        if user_id is not None and user_id not in self.users:
            return
        self.changes.add((name, user_id, item_id))
        self._wake.set()

    def arrived(self, conn: Connection) -> None:
        """A socket has gone live: it is sent the state as it stands. Read here, in turn with
        every other read of state, rather than by the socket's own task: a read of its own
        running beside the pump's could hand the socket a state older than frames the pump
        sent it meanwhile, and the older one would stay on the page."""
        self.arrivals.add(conn)
        self._wake.set()

    def typing(self, user_id: int, idea_id: int | None) -> None:
        self.typing_queue.append((user_id, idea_id))
        self._wake.set()

    def presence_changed(self) -> None:
        self.presence_dirty = True
        self._wake.set()

    def close(self) -> None:
        self.task.cancel()

    # The pump ---------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            delay = self._due_in(loop.time())
            if delay is None or delay > 0:
                try:
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                except TimeoutError:
                    pass
            self._wake.clear()
            try:
                await self._work(loop.time())
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database restarting, most likely: keep the sockets, try again shortly.
                failures += 1
                log.exception("room %s: live update failed (attempt %d)", self.room_id, failures)
                self.poll = True
                await asyncio.sleep(min(5.0, 0.1 * 2 ** failures))

    def _due_in(self, now: float) -> float | None:
        due: list[float] = []
        if self.changes:
            due.append(self.last_state + STATE_INTERVAL - now)
        if self.presence_dirty:
            due.append(self.last_presence + self._presence_interval() - now)
        if self.poll or self.typing_queue or self.arrivals:
            due.append(0.0)
        return min(due) if due else None

    def _presence_interval(self) -> float:
        sockets = sum(len(group) for group in self.groups.values())
        return max(PRESENCE_INTERVAL, sockets / PRESENCE_SOCKETS_PER_SECOND)

    async def _work(self, now: float) -> None:
        if self.poll:
            await self._catch_up()
        if self.arrivals:
            await self._send_room_state()
        if self.changes and now >= self.last_state + STATE_INTERVAL:
            await self._flush_state(now)
        if self.presence_dirty and now >= self.last_presence + self._presence_interval():
            await self._flush_presence(now)
        if self.typing_queue:
            await self._flush_typing()

    # Stored events ----------------------------------------------------------------------

    async def _catch_up(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self.fan_out_seconds > SETTLE_AFTER:
                await self.host.inflight.settle(min(self.fan_out_seconds, SETTLE_MAX))
            self.poll = False
            # From the read to the last write, sockets keep the view they had when the
            # batch was rendered: a promotion or demotion meanwhile waits (``regroup``), so
            # nobody is handed a view whose frames were never rendered and loses an event.
            self.fanning_out = True
            try:
                batch = await self.host.feed.batch(self.room_id, self.head, self._views(), self._written_run())
                if batch is None:
                    self.host.room_gone(self.room_id)
                    return
                if not batch.seqs:
                    return
                started = loop.time()
                await self._fan_out(batch)
                self.fan_out_seconds = loop.time() - started
            finally:
                self.fanning_out = False
                regroups, self._regroups = self._regroups, []
                for conn, privileged in regroups:
                    self.regroup(conn, privileged)
            self.head = batch.seqs[-1]
            if self._written:
                self._written = {seq: item for seq, item in self._written.items() if seq > self.head}
            self._recheck(batch)
            if not batch.more:
                return

    async def _fan_out(self, batch: Batch) -> None:
        """Hand every socket the batch in seq order. A socket whose user no event is about
        gets its view's run of frames in one write; the users events are about get their
        personal frame of those events in between."""
        seqs = batch.seqs
        subjects = batch.subjects
        about_any: set[int] = set().union(*subjects) if subjects else set()
        delivered = since_yield = 0
        for view, group in list(self.groups.items()):
            frames = batch.shared(view)
            if not group or frames is None:
                # No frames for a view nobody had when the batch was read: its sockets
                # joined since, and their replay already covers the batch.
                continue
            run_seqs = [seqs[i] for i, frame in enumerate(frames) if frame is not None]
            run = [frame for frame in frames if frame is not None]
            wire = b"".join(m.wire for m in run) if len(run) > 1 else b""
            for conn in list(group):
                if since_yield >= YIELD_EVERY:
                    # A big room: let requests and other rooms run in between. Each socket
                    # gets its whole run at once, so its frames stay in order.
                    since_yield = 0
                    await asyncio.sleep(0)
                if conn.user_id in about_any:
                    sent = self._push_personal(conn, batch, frames)
                elif wire:
                    conn.push_run(run_seqs, run, wire)
                    sent = len(run)
                elif run:
                    conn.push(run_seqs[0], run[0])
                    sent = 1
                else:
                    sent = 0
                delivered += sent
                since_yield += sent
        now = utcnow()
        for created in batch.created_at:
            metrics.FANOUT_LATENCY.observe(max(0.0, (now - created).total_seconds()))
        metrics.EVENTS_DELIVERED.inc(delivered)

    def _push_personal(self, conn: Connection, batch: Batch, shared: Any) -> int:
        """The batch for a socket of a user some events are about: their own view of those,
        the shared frames of the rest, in seq order."""
        sent = 0
        for i, seq in enumerate(batch.seqs):
            if conn.user_id in batch.subjects[i]:
                message = batch.personal(conn.user_id, conn.view, i)
            else:
                message = shared[i]
            if message is None:
                continue
            conn.push(seq, message)
            sent += 1
        return sent

    def _recheck(self, batch: Batch) -> None:
        """Events that change who may watch: re-check the sockets concerned."""
        if batch.recheck_all:
            self.host.recheck(self.connections())
            return
        for user_id in batch.recheck_users:
            conns = self.users.get(user_id)
            if conns:
                self.host.recheck(conns)

    # Signals ----------------------------------------------------------------------------

    async def _flush_state(self, now: float) -> None:
        """The current state behind the signals since the last flush, read after them (so
        the last frames hold the last committed state)."""
        self.last_state = now
        changes, self.changes = self.changes, set()
        frames = await self.host.feed.state(self.room_id, changes, self._views())
        if frames is None:
            self.host.room_gone(self.room_id)
            return
        for state in frames:
            if state.user_id is not None:
                for conn in self.users.get(state.user_id, ()):
                    conn.push(None, state.frames.message(conn.format))
                continue
            for (fmt, privileged), group in self.groups.items():
                if group and privileged == state.privileged:
                    message = state.frames.message(fmt)
                    for conn in group:
                        conn.push(None, message)

    async def _send_room_state(self) -> None:
        """The state as it stands to the sockets that went live since the last turn."""
        arrivals = [conn for conn in self.arrivals if not conn.closed]
        self.arrivals = set()
        if not arrivals:
            return
        try:
            frames = await self.host.feed.room_state(
                self.room_id, {conn.view for conn in arrivals}, {conn.user_id for conn in arrivals})
        except BaseException:
            self.arrivals.update(arrivals)  # the next turn tries again
            raise
        if frames is None:
            self.host.room_gone(self.room_id)
            return
        for state in frames:
            for conn in arrivals:
                if (conn.user_id == state.user_id if state.user_id is not None
                        else conn.privileged == state.privileged):
                    conn.push(None, state.frames.message(conn.format))

    async def _flush_presence(self, now: float) -> None:
        self.presence_dirty = False
        self.last_presence = now
        user_ids = self.host.presence.users(self.room_id)
        names = await self.host.names_for(user_ids[:PRESENCE_LISTED])
        listed = [names[u] for u in user_ids[:PRESENCE_LISTED] if u in names]
        frame = ephemeral("presence", self.slug, {"users": listed, "count": len(user_ids)})
        message = self.presence_message = Outgoing(dumps(frame))
        for group in self.groups.values():
            for conn in group:
                conn.push(None, message)

    async def _flush_typing(self) -> None:
        queue, self.typing_queue = self.typing_queue, []
        names = await self.host.names_for({user_id for user_id, _ in queue})
        for user_id, idea_id in queue:
            person = names.get(user_id)
            if person is None:
                continue
            frame = ephemeral("typing", self.slug, {"user": person, "idea_id": idea_id, "expires_in": TYPING_TTL})
            message = Outgoing(dumps(frame))
            for group in self.groups.values():
                for conn in group:
                    if conn.user_id != user_id:
                        conn.push(None, message)

    def send_standing(self, conn: Connection) -> None:
        """Tell one socket its own standing changed (muted: the composer turns off)."""
        now = utcnow()
        muted = conn.muted(now)
        data = {
            "moderator": conn.privileged,
            "muted_until": conn.muted_until.isoformat() if muted and conn.muted_until else None,
            "can_post": not muted,
        }
        # HTML pages get their #my-standing swap with the member.* event itself (rendered
        # in the member's personal view); this frame is for scripts and JSON clients.
        conn.push(None, Outgoing(dumps(ephemeral("standing", self.slug, data))))
