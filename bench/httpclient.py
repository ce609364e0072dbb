"""A minimal keep-alive HTTP/1.1 client for publishers and voters.

The load generator shares one core between thousands of sockets and the
publishers, so a request should cost little more than one ``write`` and one
read of the answer: no cookie jar, no redirects, no connection manager beyond
a list of idle connections.  It speaks to the application's JSON API only
(answers carry ``Content-Length`` or are chunked).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import orjson

# uvicorn closes a keep-alive connection after 5 s without a request. A connection idle for
# longer than this is closed here instead of reused: a request written as the server closes
# it would fail with nothing read, and a POST cannot safely be sent again.
IDLE_REUSE_SECONDS = 3.0


class HttpError(RuntimeError):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:300]!r}")
        self.status = status
        self.body = body


class HttpConn:
    """One keep-alive connection; requests on it run one after another."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader = reader
        self.writer = writer
        self.host = host
        self.reusable = True
        self.idle_since = 0.0

    @classmethod
    async def open(cls, host: str, port: int) -> HttpConn:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        self.write_request(method, path, body, headers)
        return await self.read_response()

    def write_request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", f"Content-Length: {len(body)}"]
        if body:
            lines.append("Content-Type: application/json")
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    async def read_response(self) -> tuple[int, bytes]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = None
        chunked = False
        for line in head.split(b"\r\n")[1:]:
            key, _, field = line.partition(b":")
            key = key.strip().lower()
            if key == b"content-length":
                length = int(field)
            elif key == b"transfer-encoding" and b"chunked" in field.lower():
                chunked = True
            elif key == b"connection" and b"close" in field.lower():
                self.reusable = False
        if chunked:
            data = await self._read_chunked()
        elif length is not None:
            data = await self.reader.readexactly(length)
        else:
            data = await self.reader.read()
            self.reusable = False
        return status, data

    async def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    def close(self) -> None:
        self.reusable = False
        self.writer.transport.abort()


class HttpPool:
    """Idle keep-alive connections to one server, opened on demand."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host = host
        self.port = port
        self.headers = headers or {}
        self._idle: list[HttpConn] = []
        self._all: set[HttpConn] = set()

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        conn = self._reusable()
        if conn is None:
            conn = await HttpConn.open(self.host, self.port)
            self._all.add(conn)
        try:
            status, data = await conn.request(method, path, body, {**self.headers, **(headers or {})})
        except BaseException:
            conn.close()
            self._all.discard(conn)
            raise
        if conn.reusable:
            conn.idle_since = asyncio.get_running_loop().time()
            self._idle.append(conn)
        else:
            conn.close()
            self._all.discard(conn)
        return status, data

    def _reusable(self) -> HttpConn | None:
        """The most recently used idle connection the server has not closed or is about to."""
        fresh_after = asyncio.get_running_loop().time() - IDLE_REUSE_SECONDS
        while self._idle:
            conn = self._idle.pop()
            if conn.idle_since >= fresh_after and not conn.reader.at_eof():
                return conn
            conn.close()
            self._all.discard(conn)
        return None

    async def json(self, method: str, path: str, payload: Any = None,
                   headers: dict[str, str] | None = None, expect: tuple[int, ...] = (200, 201)) -> Any:
        body = orjson.dumps(payload) if payload is not None else b""
        status, data = await self.request(method, path, body, headers)
        if status not in expect:
            raise HttpError(status, data)
        return orjson.loads(data) if data else None

    def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()
        self._idle.clear()


class Pipeline:
    """One keep-alive connection with its requests pipelined (RFC 9112, section 9.3.2): each
    request is written at once, without waiting for the answers before it; the answers come
    back in order and one reader task hands each to its request."""

    def __init__(self, conn: HttpConn, headers: dict[str, str] | None = None) -> None:
        self.conn = conn
        self.headers = headers or {}
        self._waiting: deque[asyncio.Future[tuple[int, bytes]]] = deque()
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, host: str, port: int, headers: dict[str, str] | None = None) -> Pipeline:
        return cls(await HttpConn.open(host, port), headers)

    def send(self, method: str, path: str, body: bytes = b"") -> asyncio.Future[tuple[int, bytes]]:
        """Write the request now; the future gets (status, body) when its answer arrives."""
        future: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        if not self.conn.reusable:
            future.set_exception(ConnectionError("the pipelined connection was closed"))
            return future
        self.conn.write_request(method, path, body, self.headers)
        self._waiting.append(future)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read())
        return future

    async def _read(self) -> None:
        while self._waiting:
            try:
                answer = await self.conn.read_response()
            except Exception as exc:  # the connection is gone: every request still waiting fails
                self.conn.close()
                while self._waiting:
                    future = self._waiting.popleft()
                    if not future.done():
                        future.set_exception(ConnectionError(repr(exc)))
                return
            future = self._waiting.popleft()
            if not future.done():
                future.set_result(answer)

    async def drained(self) -> None:
        """Wait until every request written has its answer."""
        while self._waiting:
            await asyncio.wait([self._waiting[-1]])

    def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        self.conn.close()
