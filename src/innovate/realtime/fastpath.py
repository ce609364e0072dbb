"""The one place that reaches into uvicorn's and websockets' internals: writing a prepared
frame straight to a socket's transport.

Pinned: uvicorn 0.54.0 (``uvicorn.protocols.websockets.websockets_sansio_impl.
WebSocketsSansIOProtocol``, which ``innovate serve`` runs as :class:`LeanProtocol`) and
websockets 17.4 (its Sans-I/O ``ServerProtocol``, the protocol's ``conn``).

Why: an ASGI ``send`` per socket and frame costs three coroutines (Starlette's wrapper,
uvicorn's ``send``, the writable gate) and frames the payload once per socket. Writing the
bytes framed once per view to the transport is what lets a room fan out as fast as
``websockets.broadcast()``. For a text frame, uvicorn's ``send`` does exactly these calls.

What is used, and why each is needed:

- the protocol object behind the connection, found as ``receive.__self__`` (uvicorn passes
  its bound ``asgi_receive``);
- ``protocol.close_sent``, ``protocol.disconnected``: the socket is closing or gone;
- ``protocol.writable``: an event, set while the transport takes writes;
- ``protocol.transport``: ``write`` and ``abort``;
- ``protocol.conn`` (websockets' ``ServerProtocol``): ``state``, ``extensions``, ``writes``,
  ``expect_continuation_frame`` decide whether frames framed once fit this socket (not with
  compression, nor behind frames it has not handed over); ``send_text`` and
  ``data_to_send`` frame a payload the usual way when they do not.

And to keep an idle socket small: ``innovate serve`` runs :class:`LeanProtocol`, uvicorn's
protocol with its attributes in slots (no instance dict of ~40 entries), and its receive
queue and ``writable`` gate replaced by objects that allocate nothing until something waits
or arrives (an ``asyncio.Queue`` holds three deques and an ``asyncio.Event``, each deque
~760 B, for every socket). ``forget_handshake`` lets go of the handshake once the app has
read what it needs: the request's headers, which websockets' parser also keeps in a local of
its generator for the socket's life (``conn.parser``), and the response uvicorn keeps.

On an upgrade, ``tests/test_fastpath.py`` fails when any of these is missing or the fast
path is off under ``innovate serve``'s settings, or when the protocol sets an attribute
:class:`LeanProtocol` has no slot for: compare the new ``__init__``, ``send`` and ``receive``
of uvicorn's protocol with what is here, then update the pins above. Where the protocol is not found
(another ASGI server), connections fall back to ASGI ``send`` and stay correct, only slower.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import OPEN

ASGIReceive = Callable[[], Awaitable[MutableMapping[str, Any]]]

# The protocol's attributes this module reads (the test checks them on a live socket).
PROTOCOL_ATTRIBUTES = ("close_sent", "disconnected", "writable", "transport", "conn", "handshake_complete",
                       "initial_response", "request", "response", "queue")
CONNECTION_ATTRIBUTES = ("state", "extensions", "writes", "expect_continuation_frame", "send_text", "data_to_send")


class LazyEvent:
    """What uvicorn's protocol asks of ``asyncio.Event`` (``set``, ``clear``, ``is_set``,
    ``wait``), with no deque until something waits."""

    __slots__ = ("_value", "_waiters")

    def __init__(self) -> None:
        self._value = False
        self._waiters: list[asyncio.Future[bool]] | None = None

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        if self._value:
            return
        self._value = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(True)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> bool:
        if self._value:
            return True
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            return await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)


class LazyQueue:
    """What uvicorn's protocol asks of its receive queue (``put_nowait``, ``get``, ``empty``),
    holding nothing while the socket is idle: the deque exists only while messages wait."""

    __slots__ = ("_items", "_getters")

    def __init__(self) -> None:
        self._items: deque[Any] | None = None
        self._getters: list[asyncio.Future[None]] | None = None

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        self._wake_one()

    def _wake_one(self) -> None:
        for getter in self._getters or ():
            if not getter.done():
                getter.set_result(None)
                return

    async def get(self) -> Any:
        while not self._items:
            getter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = []
            self._getters.append(getter)
            try:
                await getter
            except asyncio.CancelledError:
                if self._items:
                    self._wake_one()  # what it may have been woken for goes to the next getter
                raise
            finally:
                if self._getters is not None and getter in self._getters:
                    self._getters.remove(getter)
                    if not self._getters:
                        self._getters = None
        items = self._items
        item = items.popleft()
        if not items:
            self._items = None
        return item


class LeanProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, smaller per socket (what ``innovate serve`` runs).

    Every attribute uvicorn sets is a slot (``tests/test_fastpath.py`` fails when an upgrade
    adds one, which would bring the instance dict back), and the receive queue and the
    ``writable`` gate are :class:`LazyQueue` and :class:`LazyEvent`."""

    __slots__ = (
        "config", "app", "loop", "logger", "root_path", "asgi_version", "app_state", "connections", "tasks",
        "default_headers", "transport", "server", "client", "scheme", "queue", "handshake_initiated",
        "handshake_complete", "close_sent", "disconnected", "close_timer", "close_timeout", "initial_response",
        "conn", "read_paused", "writable", "ping_interval", "ping_timeout", "ping_timer", "pong_timer",
        "pending_ping_payload", "ping_sent_at", "last_ping_rtt", "frames", "curr_msg_data_type", "request",
        "response", "scope",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = LazyQueue()  # type: ignore[assignment]
        writable = LazyEvent()
        writable.set()
        self.writable = writable  # type: ignore[assignment]


# How ``innovate serve`` names it to uvicorn (``ws=``): an import string, so that every
# worker process imports it.
SERVER_PROTOCOL = f"{LeanProtocol.__module__}:{LeanProtocol.__qualname__}"


def direct_protocol(receive: ASGIReceive) -> Any:
    """uvicorn's websockets-sansio protocol behind this connection, or None (fall back to ASGI)."""
    protocol = getattr(receive, "__self__", None)
    return protocol if isinstance(protocol, WebSocketsSansIOProtocol) else None


def text_frame(payload: bytes) -> bytes:
    """RFC 6455 §5.2: a final, unmasked text frame (what a server without extensions sends)."""
    n = len(payload)
    if n < 126:
        header = bytes((0x81, n))
    elif n < 1 << 16:
        header = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return header + payload


def gone(protocol: Any) -> bool:
    return bool(protocol.close_sent or protocol.disconnected)


def ready(protocol: Any) -> bool:
    """The transport takes writes now (else the caller queues and drains through ASGI)."""
    return bool(protocol.writable.is_set())


def prepared_frames_fit(protocol: Any) -> bool:
    """May frames framed once per view go to this socket as they are? Not with an extension
    (compression changes the bytes), nor behind frames the protocol has not yet handed over."""
    conn = protocol.conn
    return conn.state is OPEN and not (conn.extensions or conn.writes or conn.expect_continuation_frame)


def write(protocol: Any, wire: bytes, data: bytes) -> None:
    """Write one text frame: ``wire`` as framed once per view when it fits, else ``data``
    framed by the socket's own protocol. Raises when the transport is gone."""
    if prepared_frames_fit(protocol):
        protocol.transport.write(wire)
        return
    conn = protocol.conn
    conn.send_text(data)
    protocol.transport.write(b"".join(conn.data_to_send()))


def write_run(protocol: Any, wire: bytes) -> bool:
    """Write several prepared frames in one go; False when they do not fit this socket."""
    if not prepared_frames_fit(protocol):
        return False
    protocol.transport.write(wire)
    return True


def forget_handshake(protocol: Any) -> bool:
    """Let go of the handshake once the app has read it: empty the request's headers (the
    object websockets' parser also keeps for the socket's life) and drop the request and the
    response uvicorn keeps. False when they are not where uvicorn 0.54 keeps them."""
    request = getattr(protocol, "request", None)
    clear = getattr(getattr(request, "headers", None), "clear", None)
    if clear is None:
        return False
    clear()
    protocol.request = None
    protocol.response = None
    return True


def abort_transport(receive: ASGIReceive) -> bool:
    """Abort the socket under an ASGI connection, when the server exposes it (uvicorn's
    WebSocket protocols do, as ``receive.__self__.transport``). ASGI has no "abort"
    message, and a peer that stopped reading would otherwise keep the close pending."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    abort = getattr(transport, "abort", None)
    if abort is None:
        return False
    with contextlib.suppress(Exception):
        abort()
    return True


def denial_sent(receive: ASGIReceive) -> None:
    """After a handshake was answered with a denial response (ASGI's
    ``websocket.http.response``): mark it answered. uvicorn's websockets-sansio protocol does
    not, so every refused socket made it log "ASGI callable returned without completing
    handshake" at ERROR once the app returned (its wsproto protocol marks it, as the
    upstream fix does: Kludex/uvicorn#3138). A refusal is expected traffic, not an error."""
    protocol = direct_protocol(receive)
    if protocol is not None and protocol.initial_response is not None:
        protocol.handshake_complete = True
