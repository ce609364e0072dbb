"""A minimal WebSocket client (RFC 6455 subset) for the load generator.

Why not the ``websockets`` client for every connection?  A sink only has to
count frames, and thousands of sinks share one CPU core with the probes and
the publishers.  ``LiteWS`` is a bare ``asyncio.Protocol``: in *count* mode
``data_received`` walks the frame headers of whatever arrived and adds to two
integers, without building message objects, decoding UTF-8 or waking a task.
``python -m bench.run --scenarios sink_compare`` measures the difference (see
README.md).

Three receive modes:

* queue (default after the opening handshake): messages are queued for
  ``await ws.recv()``, which is what ``Target.subscribe_handshake`` uses; the
  API mirrors the ``websockets`` client (``send``/``recv``) so a target's
  handshake works with either implementation;
* count: data frames and received bytes are counted, nothing else is kept;
* callback: every data message is passed to ``on_message(str | bytes)``.

Control frames are always handled: pings are answered with pongs, a close
frame is answered and the connection closed.  Text payloads listed in the
``keepalive`` mapping (application-level pings such as Engine.IO's ``"2"``)
are answered with the mapped reply and are not counted as deliveries.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
import struct
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit

IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

QUEUE, COUNT, CALLBACK = 0, 1, 2


class WSClosed(ConnectionError):
    pass


class HandshakeError(ConnectionError):
    pass


def _mask(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    if n == 0:
        return payload
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """A final, masked client frame."""
    n = len(payload)
    key = os.urandom(4)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return header + key + _mask(payload, key)


class LiteWS(asyncio.Protocol):
    def __init__(self, host: str, path: str, headers: dict[str, str] | None = None) -> None:
        loop = asyncio.get_running_loop()
        self._key = base64.b64encode(os.urandom(16))
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {self._key.decode()}",
            "Sec-WebSocket-Version: 13",
        ]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        self._request = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self.opened: asyncio.Future = loop.create_future()
        self.closed: asyncio.Future = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self._handshaking = True
        self._buf = b""
        self._frag: list[bytes] | None = None
        self._frag_op = 0
        self.mode = QUEUE
        self._queue: deque = deque()
        self._waiter: asyncio.Future | None = None
        self.on_message: Callable[[str | bytes], None] | None = None
        self._keepalive: dict[bytes, bytes] = {}
        self._keepalive_max = -1
        self._prefix: bytes | None = None
        self.frames = 0  # data messages counted in COUNT mode
        self.other_frames = 0  # data messages not starting with the prefix
        self.nbytes = 0  # bytes received on the wire after the handshake
        self.close_code: int | None = None
        # Kernel receive time (ns, CLOCK_REALTIME) of the data being parsed,
        # set by TimestampedTransport; None for ordinary transports.
        self.rx_ns: int | None = None

    # -- asyncio.Protocol ------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self._request)

    def connection_lost(self, exc) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or WSClosed("closed during handshake"))
        if not self.closed.done():
            self.closed.set_result(exc)
        w = self._waiter
        if w is not None and not w.done():
            w.set_exception(WSClosed("connection closed"))

    def data_received(self, data: bytes) -> None:
        if self.mode == COUNT and not self._handshaking:
            self._count(data)
            return
        if self._handshaking:
            data = self._buf + data
            end = data.find(b"\r\n\r\n")
            if end < 0:
                self._buf = data
                return
            self._buf = b""
            self._handshake_done(data[: end + 4])
            data = data[end + 4 :]
            if not data or self.transport is None or self.transport.is_closing():
                return
            if self.mode == COUNT:
                self._count(data)
                return
        self._parse(data)

    # -- handshake -------------------------------------------------------------

    def _handshake_done(self, head: bytes) -> None:
        self._handshaking = False
        transport = self.transport
        assert transport is not None, "a handshake answer arrives on a connection"
        lines = head.split(b"\r\n")
        status = lines[0].split(b" ", 2)
        if len(status) < 2 or status[1] != b"101":
            self.opened.set_exception(HandshakeError(lines[0].decode("latin-1")))
            transport.close()
            return
        expected = base64.b64encode(hashlib.sha1(self._key + _GUID).digest())
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-accept":
                if value.strip() != expected:
                    self.opened.set_exception(HandshakeError("bad Sec-WebSocket-Accept"))
                    transport.close()
                    return
                break
        self.opened.set_result(True)

    # -- receiving -------------------------------------------------------------

    def _count(self, data: bytes) -> None:
        """Hot path for sinks: count complete data frames, keep nothing."""
        self.nbytes += len(data)
        if self._buf:
            data = self._buf + data
        n = len(data)
        i = 0
        c = 0
        other = 0
        kmax = self._keepalive_max
        prefix = self._prefix
        while n - i >= 2:
            ln = data[i + 1] & 0x7F
            if ln < 126:
                h = 2
            elif ln == 126:
                if n - i < 4:
                    break
                ln = (data[i + 2] << 8) | data[i + 3]
                h = 4
            else:
                if n - i < 10:
                    break
                ln = int.from_bytes(data[i + 2 : i + 10], "big")
                h = 10
            e = i + h + ln
            if e > n:
                break
            b0 = data[i]
            op = b0 & 0x0F
            if op < 3:
                if b0 & 0x80:  # FIN: one more complete message
                    if ln <= kmax and data[i + h : e] in self._keepalive:
                        self._send_raw(1, self._keepalive[data[i + h : e]])
                    elif prefix is None or data.startswith(prefix, i + h):
                        c += 1
                    else:
                        other += 1
            else:
                self._control(op, data[i + h : e])
            i = e
        self.frames += c
        self.other_frames += other
        self._buf = data[i:] if i < n else b""

    def _parse(self, data: bytes) -> None:
        self.nbytes += len(data)
        if self._buf:
            data = self._buf + data
            self._buf = b""
        n = len(data)
        i = 0
        while n - i >= 2:
            b0 = data[i]
            b1 = data[i + 1]
            ln = b1 & 0x7F
            h = 2
            if ln == 126:
                if n - i < 4:
                    break
                ln = (data[i + 2] << 8) | data[i + 3]
                h = 4
            elif ln == 127:
                if n - i < 10:
                    break
                ln = int.from_bytes(data[i + 2 : i + 10], "big")
                h = 10
            masked = b1 & 0x80
            if masked:
                h += 4
            e = i + h + ln
            if e > n:
                break
            payload = data[i + h : e]
            if masked:
                payload = _mask(payload, data[i + h - 4 : i + h])
            op = b0 & 0x0F
            i = e
            if op >= 8:
                self._control(op, payload)
                continue
            if op == 0:
                if self._frag is None:
                    continue
                self._frag.append(payload)
                if not b0 & 0x80:
                    continue
                payload = b"".join(self._frag)
                op = self._frag_op
                self._frag = None
            elif not b0 & 0x80:
                self._frag = [payload]
                self._frag_op = op
                continue
            if op == 1 and len(payload) <= self._keepalive_max and payload in self._keepalive:
                self._send_raw(1, self._keepalive[payload])
                continue
            self._deliver(payload.decode() if op == 1 else payload)
            if self.mode == COUNT:  # switched while parsing
                self._count(data[i:])
                self.nbytes -= n - i
                return
        self._buf = data[i:] if i < n else b""

    def _deliver(self, msg: str | bytes) -> None:
        if self.mode == CALLBACK and self.on_message is not None:
            self.on_message(msg)
        elif self.mode == COUNT:
            self._count_message(msg)
        else:
            self._queue.append(msg)
            w = self._waiter
            if w is not None and not w.done():
                w.set_result(None)

    def _control(self, op: int, payload: bytes) -> None:
        if op == 9:  # ping
            self._send_raw(10, payload)
        elif op == 8:  # close
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self._send_raw(8, payload[:2])
            if self.transport is not None:
                self.transport.close()

    # -- public API ------------------------------------------------------------

    def set_keepalive(self, mapping: dict[str, str]) -> None:
        self._keepalive = {k.encode(): v.encode() for k, v in mapping.items()}
        self._keepalive_max = max((len(k) for k in self._keepalive), default=-1)

    def set_count_prefix(self, prefix: bytes | None) -> None:
        """Count only data messages starting with ``prefix`` (None: all)."""
        self._prefix = prefix

    def _count_message(self, msg: str | bytes) -> None:
        raw = msg.encode() if isinstance(msg, str) else msg
        if self._prefix is None or raw.startswith(self._prefix):
            self.frames += 1
        else:
            self.other_frames += 1

    def count_mode(self) -> None:
        """Switch to counting; messages still queued are counted."""
        while self._queue:
            self._count_message(self._queue.popleft())
        self.mode = COUNT

    def callback_mode(self, on_message: Callable[[str | bytes], None]) -> None:
        self.on_message = on_message
        self.mode = CALLBACK
        while self._queue:
            on_message(self._queue.popleft())

    async def recv(self) -> str | bytes:
        while not self._queue:
            if self.closed.done():
                raise WSClosed("connection closed")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._queue.popleft()

    def _send_raw(self, opcode: int, payload: bytes) -> None:
        t = self.transport
        if t is not None and not t.is_closing():
            t.write(encode_frame(opcode, payload))

    def send_nowait(self, data: str | bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise WSClosed("connection closed")
        if isinstance(data, str):
            self.transport.write(encode_frame(1, data.encode()))
        else:
            self.transport.write(encode_frame(2, bytes(data)))

    async def send(self, data: str | bytes) -> None:
        self.send_nowait(data)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    async def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._send_raw(8, (1000).to_bytes(2, "big"))
            self.transport.close()


# SO_TIMESTAMPNS (== SCM_TIMESTAMPNS) from <asm-generic/socket.h>; the socket
# module does not export it.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("@qq")


class TimestampedTransport:
    """Drives a LiteWS from ``loop.add_reader`` with ``recvmsg`` so that each
    read carries the kernel's receive timestamp (SO_TIMESTAMPNS; for TCP it
    is the time the last segment of that read arrived).  Probes use it so a
    busy load generator does not add its own queueing delay to latencies.
    """

    def __init__(self, sock: socket.socket, proto: LiteWS) -> None:
        self._loop = asyncio.get_running_loop()
        self._sock = sock
        self._fd = sock.fileno()
        self._proto = proto
        self._wbuf = b""
        self._closing = False
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._loop.add_reader(self._fd, self._on_readable)

    def get_extra_info(self, name, default=None):
        return self._sock if name == "socket" else default

    def is_closing(self) -> bool:
        return self._closing

    def write(self, data: bytes) -> None:
        if self._closing:
            return
        if self._wbuf:
            self._wbuf += data
            return
        try:
            n = self._sock.send(data)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError as exc:
            self._teardown(exc)
            return
        if n < len(data):
            self._wbuf = data[n:]
            self._loop.add_writer(self._fd, self._flush)

    def _flush(self) -> None:
        try:
            n = self._sock.send(self._wbuf)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._teardown(exc)
            return
        self._wbuf = self._wbuf[n:]
        if not self._wbuf:
            self._loop.remove_writer(self._fd)

    def _on_readable(self) -> None:
        try:
            data, anc, _, _ = self._sock.recvmsg(262144, 64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._teardown(exc)
            return
        if not data:
            self._teardown(None)
            return
        rx = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= 16:
                sec, nsec = _TIMESPEC.unpack_from(payload)
                rx = sec * 1_000_000_000 + nsec
        self._proto.rx_ns = rx
        self._proto.data_received(data)

    def _teardown(self, exc) -> None:
        if self._fd < 0:
            return
        self._closing = True
        self._loop.remove_reader(self._fd)
        if self._wbuf:
            self._loop.remove_writer(self._fd)
        self._fd = -1
        self._sock.close()
        self._proto.connection_lost(exc)

    def close(self) -> None:
        self._teardown(None)

    def abort(self) -> None:
        self._teardown(None)


def _make_socket(host: str, port: int, local_ip: str | None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if local_ip:
            # Let connect() pick the port so the 4-tuple, not the local port
            # alone, has to be unique (no bind()-time port exhaustion).
            try:
                sock.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            except OSError:
                pass
            sock.bind((local_ip, 0))
    except BaseException:
        sock.close()
        raise
    return sock


async def connect(
    url: str,
    headers: dict[str, str] | None = None,
    local_ip: str | None = None,
    timeout: float = 15.0,
) -> LiteWS:
    """Open a LiteWS connection to ``ws://host:port/path?query``."""
    u = urlsplit(url)
    host = u.hostname or "127.0.0.1"
    port = u.port or 80
    path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    loop = asyncio.get_running_loop()
    sock = _make_socket(host, port, local_ip)
    try:
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, (host, port))
            _, proto = await loop.create_connection(
                lambda: LiteWS(f"{host}:{port}", path, headers), sock=sock
            )
            await proto.opened
    except BaseException:
        sock.close()
        raise
    return proto


