"""The one place that reaches into uvicorn's and websockets' internals: writing a prepared
frame straight to a socket's transport.

Pinned: uvicorn 0.54.0 (``uvicorn.protocols.websockets.websockets_sansio_impl.
WebSocketsSansIOProtocol``, what ``innovate serve`` runs with ``ws="websockets-sansio"``) and
websockets 17.4 (its Sans-I/O ``ServerProtocol``, the protocol's ``conn``).

Why: an ASGI ``send`` per socket and frame costs three coroutines (Starlette's wrapper,
uvicorn's ``send``, the writable gate) and frames the payload once per socket. Writing the
bytes framed once per view to the transport is what lets a room fan out as fast as
``websockets.broadcast()``. For a text frame, uvicorn's ``send`` does exactly these calls.

What is used, and why each is needed:

- the protocol object behind the connection, found as ``receive.__self__`` (uvicorn passes
  its bound ``asgi_receive``);
- ``protocol.close_sent``, ``protocol.disconnected``: the socket is closing or gone;
- ``protocol.writable``: an ``asyncio.Event``, set while the transport takes writes;
- ``protocol.transport``: ``write`` and ``abort``;
- ``protocol.conn`` (websockets' ``ServerProtocol``): ``state``, ``extensions``, ``writes``,
  ``expect_continuation_frame`` decide whether frames framed once fit this socket (not with
  compression, nor behind frames it has not handed over); ``send_text`` and
  ``data_to_send`` frame a payload the usual way when they do not.

And to keep an idle socket small (``forget_handshake``): websockets' parser keeps the
handshake request it parsed (its headers, ~3 KiB) in a local of its generator for the
socket's life (``conn.parser``); the fast path empties those headers once the app has
read what it needs. uvicorn built the ASGI scope's headers from them before.

On an upgrade, ``tests/test_fastpath.py`` fails when any of these is missing or the fast
path is off under ``innovate serve``'s settings: compare the new ``send`` of uvicorn's
protocol with the calls here, then update the pins above. Where the protocol is not found
(another ASGI server), connections fall back to ASGI ``send`` and stay correct, only slower.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from websockets.protocol import OPEN

ASGIReceive = Callable[[], Awaitable[MutableMapping[str, Any]]]

# The protocol's attributes this module reads (the test checks them on a live socket).
PROTOCOL_ATTRIBUTES = ("close_sent", "disconnected", "writable", "transport", "conn", "handshake_complete",
                       "initial_response")
CONNECTION_ATTRIBUTES = ("state", "extensions", "writes", "expect_continuation_frame", "send_text", "data_to_send")


def protocol_class() -> type | None:
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import (
            WebSocketsSansIOProtocol,
        )
    except ImportError:
        return None
    return WebSocketsSansIOProtocol


_PROTOCOL = protocol_class()


def direct_protocol(receive: ASGIReceive) -> Any:
    """uvicorn's websockets-sansio protocol behind this connection, or None (fall back to ASGI)."""
    protocol = getattr(receive, "__self__", None)
    return protocol if _PROTOCOL is not None and isinstance(protocol, _PROTOCOL) else None


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
    """Empty the handshake request's headers that websockets' parser holds for the socket's
    life; False when they are not where websockets 17 keeps them."""
    parser = getattr(getattr(protocol, "conn", None), "parser", None)
    frame = getattr(parser, "gi_frame", None)
    request = frame.f_locals.get("request") if frame is not None else None
    headers = getattr(request, "headers", None)
    clear = getattr(headers, "clear", None)
    if clear is None:
        return False
    clear()
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
