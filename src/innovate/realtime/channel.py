"""One room as one process follows it: the local sockets grouped by view, and the pump that
turns broker notices into frames.

The pump is the only writer of live frames for the room, so frames leave in seq order.
It keeps ``head``, the last seq fanned out; a notice past the head (or a resync) makes it
read every event after the head from the Event table, so a lost notice leaves no gap.

Per batch of events it renders one frame per distinct view, not per socket:

- the moderators' view and the members' view (``Viewer(0, moderator)``), each encoded once
  per format (JSON, HTML) and handed to every socket of that group as the same message;
- a personal view only for the sockets of users the events are about (the author of a
  message or idea, the user a held post is addressed to), who may see more of their own
  things (a held post, an Edit link).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select

from innovate import metrics
from innovate.db import utcnow
from innovate.live.timeline import (
    audience_allows,
    frames_for,
    load_references,
    my_vote_frames,
    tally_frame,
)
from innovate.realtime.connection import Connection, Outgoing
from innovate.realtime.frames import FORMATS, dumps, ephemeral, now_iso
from innovate.rooms.models import Event, Room
from innovate.rooms.serializers import Viewer

if TYPE_CHECKING:
    from innovate.realtime.hub import Hub

log = logging.getLogger("innovate.live")

BATCH = 200                         # events read and fanned out at a time
YIELD_EVERY = 2000                  # socket writes between yields to the event loop
TALLY_INTERVAL = 0.1                # at most ~10 tally frames a second per room
PRESENCE_INTERVAL = 0.25            # between presence frames in a room of up to ~500 sockets;
PRESENCE_SOCKETS_PER_SECOND = 2000  # bigger rooms space them out, or a join storm would flood
PRESENCE_LISTED = 50                # users named in a presence frame; ``count`` has them all
TYPING_TTL = 6.0                    # seconds a "typing" mark stays on the page unless renewed
# A fan-out that took longer than this lets the writes under way land before the next batch
# is read, waiting at most as long as that fan-out took and never more than SETTLE_MAX: under
# a burst every socket gets several events per send(), and a quiet room never waits.
SETTLE_AFTER = 0.0005
SETTLE_MAX = 0.02

# Events after which the sockets of ``data.user_id`` re-check their standing.
MEMBER_KINDS = frozenset({"member.joined", "member.left", "member.removed", "member.muted",
                          "member.unmuted", "member.role_changed", "member.updated"})

GroupKey = tuple[str, bool]  # (format, moderator)

# Built once: the pump runs it for every batch.
_EVENTS_AFTER = (
    select(Event).where(Event.room_id == bindparam("room_id"), Event.seq > bindparam("head"))
    .order_by(Event.seq).limit(BATCH)
)


class Channel:
    def __init__(self, hub: Hub, room_id: int, slug: str, head: int) -> None:
        self.hub = hub
        self.room_id = room_id
        self.slug = slug
        self.head = head
        self.poll = False
        self.groups: dict[GroupKey, set[Connection]] = {(f, m): set() for f in FORMATS for m in (False, True)}
        self.users: dict[int, set[Connection]] = {}
        self.tally_ids: set[int] = set()
        self.my_votes: set[tuple[int, int]] = set()  # (user_id, idea_id) whose own vote changed
        self.last_tally = 0.0
        self.presence_dirty = False
        self.last_presence = 0.0
        self.presence_message: Outgoing | None = None
        self.typing_queue: list[tuple[int, int | None]] = []
        self.fanning_out = False
        self.fan_out_seconds = 0.0  # how long the last batch took to hand to every socket
        self._regroups: list[tuple[Connection, bool]] = []
        self._wake = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"innovate-room-{room_id}")

    # Sockets ----------------------------------------------------------------------------

    def add(self, conn: Connection) -> bool:
        """Add a socket; True when it is its user's first here."""
        self.groups[(conn.format, conn.moderator)].add(conn)
        mine = self.users.setdefault(conn.user_id, set())
        mine.add(conn)
        return len(mine) == 1

    def remove(self, conn: Connection) -> tuple[bool, bool]:
        """(was here, was its user's last socket here)."""
        group = self.groups[(conn.format, conn.moderator)]
        if conn not in group:
            return False, False
        group.discard(conn)
        mine = self.users.get(conn.user_id)
        if mine is not None:
            mine.discard(conn)
            if not mine:
                del self.users[conn.user_id]
                return True, True
        return True, False

    def regroup(self, conn: Connection, moderator: bool) -> None:
        """Switch a socket to the other view (promotion, demotion). While a batch is read,
        rendered and fanned out the switch waits until it ends, so the socket gets every
        event of the batch in the view it was rendered for."""
        if self.fanning_out:
            self._regroups.append((conn, moderator))
            return
        group = self.groups[(conn.format, conn.moderator)]
        if conn not in group:
            return
        group.discard(conn)
        conn.moderator = moderator
        self.groups[(conn.format, moderator)].add(conn)

    @property
    def empty(self) -> bool:
        return not self.users

    def connections(self) -> list[Connection]:
        return [c for group in self.groups.values() for c in group]

    # Notices ----------------------------------------------------------------------------

    def announce(self, seq: int) -> None:
        if seq > self.head:
            self.poll = True
            self._wake.set()

    def resync(self) -> None:
        self.poll = True
        self._wake.set()

    def tally(self, idea_id: int) -> None:
        self.tally_ids.add(idea_id)
        self._wake.set()

    def my_vote(self, user_id: int, idea_id: int) -> None:
        if user_id in self.users:
            self.my_votes.add((user_id, idea_id))
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
        if self.tally_ids or self.my_votes:
            due.append(self.last_tally + TALLY_INTERVAL - now)
        if self.presence_dirty:
            due.append(self.last_presence + self._presence_interval() - now)
        if self.poll or self.typing_queue:
            due.append(0.0)
        return min(due) if due else None

    def _presence_interval(self) -> float:
        sockets = sum(len(group) for group in self.groups.values())
        return max(PRESENCE_INTERVAL, sockets / PRESENCE_SOCKETS_PER_SECOND)

    async def _work(self, now: float) -> None:
        if self.poll:
            await self._catch_up()
        if (self.tally_ids or self.my_votes) and now >= self.last_tally + TALLY_INTERVAL:
            await self._flush_votes(now)
        if self.presence_dirty and now >= self.last_presence + self._presence_interval():
            await self._flush_presence(now)
        if self.typing_queue:
            await self._flush_typing()

    # Stored events ----------------------------------------------------------------------

    async def _catch_up(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self.fan_out_seconds > SETTLE_AFTER:
                await self.hub.resources.writes.settle(min(self.fan_out_seconds, SETTLE_MAX))
            self.poll = False
            # From the read to the last write, sockets keep the view they had when the
            # batch was rendered: a promotion or demotion meanwhile waits (``regroup``), so
            # nobody is handed a view whose frames were never rendered and loses an event.
            self.fanning_out = True
            try:
                async with self.hub.resources.db() as db:
                    room = await db.get(Room, self.room_id)
                    if room is None:
                        self.hub.room_gone(self.room_id)
                        return
                    events = list((await db.execute(
                        _EVENTS_AFTER, {"room_id": self.room_id, "head": self.head})).scalars())
                    if not events:
                        return
                    views = await self._render(db, room, events)
                started = loop.time()
                await self._fan_out(events, *views)
                self.fan_out_seconds = loop.time() - started
            finally:
                self.fanning_out = False
                regroups, self._regroups = self._regroups, []
                for conn, moderator in regroups:
                    self.regroup(conn, moderator)
            self.head = events[-1].seq
            self._after(events)
            if len(events) < BATCH:
                return

    async def _render(self, db: Any, room: Room, events: list[Event]) -> tuple[
            dict[bool, list[dict[str, Any]]], list[set[int]], dict[tuple[int, bool], dict[int, dict[str, Any]]]]:
        """Frames per shared view, who each event is about, and their personal frames."""
        # One load of what the batch points at serves every view rendered of it.
        refs = await load_references(db, events)
        shared: dict[bool, list[dict[str, Any]]] = {}
        # The moderators' view names every author, so it also tells whose sockets need a
        # personal view; it is rendered even when no moderator is watching.
        shared[True] = frames_for(refs, room, events, Viewer(user_id=0, moderator=True))
        if self.groups[("json", False)] or self.groups[("html", False)]:
            shared[False] = frames_for(refs, room, events, Viewer(user_id=0, moderator=False))
        subjects: list[set[int]] = []
        wanted: dict[tuple[int, bool], list[Event]] = {}
        for event, frame in zip(events, shared[True]):
            about = {u for u in _about(event, frame) if u in self.users}
            subjects.append(about)
            for user_id in about:
                for moderator in {c.moderator for c in self.users[user_id]}:
                    wanted.setdefault((user_id, moderator), []).append(event)
        personal: dict[tuple[int, bool], dict[int, dict[str, Any]]] = {}
        for (user_id, moderator), mine in wanted.items():
            frames = frames_for(refs, room, mine, Viewer(user_id=user_id, moderator=moderator))
            personal[(user_id, moderator)] = {f["seq"]: f for f in frames}
        return shared, subjects, personal

    async def _fan_out(self, events: Sequence[Event], shared: dict[bool, list[dict[str, Any]]],
                       subjects: list[set[int]], personal: dict[tuple[int, bool], dict[int, dict[str, Any]]]) -> None:
        """Hand every socket the batch in seq order. A socket whose user no event is about
        gets its view's run of frames in one write; the users events are about get their
        personal frame of those events in between."""
        encoder = self.hub.encoder
        about_any: set[int] = set().union(*subjects) if subjects else set()
        # A user's personal frames, encoded once for all their sockets of a format and view.
        encoded: dict[tuple[int, str, bool, int], Outgoing | None] = {}
        delivered = since_yield = 0
        for (fmt, moderator), group in list(self.groups.items()):
            frames = shared.get(moderator)
            if not group or frames is None:
                # No frames for a view nobody had when the batch was read: its sockets
                # joined since, and their replay already covers the batch.
                continue
            viewer = Viewer(user_id=0, moderator=moderator)
            run = [(i, event.seq, encoder.message(fmt, frames[i], viewer))
                   for i, event in enumerate(events) if audience_allows(event, viewer)]
            seqs = [seq for _, seq, _ in run]
            messages = [message for _, _, message in run]
            wire = b"".join(m.wire for m in messages) if len(messages) > 1 else b""
            for conn in list(group):
                if since_yield >= YIELD_EVERY:
                    # A big room: let requests and other rooms run in between. Each socket
                    # gets its whole run at once, so its frames stay in order.
                    since_yield = 0
                    await asyncio.sleep(0)
                if conn.user_id in about_any:
                    sent = self._push_personal(conn, events, run, subjects, personal, encoded)
                elif wire:
                    conn.push_run(seqs, messages, wire)
                    sent = len(seqs)
                elif run:
                    conn.push(seqs[0], messages[0])
                    sent = 1
                else:
                    sent = 0
                delivered += sent
                since_yield += sent
        now = utcnow()
        for event in events:
            metrics.FANOUT_LATENCY.observe(max(0.0, (now - event.created_at).total_seconds()))
        metrics.EVENTS_DELIVERED.inc(delivered)

    def _push_personal(self, conn: Connection, events: Sequence[Event], run: list[tuple[int, int, Outgoing]],
                       subjects: list[set[int]], personal: dict[tuple[int, bool], dict[int, dict[str, Any]]],
                       encoded: dict[tuple[int, str, bool, int], Outgoing | None]) -> int:
        """The batch for a socket of a user some events are about: their own view of those,
        the shared frames of the rest, in seq order."""
        shared_at = {i: message for i, _, message in run}
        viewer = Viewer(user_id=conn.user_id, moderator=conn.moderator)
        mine = personal.get((conn.user_id, conn.moderator), {})
        sent = 0
        for i, event in enumerate(events):
            if conn.user_id in subjects[i]:
                key = (conn.user_id, conn.format, conn.moderator, event.seq)
                if key not in encoded:
                    frame = mine.get(event.seq)
                    allowed = frame is not None and audience_allows(event, viewer)
                    encoded[key] = self.hub.encoder.message(conn.format, frame, viewer) if allowed else None  # type: ignore[arg-type]
                message = encoded[key]
                if message is None:
                    continue
            else:
                message = shared_at.get(i)
                if message is None:
                    continue
            conn.push(event.seq, message)
            sent += 1
        return sent

    def _after(self, events: Iterable[Event]) -> None:
        """Events that change who may watch: re-check the sockets concerned."""
        for event in events:
            if event.kind in MEMBER_KINDS:
                user_id = (event.data or {}).get("user_id")
                if isinstance(user_id, int):
                    self.hub.recheck(self.users.get(user_id, ()))
            elif event.kind in ("room.phase_changed", "room.updated"):
                self.hub.recheck(self.connections())

    # Signals ----------------------------------------------------------------------------

    async def _flush_votes(self, now: float) -> None:
        """Tallies for everyone, and each voter's own vote and dots left for their sockets,
        read in one go after the notices (so the last frames hold the last committed state)."""
        self.last_tally = now
        ids, self.tally_ids = self.tally_ids, set()
        wanted, self.my_votes = self.my_votes, set()
        tallies: dict[bool, dict[str, Any] | None] = {}
        async with self.hub.resources.db() as db:
            room = await db.get(Room, self.room_id)
            if room is None:
                return
            if ids:
                for moderator in (False, True):
                    if self.groups[("json", moderator)] or self.groups[("html", moderator)]:
                        tallies[moderator] = await tally_frame(db, room, ids, Viewer(user_id=0, moderator=moderator))
            mine = await my_vote_frames(db, room, wanted)
        at = now_iso()
        for (fmt, moderator), group in self.groups.items():
            frame = tallies.get(moderator)
            if not group or frame is None:
                continue
            frame.setdefault("at", at)
            message = self.hub.encoder.message(fmt, frame, Viewer(user_id=0, moderator=moderator))
            for conn in group:
                conn.push(None, message)
        for (user_id, _), frame in mine.items():
            frame["at"] = at
            viewer = Viewer(user_id=user_id, moderator=False)
            encoded: dict[str, Outgoing] = {}
            for conn in self.users.get(user_id, ()):
                message = encoded.get(conn.format)
                if message is None:
                    message = encoded[conn.format] = self.hub.encoder.message(conn.format, frame, viewer)
                conn.push(None, message)

    async def _flush_presence(self, now: float) -> None:
        self.presence_dirty = False
        self.last_presence = now
        user_ids = self.hub.presence.users(self.room_id)
        names = await self.hub.names_for(user_ids[:PRESENCE_LISTED])
        listed = [names[u] for u in user_ids[:PRESENCE_LISTED] if u in names]
        frame = ephemeral("presence", self.slug, {"users": listed, "count": len(user_ids)})
        message = self.presence_message = Outgoing(dumps(frame))
        for group in self.groups.values():
            for conn in group:
                conn.push(None, message)

    async def _flush_typing(self) -> None:
        queue, self.typing_queue = self.typing_queue, []
        names = await self.hub.names_for({user_id for user_id, _ in queue})
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

    def send_standing(self, conn: Connection, moderator: bool) -> None:
        """Tell one socket its own standing changed (muted: the composer turns off)."""
        now = utcnow()
        muted = conn.muted(now)
        data = {
            "moderator": moderator,
            "muted_until": conn.muted_until.isoformat() if muted and conn.muted_until else None,
            "can_post": not muted,
        }
        # HTML pages get their #my-standing swap with the member.* event itself (rendered
        # in the member's personal view); this frame is for scripts and JSON clients.
        conn.push(None, Outgoing(dumps(ephemeral("standing", self.slug, data))))


def _about(event: Event, frame: dict[str, Any]) -> set[int]:
    """Users whose own view of this event differs from everyone's: its addressee, the
    authors it shows, and the member a ``member.*`` event is about (their own standing)."""
    users: set[int] = set()
    if event.audience.startswith("user:"):
        try:
            users.add(int(event.audience[5:]))
        except ValueError:
            pass
    data = frame.get("data") or {}
    if event.kind.startswith("member.") and isinstance(data.get("user_id"), int):
        users.add(data["user_id"])
    for key in ("message", "idea"):
        item = data.get(key)
        author = item.get("author") if isinstance(item, dict) else None
        if isinstance(author, dict) and isinstance(author.get("id"), int):
            users.add(author["id"])
    return users