async def connect_timestamped(
    url: str,
    headers: dict[str, str] | None = None,
    local_ip: str | None = None,
    timeout: float = 15.0,
) -> LiteWS:
    """Like ``connect`` but reads with kernel receive timestamps (``ws.rx_ns``)."""
    u = urlsplit(url)
    host = u.hostname or "127.0.0.1"
    port = u.port or 80
    path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    loop = asyncio.get_running_loop()
    sock = _make_socket(host, port, local_ip)
    proto = None
    try:
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, (host, port))
            proto = LiteWS(f"{host}:{port}", path, headers)
            proto.connection_made(TimestampedTransport(sock, proto))
            await proto.opened
    except BaseException:
        if proto is not None and proto.transport is not None:
            proto.transport.abort()
        else:
            sock.close()
        raise
    return proto


class WebsocketsSink:
    """The same sink built on the ``websockets`` client (for comparison)."""

    def __init__(self, conn) -> None:
        self.conn = conn
        self.frames = 0
        self.other_frames = 0
        self.nbytes = 0
        self._task: asyncio.Task | None = None
        self._keepalive: dict = {}
        self._prefix: bytes | None = None

    async def send(self, data) -> None:
        await self.conn.send(data)

    async def recv(self):
        return await self.conn.recv()

    def set_keepalive(self, mapping: dict[str, str]) -> None:
        self._keepalive = mapping

    def set_count_prefix(self, prefix: bytes | None) -> None:
        self._prefix = prefix

    def count_mode(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        ka = self._keepalive
        try:
            async for msg in self.conn:
                if msg in ka:
                    await self.conn.send(ka[msg])
                    continue
                raw = msg.encode() if isinstance(msg, str) else msg
                if self._prefix is None or raw.startswith(self._prefix):
                    self.frames += 1
                else:
                    self.other_frames += 1
                self.nbytes += len(raw)
        except Exception:
            pass

    def abort(self) -> None:
        if self._task is not None:
            self._task.cancel()
        t = getattr(self.conn, "transport", None)
        if t is not None:
            t.abort()


async def connect_websockets_lib(
    url: str,
    headers: dict[str, str] | None = None,
    local_ip: str | None = None,
    timeout: float = 15.0,
) -> WebsocketsSink:
    from websockets.asyncio.client import connect as ws_connect

    u = urlsplit(url)
    host = u.hostname or "127.0.0.1"
    port = u.port or 80
    loop = asyncio.get_running_loop()
    sock = _make_socket(host, port, local_ip)
    try:
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, (host, port))
            conn = await ws_connect(
                url,
                sock=sock,
                additional_headers=headers,
                compression=None,
                ping_interval=None,
                max_queue=None,
                open_timeout=timeout,
                proxy=None,
            )
    except BaseException:
        sock.close()
        raise
    return WebsocketsSink(conn)
