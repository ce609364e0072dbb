"""The benchmark's keep-alive client never sends a request on a connection the server has
closed or is about to close (a POST written into a closing connection fails with nothing
read, and the benchmark would count a message the server never saw as lost)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import httpclient  # noqa: E402
from bench.httpclient import HttpPool  # noqa: E402


class _Server:
    """Answers every request with 200; ``close_idle`` closes the connections it holds."""

    def __init__(self) -> None:
        self.accepted = 0
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.writers.append(writer)
        n = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                n += 1
                writer.write(self.answer(n))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def answer(self, n: int) -> bytes:
        return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    def close_idle(self) -> None:
        for writer in self.writers:
            writer.close()


@pytest.fixture
async def server():
    state = _Server()
    srv = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = srv.sockets[0].getsockname()[1]
    yield state
    srv.close()


async def test_a_connection_the_server_closed_is_not_reused(server):
    pool = HttpPool("127.0.0.1", server.port)
    assert (await pool.request("POST", "/x", b"{}"))[0] == 200
    (conn,) = pool._idle
    server.close_idle()
    async with asyncio.timeout(5):
        while not conn.reader.at_eof():
            await asyncio.sleep(0.01)

    assert (await pool.request("POST", "/x", b"{}"))[0] == 200
    assert server.accepted == 2
    pool.close()


async def test_a_connection_idle_too_long_is_not_reused(server, monkeypatch):
    pool = HttpPool("127.0.0.1", server.port)
    assert (await pool.request("GET", "/x"))[0] == 200
    assert (await pool.request("GET", "/x"))[0] == 200
    assert server.accepted == 1  # reused while fresh

    monkeypatch.setattr(httpclient, "IDLE_REUSE_SECONDS", -1.0)  # every idle connection is old now
    assert (await pool.request("GET", "/x"))[0] == 200
    assert server.accepted == 2
    pool.close()


class _NumberingServer(_Server):
    """Answers each request with its number on the connection."""

    def answer(self, n: int) -> bytes:
        body = str(n).encode()
        return b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


async def test_pipelined_requests_share_one_connection_and_get_their_own_answers() -> None:
    state = _NumberingServer()
    srv = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    pipe = await httpclient.Pipeline.open("127.0.0.1", port, {"Authorization": "Bearer x"})
    answers = [pipe.send("POST", "/messages", b'{"n": %d}' % i) for i in range(50)]  # none awaited yet
    async with asyncio.timeout(10):
        results = await asyncio.gather(*answers)
        await pipe.drained()
    assert results == [(201, str(i + 1).encode()) for i in range(50)]
    assert state.accepted == 1
    pipe.close()
    srv.close()


async def test_a_pipeline_whose_connection_drops_fails_every_request_still_waiting(server) -> None:
    pipe = await httpclient.Pipeline.open("127.0.0.1", server.port)
    assert await pipe.send("POST", "/x", b"{}") == (200, b"ok")
    server.close_idle()
    async with asyncio.timeout(5):
        waiting = pipe.send("POST", "/x", b"{}")
        with pytest.raises(ConnectionError):
            await waiting
        with pytest.raises(ConnectionError):
            await pipe.send("POST", "/x", b"{}")
    pipe.close()
