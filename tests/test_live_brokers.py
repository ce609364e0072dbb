"""Live updates across processes: two ``innovate serve`` processes sharing the private
PostgreSQL test database, with the postgres broker and with the redis broker; the broker's
connection dropping mid-test loses nothing."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from innovate.accounts.models import User
from innovate.accounts.tokens import create_token
from innovate.realtime.brokers import APPLICATION_NAME, asyncpg_dsn
from innovate.resources import Resources
from tests.databases import in_ci
from tests.live_support import bind_free_socket, frames_until, stored, until
from tests.servers import ServerProcess, serve

on_postgres = pytest.mark.parametrize("backend", ["postgres"], indirect=True)

WAIT = 30.0
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


# Redis for the tests ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The shared Redis (``INNOVATE_TEST_REDIS_URL``); unreachable → skip, or fail in CI."""
    url = os.environ.get("INNOVATE_TEST_REDIS_URL") or DEFAULT_REDIS

    async def reachable() -> str | None:
        from redis.asyncio import Redis

        client = Redis.from_url(url, socket_connect_timeout=3)
        try:
            await client.ping()
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        finally:
            await client.aclose()
        return None

    problem = asyncio.run(reachable())
    if problem is not None:
        reason = f"Redis at {url} unreachable ({problem})"
        if in_ci():
            raise RuntimeError(f"CI requires Redis: {reason}")
        pytest.skip(reason + "; set INNOVATE_TEST_REDIS_URL to run these tests")
    return url


@dataclass
class PrivateRedis:
    """A redis-server of this test's own on a free port, so it can be restarted."""

    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with __import__("socket").create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        if in_ci():
            raise RuntimeError("CI requires redis-server for the broker restart test")
        pytest.skip("redis-server is not installed")
    sock = bind_free_socket()
    port = sock.getsockname()[1]
    sock.close()
    redis = PrivateRedis(port=port, workdir=tmp_path)
    redis.start()
    yield redis
    redis.kill()


# Two app processes ------------------------------------------------------------------------


@dataclass
class Pair:
    a: ServerProcess
    b: ServerProcess
    resources: Resources
    tokens: dict[int, str]

    async def token(self, user: User) -> str:
        if user.id not in self.tokens:
            _, self.tokens[user.id] = await create_token(self.resources, user, "live tests")
        return self.tokens[user.id]

    async def call(self, server: ServerProcess, user: User, method: str, path: str, json: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=server.url, timeout=30,
                                     headers={"Authorization": f"Bearer {await self.token(user)}"}) as http:
            response = await http.request(method, path, json=json)
        assert response.status_code in (200, 201), f"{path}: {response.status_code} {response.text[:300]}"
        return response.json()

    async def connect(self, server: ServerProcess, user: User, slug: str, after: int) -> ClientConnection:
        return await connect(f"ws://127.0.0.1:{server.port}/rooms/{slug}/live?format=json&after={after}",
                             additional_headers={"Authorization": f"Bearer {await self.token(user)}"},
                             compression=None, max_size=None, open_timeout=WAIT)


async def start_pair(tmp_path: Path, database_url: str, broker: str, resources: Resources) -> Pair:
    env = {
        "INNOVATE_DATABASE_URL": database_url,
        "INNOVATE_BROKER": broker,
        "INNOVATE_DATA_DIR": str(tmp_path / "data"),
        "INNOVATE_SECRET_KEY": "live-broker-tests-" + "k" * 32,
    }
    a, b = await asyncio.gather(asyncio.to_thread(serve, tmp_path, env, name="a"),
                                asyncio.to_thread(serve, tmp_path, env, name="b"))
    return Pair(a=a, b=b, resources=resources, tokens={})


@pytest.fixture
async def stop_later() -> AsyncIterator[list[ServerProcess]]:
    servers: list[ServerProcess] = []
    yield servers
    for server in servers:
        await asyncio.to_thread(server.stop)


async def room_with_members(pair: Pair, moderator: User, *members: User) -> dict[str, Any]:
    room = await pair.call(pair.b, moderator, "POST", "/api/v1/rooms",
                           {"slug": f"multi-{moderator.id}", "title": "Across processes", "phase": "open"})
    for member in members:
        await pair.call(pair.b, member, "POST", f"/api/v1/rooms/{room['slug']}/join")
    return await pair.call(pair.b, moderator, "GET", f"/api/v1/rooms/{room['slug']}")


async def post_via(pair: Pair, server: ServerProcess, user: User, slug: str, body: str) -> dict[str, Any]:
    """Post through ``server``; bulk posts come from the room's moderator, who has no post rate limit."""
    return await pair.call(server, user, "POST", f"/api/v1/rooms/{slug}/messages", {"body": body})


async def read_stored(ws: ClientConnection, count: int, timeout: float = WAIT) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while len(stored(frames)) < count:
            frames.append(orjson.loads(await ws.recv()))
    return stored(frames)


