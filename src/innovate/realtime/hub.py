"""The per-process hub: this process's live sockets by room and by user, fed by the broker.

The broker delivers small notices here (one subscription per process). The hub routes
them to the room's :class:`~innovate.realtime.channel.Channel`, whose pump asks the
:class:`~innovate.realtime.feed.Feed` for what the notice points at, rendered once per view,
and hands the same bytes to every socket of that view. The hub knows nothing of what the
frames say: that is the feed's.

Notices (ids are integers; every field but ``kind`` optional unless said):

=============================================================  ==================================
``{"room", "seq", "kind"}``                                    a stored event
``{"room", "kind": "state", "name", "item", "user_id"?}``      a state signal (a tally; with
                                                               ``user_id``, that user's own
                                                               vote): the current value goes
                                                               out, coalesced (~10 frames/s)
``{"kind": "user", "user_id", "frame"}``                       a frame for every socket of
                                                               that user, in any room
``{"kind": "access", "room"?, "user_id"?, "code"?}``           re-check sockets now: of that
                                                               user in that room, of the whole
                                                               room, or of the user everywhere;
                                                               those whose access is gone close
                                                               with ``code`` (default 1008),
                                                               the others get their new
                                                               standing
``{"kind": "presence", "room", "node", ...}``                  see :mod:`innovate.realtime.presence`
``{"kind": "typing", "room", "user_id", "idea_id"}``           "X is typing", never stored
``{"kind": "resync"}``                                         local only: the broker reconnected
=============================================================  ==================================

State changes reach the hub only through the write path's outbox (``innovate.writes``),
published after commit; the hub itself publishes only presence and typing, which are never
stored. A periodic re-check (``INNOVATE_WS_RECHECK_SECONDS``) catches anything else, such as
an expired session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Coroutine, Iterable
from typing import Any

import orjson

from innovate import metrics
from innovate.db import utcnow
from innovate.realtime.brokers import Broker
from innovate.realtime.channel import Channel
from innovate.realtime.connection import GOING_AWAY, POLICY, RESTART, Connection
from innovate.realtime.feed import Feed, Standing, Subscriber
from innovate.realtime.frames import PONG
from innovate.realtime.inflight import WritesInFlight
from innovate.realtime.presence import PresenceBoard, chunks
from innovate.settings import Settings

log = logging.getLogger("innovate.live")

TICK_SECONDS = 1.0
TYPING_MIN_INTERVAL = 2.0   # one "typing" broadcast per socket every 2 s at most
NAMES_CACHED = 50_000       # names kept for presence and typing frames


class Hub:
    def __init__(self, broker: Broker, feed: Feed, settings: Settings, inflight: WritesInFlight) -> None:
        self.broker = broker
        self.feed = feed
        self.settings = settings
        self.inflight = inflight
        self.node = secrets.token_hex(6)
        self.channels: dict[int, Channel] = {}
        self.by_user: dict[int, set[Connection]] = {}
        self.presence = PresenceBoard()
        self.names: dict[int, dict[str, Any]] = {}
        self._recheck: dict[Connection, int] = {}
        self._recheck_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self.closed = False

    # Lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._tick(), name="innovate-hub-tick"),
            asyncio.create_task(self._rechecker(), name="innovate-hub-recheck"),
        ]

    async def close(self) -> None:
        """Shutdown: tell the other processes our users left, close every socket with 1012
        so clients reconnect (to another replica if there is one)."""
        self.closed = True
        for room_id, channel in list(self.channels.items()):
            for chunk in chunks(channel.users):
                with contextlib.suppress(Exception):
                    await self.broker.publish(self._presence(room_id, gone=chunk))
        for conn in self.connections():
            conn.cut(RESTART, "server restart")
            self.detach(conn)
        tasks = [*self._tasks, *(c.task for c in self.channels.values()), *self._background]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.channels.clear()
        self.by_user.clear()

    # Sockets ----------------------------------------------------------------------------

    def attach(self, conn: Connection, head: int) -> None:
        """Follow ``conn``'s room from now on. Called before the replay is read, so nothing
        committed after this point can miss the socket (it buffers until ``go_live``)."""
        room_id = conn.room_id
        if room_id is None:
            raise ValueError("a socket in no room is attached with attach_user")
        channel = self.channels.get(room_id)
        new_channel = channel is None
        if channel is None:
            channel = self.channels[room_id] = Channel(self, room_id, conn.slug, head)
        first = channel.add(conn)
        self.by_user.setdefault(conn.user_id, set()).add(conn)
        self.names[conn.user_id] = {"id": conn.user_id, "name": conn.user_name, "kind": conn.user_kind}
        conn.on_closed = self.detach
        metrics.WS_CONNECTIONS.inc()
        if new_channel:
            self._publish_soon(self._presence(room_id, ask=True))
        if first:
            self._publish_soon(self._presence(room_id, here=[conn.user_id]))

    def attach_user(self, conn: Connection) -> None:
        """Follow a socket of the user's own, in no room: it gets the frames addressed to the
        user (``to_user``) and nothing else."""
        self.by_user.setdefault(conn.user_id, set()).add(conn)
        conn.on_closed = self.detach
        metrics.WS_CONNECTIONS.inc()
        conn.go_live(0)

    def go_live(self, conn: Connection, sent_seq: int) -> None:
        """After the replay: live frames flow, and the socket is told its own standing, who
        is here and, from the room's pump, the state as it stands (what the replay does not
        hold)."""
        conn.go_live(sent_seq)
        channel = self.channels.get(conn.room_id) if conn.room_id is not None else None
        if channel is None:
            return
        channel.send_standing(conn)
        channel.arrived(conn)
        if channel.presence_message is not None:
            conn.push(None, channel.presence_message)
        else:
            channel.presence_changed()

    def detach(self, conn: Connection) -> None:
        """Forget ``conn`` (idempotent)."""
        room_id = conn.room_id
        if room_id is None:
            if self._forget(conn):
                metrics.WS_CONNECTIONS.dec()
            return
        channel = self.channels.get(room_id)
        if channel is None:
            return
        was_here, last = channel.remove(conn)
        if not was_here:
            return
        metrics.WS_CONNECTIONS.dec()
        self._forget(conn)
        if last and not self.closed:
            self._publish_soon(self._presence(room_id, gone=[conn.user_id]))
        if channel.empty:
            channel.close()
            del self.channels[room_id]

    def _forget(self, conn: Connection) -> bool:
        """Drop ``conn`` from its user's sockets; whether it was there."""
        self._recheck.pop(conn, None)
        mine = self.by_user.get(conn.user_id)
        if mine is None or conn not in mine:
            return False
        mine.discard(conn)
        if not mine:
            del self.by_user[conn.user_id]
        return True

    def connections(self) -> list[Connection]:
        return [c for conns in self.by_user.values() for c in conns]

    def room_gone(self, room_id: int) -> None:
        channel = self.channels.get(room_id)
        if channel is not None:
            for conn in channel.connections():
                conn.cut(POLICY, "the room is gone")

    # What clients send -------------------------------------------------------------------

    def client_frame(self, conn: Connection, data: str | bytes) -> None:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if not isinstance(value, dict):
            return
        kind = value.get("type")
        if kind == "ping":
            conn.push(None, PONG)
        elif kind == "typing":
            idea_id = value.get("idea_id")
            if idea_id is not None and (isinstance(idea_id, bool) or not isinstance(idea_id, int) or idea_id < 1):
                return
            self._typing(conn, idea_id)

    def _typing(self, conn: Connection, idea_id: int | None) -> None:
        now = asyncio.get_running_loop().time()
        if conn.room_id is None or now - conn.last_typing < TYPING_MIN_INTERVAL or conn.muted(utcnow()):
            return
        conn.last_typing = now
        self._publish_soon({"kind": "typing", "room": conn.room_id, "user_id": conn.user_id, "idea_id": idea_id})

    # Broker notices ---------------------------------------------------------------------

    def written(self, room_id: int, seq: int, written: object) -> None:
        """An event this process has just committed, as its writer left it, before its notice
        is published: the room's pump may render it without reading it back."""
        channel = self.channels.get(room_id)
        if channel is not None:
            channel.written(seq, written)

    async def deliver(self, message: dict[str, Any]) -> None:
        kind = message.get("kind")
        if kind == "resync":
            self._resync()
            return
        if kind == "access":
            self._on_access(message)
            return
        if kind == "user":
            self._on_user(message)
            return
        room_id = message.get("room")
        if not isinstance(room_id, int):
            return
        if kind == "presence":
            self._on_presence(room_id, message)
            return
        channel = self.channels.get(room_id)
        if channel is None:
            return
        seq = message.get("seq")
        if isinstance(seq, int):
            channel.announce(seq)
        elif kind == "state":
            name, item, user_id = message.get("name"), message.get("item"), message.get("user_id")
            if isinstance(name, str) and isinstance(item, int) and (user_id is None or isinstance(user_id, int)):
                channel.state_changed(name, user_id, item)
        elif kind == "typing" and isinstance(message.get("user_id"), int):
            idea_id = message.get("idea_id")
            channel.typing(message["user_id"], idea_id if isinstance(idea_id, int) else None)

    def _on_user(self, message: dict[str, Any]) -> None:
        user_id, frame = message.get("user_id"), message.get("frame")
        if not isinstance(user_id, int) or not isinstance(frame, dict):
            return
        conns = self.by_user.get(user_id)
        if not conns:
            return
        encoded = self.feed.to_user(user_id, frame)
        if encoded is None:
            return
        for conn in list(conns):
            conn.push(None, encoded.message(conn.format))

    def _resync(self) -> None:
        for channel in self.channels.values():
            channel.resync()
        # The others may have let our users expire while the broker was away.
        for room_id in self.channels:
            self._announce(room_id)

    def _on_access(self, message: dict[str, Any]) -> None:
        room_id, user_id = message.get("room"), message.get("user_id")
        code = message.get("code")
        code = code if isinstance(code, int) and (code == POLICY or 4000 <= code <= 4999) else POLICY
        conns: Iterable[Connection]
        if isinstance(room_id, int):
            channel = self.channels.get(room_id)
            if channel is None:
                return
            conns = channel.users.get(user_id, ()) if isinstance(user_id, int) else channel.connections()
        elif isinstance(user_id, int):
            conns = self.by_user.get(user_id, ())
        else:
            return
        self.recheck(conns, code)

    def _on_presence(self, room_id: int, message: dict[str, Any]) -> None:
        node = message.get("node")
        if not isinstance(node, str):
            return
        if message.get("ask"):
            if node != self.node and room_id in self.channels:
                self._announce(room_id)
            return
        now = asyncio.get_running_loop().time()
        changed = False
        here, gone = message.get("here"), message.get("gone")
        if isinstance(here, list):
            ttl = float(message.get("ttl") or 3 * self.settings.ws_presence_seconds)
            changed |= self.presence.here(room_id, node, [u for u in here if isinstance(u, int)], ttl, now)
        if isinstance(gone, list):
            changed |= self.presence.gone(room_id, node, [u for u in gone if isinstance(u, int)])
        channel = self.channels.get(room_id)
        if changed and channel is not None:
            channel.presence_changed()

    def _presence(self, room_id: int, *, here: list[int] | None = None, gone: list[int] | None = None,
                  ask: bool = False) -> dict[str, Any]:
        message: dict[str, Any] = {"kind": "presence", "room": room_id, "node": self.node}
        if here is not None:
            message["here"] = here
            message["ttl"] = 3 * self.settings.ws_presence_seconds
        if gone is not None:
            message["gone"] = gone
        if ask:
            message["ask"] = True
        return message

    def _announce(self, room_id: int) -> None:
        channel = self.channels.get(room_id)
        if channel is None:
            return
        for chunk in chunks(channel.users):
            self._publish_soon(self._presence(room_id, here=chunk))

    # Revocation -------------------------------------------------------------------------

    def recheck(self, conns: Iterable[Connection], code: int = POLICY) -> None:
        added = False
        for conn in conns:
            if not conn.closed:
                self._recheck[conn] = code
                added = True
        if added:
            self._recheck_wake.set()

    async def _rechecker(self) -> None:
        while True:
            await self._recheck_wake.wait()
            self._recheck_wake.clear()
            batch, self._recheck = self._recheck, {}
            conns = [c for c in batch if not c.closed]
            if not conns:
                continue
            try:
                found = await self.feed.standings([
                    Subscriber(c.user_id, c.room_id, c.session_id, c.token_hash) for c in conns])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("re-checking %d live sockets failed; retrying", len(conns))
                for conn in conns:
                    self._recheck.setdefault(conn, batch[conn])
                await asyncio.sleep(1.0)
                self._recheck_wake.set()
                continue
            for conn, standing in zip(conns, found, strict=True):
                self._apply(conn, standing, batch[conn])

    def _apply(self, conn: Connection, standing: Standing | None, code: int) -> None:
        if conn.closed:
            return
        if standing is None:
            conn.cut(code, "access revoked")
            return
        channel = self.channels.get(conn.room_id) if conn.room_id is not None else None
        if channel is None:
            return
        changed = False
        if standing.privileged != conn.privileged:
            channel.regroup(conn, standing.privileged)
            changed = True
        if standing.muted_until != conn.muted_until:
            conn.muted_until = standing.muted_until
            changed = True
        if changed:
            channel.send_standing(conn)

    # Names for presence and typing ------------------------------------------------------

    async def names_for(self, user_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        wanted = set(user_ids)
        if len(self.names) > NAMES_CACHED:
            self.names.clear()  # a cache, not a registry: start over rather than grow forever
        missing = [u for u in wanted if u not in self.names]
        if missing:
            self.names.update(await self.feed.names(missing))
        return {u: self.names[u] for u in wanted if u in self.names}

    # Housekeeping -----------------------------------------------------------------------

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        settings = self.settings
        next_heartbeat = loop.time() + settings.ws_presence_seconds
        next_recheck = loop.time() + settings.ws_recheck_seconds
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now = loop.time()
            try:
                for room_id in self.presence.expire(now):
                    channel = self.channels.get(room_id)
                    if channel is not None:
                        channel.presence_changed()
                if now >= next_heartbeat:
                    next_heartbeat = now + settings.ws_presence_seconds
                    for room_id in list(self.channels):
                        self._announce(room_id)
                self._sweep(now)
                if now >= next_recheck:
                    next_recheck = now + settings.ws_recheck_seconds
                    self.recheck(self.connections())
                    await self._poll_heads()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live housekeeping failed")

    def _sweep(self, now: float) -> None:
        """Close sockets that sent nothing for too long; lift mutes that ran out."""
        idle_before = now - self.settings.ws_idle_timeout_seconds
        today = utcnow()
        for conn in self.connections():
            if conn.last_seen < idle_before:
                conn.cut(GOING_AWAY, "idle")
            elif conn.muted_until is not None and conn.muted_until <= today:
                self.recheck((conn,))

    async def _poll_heads(self) -> None:
        """Safety net under the broker: a room whose head moved without a notice catches up."""
        if not self.channels:
            return
        heads = await self.feed.heads(list(self.channels))
        for room_id, channel in list(self.channels.items()):
            head = heads.get(room_id)
            if head is None:
                self.room_gone(room_id)
            elif head > channel.head:
                channel.resync()

    # Publishing from synchronous code ----------------------------------------------------

    def _publish_soon(self, message: dict[str, Any]) -> None:
        self._spawn(self.broker.publish(message))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
