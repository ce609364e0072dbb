"""One live WebSocket: its outbound path, its inbound limits, and how it ends.

Outbound, the hub hands every connection of a view the same :class:`Outgoing` frame (rendered
and UTF-8 encoded once per view). ``push`` writes it at once when the socket can take it, the
way ``websockets.broadcast()`` does: no task, no queue, no await per socket. Under uvicorn's
websockets-sansio protocol (what ``innovate serve`` runs) the encoded bytes go straight to
the transport (:mod:`innovate.realtime.fastpath`, the one place that knows uvicorn's and
websockets' internals); under any other ASGI server the ASGI ``send`` is stepped
synchronously instead. Only a socket whose transport is backed up gets a backlog
(bounded by ``INNOVATE_WS_QUEUE_SIZE``) and a task that drains it through ASGI ``send``. A backlog that overflows means the
client cannot keep up: it is cut off with **1013** ("try again later", which browsers'
hx-ws reconnects on) and reconnects with its last seq, losing nothing. If even the close
frame cannot be written, the transport is aborted, so a peer that stopped reading never
holds the room, the process or memory.

Inbound, frames are counted against a token bucket (``INNOVATE_WS_MESSAGES_PER_SECOND``,
over it → 1008) and the last one's time is kept for the idle sweep.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, MutableMapping, Sequence
from datetime import datetime
from typing import Any, cast

from innovate.realtime import fastpath

log = logging.getLogger("innovate.live")

ASGISend = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIReceive = Callable[[], Awaitable[MutableMapping[str, Any]]]

# Close codes (API.md "The live stream").
POLICY = 1008          # access gone, bad Origin, rate limit
TOO_BIG = 1009
GOING_AWAY = 1001      # idle: sent nothing for too long
RESTART = 1012         # server shutting down: reconnect (elsewhere)
TRY_AGAIN = 1013       # too slow to keep up: reconnect with the last seq
RELOAD = 4000          # too far behind: reload the page

# How long a cut-off connection may take to let its close frame out before the transport
# is aborted.
CLOSE_GRACE_SECONDS = 2.0


class Outgoing:
    """One text frame, prepared once and handed to every socket of a view.

    ``wire`` is the whole frame as it goes on the wire from a server without extensions
    (FIN, text opcode, unmasked length, payload): identical for every such socket, so the
    fast path writes it as it is instead of framing the payload once per socket."""

    __slots__ = ("text", "data", "wire", "asgi")

    def __init__(self, text: str) -> None:
        self.text = text
        self.data = text.encode()
        self.wire = fastpath.text_frame(self.data)
        self.asgi = {"type": "websocket.send", "text": text}


class Connection:
    """A member's socket on one room, as the hub and the endpoint see it."""

    __slots__ = (
        "send", "receive", "protocol", "task", "room_id", "slug", "user_id", "user_name", "user_kind", "privileged",
        "muted_until", "format", "session_id", "token_hash", "limit", "replaying", "pending", "backlog",
        "drainer", "closed", "close_code", "sent_seq", "last_seen", "tokens", "token_time", "rate", "last_typing",
        "on_closed", "__weakref__",
    )

    def __init__(
        self,
        *,
        send: ASGISend,
        receive: ASGIReceive,
        room_id: int | None,
        slug: str,
        user_id: int,
        user_name: str,
        user_kind: str,
        privileged: bool,
        muted_until: datetime | None,
        format: str,
        session_id: int | None,
        token_hash: str | None,
        queue_size: int,
        messages_per_second: float,
        after: int = 0,
    ) -> None:
        self.send = send
        self.receive = receive
        self.protocol = fastpath.direct_protocol(receive)
        self.task: asyncio.Task[Any] | None = asyncio.current_task()
        self.room_id = room_id
        self.slug = slug
        self.user_id = user_id
        self.user_name = user_name
        self.user_kind = user_kind
        self.privileged = privileged
        self.muted_until = muted_until
        self.format = format
        self.session_id = session_id
        self.token_hash = token_hash
        self.limit = queue_size
        # Until the replay is sent, live frames wait here with their seq (see ``go_live``).
        self.replaying = True
        self.pending: list[tuple[int | None, Outgoing]] = []
        self.backlog: deque[Outgoing] | None = None
        self.drainer: asyncio.Task[None] | None = None
        self.closed = False
        self.close_code: int | None = None
        # The last stored event this socket got: a seq arriving again (the replay read it
        # before the room's pump fanned it out) is dropped.
        self.sent_seq = after
        loop = asyncio.get_running_loop()
        self.last_seen = loop.time()
        self.rate = messages_per_second
        self.tokens = messages_per_second
        self.token_time = self.last_seen
        self.last_typing = 0.0
        self.on_closed: Callable[[Connection], None] | None = None

    @property
    def view(self) -> tuple[str, bool]:
        return (self.format, self.privileged)

    def muted(self, now: datetime) -> bool:
        return self.muted_until is not None and self.muted_until > now

    # Outbound ---------------------------------------------------------------------------

    def push(self, seq: int | None, frame: Outgoing) -> None:
        """Write or queue one prepared frame. Never awaits, never blocks the caller."""
        if self.closed:
            return
        if self.replaying:
            self.pending.append((seq, frame))
            if len(self.pending) > self.limit:
                self.cut(TRY_AGAIN, "too slow: reconnect", slow=True)
            return
        if seq is not None:
            if seq <= self.sent_seq:
                return
            self.sent_seq = seq
        backlog = self.backlog
        if backlog is not None:
            backlog.append(frame)
            if len(backlog) > self.limit:
                self.cut(TRY_AGAIN, "too slow: reconnect", slow=True)
            return
        protocol = self.protocol
        if protocol is not None:
            if fastpath.gone(protocol):
                self._lost()
                return
            if fastpath.ready(protocol):
                try:
                    fastpath.write(protocol, frame.wire, frame.data)
                except Exception:
                    self._lost()
                return
            # Backed up: queue it; the drainer waits for the transport through ASGI send.
            self.backlog = deque((frame,))
            self.drainer = asyncio.get_running_loop().create_task(self._drain(None))
            return
        # ASGI servers' send is a coroutine function: stepped by hand here, awaited nowhere else.
        coro = cast(Coroutine[Any, Any, None], self.send(frame.asgi))
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            return  # written: the common case
        except Exception:
            self._lost()
            return
        # The transport is full: finish this write, and the ones after it, in a task.
        self.backlog = deque()
        self.drainer = asyncio.get_running_loop().create_task(self._drain(_Resume(coro, waiting_on)))

    def push_run(self, seqs: Sequence[int], frames: Sequence[Outgoing], wire: bytes) -> None:
        """Write a run of stored events (ascending seqs, ``wire`` their frames joined) in one
        write when the socket is live and ready for it; else push them one by one."""
        protocol = self.protocol
        if (protocol is not None and not self.closed and not self.replaying and self.backlog is None
                and seqs[0] > self.sent_seq and not fastpath.gone(protocol) and fastpath.ready(protocol)):
            try:
                if fastpath.write_run(protocol, wire):
                    self.sent_seq = seqs[-1]
                    return
            except Exception:
                self._lost()
                return
        for seq, frame in zip(seqs, frames, strict=True):
            self.push(seq, frame)

    async def _drain(self, first: Awaitable[None] | None) -> None:
        try:
            if first is not None:
                await first
            backlog = self.backlog
            while backlog:
                await self.send(backlog.popleft().asgi)
            self.backlog = None
        except asyncio.CancelledError:
            raise
        except Exception:
            self._lost()
        finally:
            if self.drainer is asyncio.current_task():
                self.drainer = None

    async def send_now(self, frame: Outgoing) -> None:
        """Write one frame and wait for the transport (the replay, before going live)."""
        await self.send(frame.asgi)

    def go_live(self, sent_seq: int) -> None:
        """The replay is out up to ``sent_seq``: send what arrived meanwhile, skipping repeats."""
        pending, self.pending = self.pending, []
        self.replaying = False
        self.sent_seq = max(self.sent_seq, sent_seq)
        for seq, frame in pending:
            self.push(seq, frame)

    # Inbound ----------------------------------------------------------------------------

    def allow_frame(self, now: float) -> bool:
        """Token bucket: ``rate`` frames a second, bursts up to one second's worth."""
        self.last_seen = now
        self.tokens = min(self.rate, self.tokens + (now - self.token_time) * self.rate)
        self.token_time = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True

    # Ending -----------------------------------------------------------------------------

    def cut(self, code: int, reason: str = "", *, slow: bool = False) -> None:
        """Close from the server side, now, whatever the socket's state."""
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        self.pending = []
        self.backlog = None
        _count_close(code, slow)
        drainer, self.drainer = self.drainer, None
        if drainer is not None:
            # It waits for the transport at the writable gate, before writing anything.
            drainer.cancel()
        self._closed()
        coro = cast(Coroutine[Any, Any, None], self.send({"type": "websocket.close", "code": code, "reason": reason}))
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            return
        except Exception:
            return  # already gone
        # Backed up: give the close frame a moment to get out, then drop the transport.
        task = asyncio.get_running_loop().create_task(self._close_or_abort(_Resume(coro, waiting_on)))
        task.add_done_callback(_ignore_result)

    async def _close_or_abort(self, close: Awaitable[None]) -> None:
        try:
            async with asyncio.timeout(CLOSE_GRACE_SECONDS):
                await close
            return
        except TimeoutError:
            pass
        except Exception:
            return
        if not fastpath.abort_transport(self.receive) and self.task is not None and not self.task.done():
            # No transport to abort (another ASGI server): end the endpoint instead.
            self.task.cancel()

    def _lost(self) -> None:
        """The peer went away under us (a write failed)."""
        if self.closed:
            return
        self.closed = True
        self.pending = []
        self.backlog = None
        self._closed()

    def _closed(self) -> None:
        callback, self.on_closed = self.on_closed, None
        if callback is not None:
            # Soon, not now: the hub may be iterating over the group this socket leaves.
            asyncio.get_running_loop().call_soon(callback, self)


class _Resume:
    """Awaitable that finishes a coroutine already stepped once by hand.

    ``push`` runs the ASGI send synchronously; when it stops at the transport's writable
    gate, the suspended coroutine and the future it waits on are handed to a task through
    this object, which forwards the future to the task exactly as the coroutine yielded it.
    """

    __slots__ = ("coro", "waiting_on")

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        self.coro = coro
        self.waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, None]:
        coro, value = self.coro, self.waiting_on
        while True:
            try:
                sent = yield value
            except BaseException as exc:  # cancellation and the like reach the coroutine
                try:
                    value = coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    value = coro.send(sent)
                except StopIteration:
                    return


def _ignore_result(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _count_close(code: int, slow: bool) -> None:
    from innovate import metrics

    metrics.WS_CLOSED.labels(str(code)).inc()
    if slow:
        metrics.WS_SLOW_CONSUMERS.inc()