async def terminate_listeners(database_url: str) -> int:
    """Kill every broker LISTEN connection on the test database, like a failover would."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = current_database()", APPLICATION_NAME)
    finally:
        await conn.close()
    return len(rows)


async def broker_connections(database_url: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
            APPLICATION_NAME))
    finally:
        await conn.close()


def logs_say(server: ServerProcess, text: str) -> bool:
    return text in server.logs()


# The tests --------------------------------------------------------------------------------


@on_postgres
async def test_postgres_broker_carries_posts_across_processes_and_survives_a_dropped_listener(
        tmp_path: Path, database_url: str, resources: Resources, make_user: Any,
        stop_later: list[ServerProcess]) -> None:
    pair = await start_pair(tmp_path, database_url, "postgres", resources)
    stop_later += [pair.a, pair.b]
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await room_with_members(pair, moderator, ada, bob)
    slug, start = room["slug"], room["last_seq"]

    async with await pair.connect(pair.a, bob, slug, start) as ws:
        await post_via(pair, pair.b, moderator, slug, "hello from process B")
        first = await read_stored(ws, 1)
        assert first[0]["data"]["message"]["body"] == "hello from process B"

        assert await terminate_listeners(database_url) == 2
        for n in range(10):
            await post_via(pair, pair.b, moderator, slug, f"during the outage {n}")
        rest = await read_stored(ws, 10)
        await asyncio.sleep(0)
    assert [f["seq"] for f in first + rest] == list(range(start + 1, start + 12))
    assert [f["data"]["message"]["body"] for f in rest] == [f"during the outage {n}" for n in range(10)]
    assert logs_say(pair.a, "postgres broker reconnected") and logs_say(pair.b, "postgres broker reconnected")


@on_postgres
async def test_redis_broker_carries_posts_across_processes(
        tmp_path: Path, database_url: str, resources: Resources, make_user: Any, redis_url: str,
        stop_later: list[ServerProcess]) -> None:
    pair = await start_pair(tmp_path, database_url, redis_url, resources)
    stop_later += [pair.a, pair.b]
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await room_with_members(pair, moderator, ada, bob)
    slug, start = room["slug"], room["last_seq"]
    async with await pair.connect(pair.a, bob, slug, start) as ws_a, await pair.connect(pair.b, ada, slug, start) as ws_b:
        await post_via(pair, pair.b, moderator, slug, "from B")
        await post_via(pair, pair.a, bob, slug, "from A")
        # Presence crosses processes too: bob (on A) sees ada, who is connected to B.
        both_here = {ada.id, bob.id}
        all_a = await frames_until(ws_a, lambda fs: len(stored(fs)) == 2 and any(
            {u["id"] for u in f["data"]["users"]} == both_here for f in fs if f.get("kind") == "presence"),
            timeout=WAIT)
        on_b = await read_stored(ws_b, 2)
    on_a = stored(all_a)
    assert [f["data"]["message"]["body"] for f in on_a] == ["from B", "from A"]
    assert [f["seq"] for f in on_a] == [f["seq"] for f in on_b] == [start + 1, start + 2]


@on_postgres
async def test_redis_restart_loses_no_event(
        tmp_path: Path, database_url: str, resources: Resources, make_user: Any, private_redis: PrivateRedis,
        stop_later: list[ServerProcess]) -> None:
    pair = await start_pair(tmp_path, database_url, private_redis.url, resources)
    stop_later += [pair.a, pair.b]
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await room_with_members(pair, moderator, ada, bob)
    slug, start = room["slug"], room["last_seq"]
    async with await pair.connect(pair.a, bob, slug, start) as ws:
        await post_via(pair, pair.b, moderator, slug, "before")
        frames = await read_stored(ws, 1)

        private_redis.kill()
        for n in range(5):
            await post_via(pair, pair.b, moderator, slug, f"while Redis is down {n}")
        private_redis.start()
        for n in range(5):
            await post_via(pair, pair.b, moderator, slug, f"after the restart {n}")
        frames += await read_stored(ws, 10)
    assert [f["seq"] for f in frames] == list(range(start + 1, start + 12))
    assert logs_say(pair.a, "redis broker reconnected")


@on_postgres
async def test_workers_of_one_server_share_events_through_the_postgres_broker(
        tmp_path: Path, database_url: str, resources: Resources, make_user: Any,
        stop_later: list[ServerProcess]) -> None:
    env = {"INNOVATE_DATABASE_URL": database_url, "INNOVATE_BROKER": "postgres",
           "INNOVATE_DATA_DIR": str(tmp_path / "data"), "INNOVATE_SECRET_KEY": "live-broker-tests-" + "k" * 32}
    server = await asyncio.to_thread(serve, tmp_path, env, "--workers", "2", name="workers")
    stop_later.append(server)
    pair = Pair(a=server, b=server, resources=resources, tokens={})
    moderator, bob = await make_user(is_moderator=True), await make_user()
    room = await room_with_members(pair, moderator, bob)
    slug, start = room["slug"], room["last_seq"]
    # One subscription per process: each worker holds its own LISTEN connection. The server
    # answers as soon as one worker is up; the other may still be starting.
    async def listening(workers: int) -> bool:
        return await broker_connections(database_url) == workers

    await until(lambda: listening(2))
    async with await pair.connect(server, bob, slug, start) as ws:
        # Each post opens a new connection, which either worker may accept.
        for n in range(20):
            await post_via(pair, server, moderator, slug, f"post {n}")
        frames = await read_stored(ws, 20)
    assert [f["data"]["message"]["body"] for f in frames] == [f"post {n}" for n in range(20)]


async def test_several_workers_need_a_shared_broker(tmp_path: Path) -> None:
    from tests.servers import INNOVATE

    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOVATE_")}
    env.update(INNOVATE_DATA_DIR=str(tmp_path / "data"), INNOVATE_BROKER="memory")
    result = await asyncio.to_thread(
        subprocess.run, [INNOVATE, "serve", "--port", "0", "--workers", "2"], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "--workers > 1 needs a shared broker" in result.stderr + result.stdout
