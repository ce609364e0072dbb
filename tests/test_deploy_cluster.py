"""Several `innovate serve` processes sharing one PostgreSQL database, with the redis and the
postgres broker: live clients on both, a steady stream of posts through both, then

- a restart: SIGTERM one server mid-stream; its clients get 1012, reconnect to the other with
  ``after=<last seq>``, and every client ends with every event exactly once;
- a broker outage: a private redis-server restarts mid-stream; delivery resumes, gaps are
  filled from the database, nothing is lost;
- /metrics on each server shows the counters moving.

Each test prints a summary line: events sent, received per client, duplicates, losses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from innovate.accounts.local import create_local_user
from innovate.accounts.tokens import create_token
from innovate.app import open_resources
from innovate.rooms import service
from innovate.settings import load_settings
from tests import databases
from tests.servers import ServerProcess, serve
from tests.test_metrics import samples

# Several servers, a steady stream and a restart: minutes on a busy 2-core machine.
pytestmark = pytest.mark.timeout(420)

METRICS_TOKEN = "cluster-metrics-" + "m" * 24
SECRET = "cluster-secret-" + "s" * 40
VIEWERS_PER_SERVER = 2
POSTERS = 2
POSTS_PER_POSTER = 40
POST_INTERVAL = 0.03  # pacing of the stream, not a wait for correctness
RECONNECT_CODES = {1001, 1006, 1011, 1012, 1013}


# Infrastructure ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def pg_database() -> Iterator[str]:
    base, reason = databases.postgres_base_url()
    if base is None:
        pytest.skip(reason)
    url = asyncio.run(databases.create_private_pg_database(base))
    try:
        yield url
    finally:
        asyncio.run(databases.drop_pg_database(base, url))


@dataclass
class RedisServer:
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
            assert self.process.poll() is None, "redis-server exited"
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        if databases.in_ci():
            raise RuntimeError("CI requires redis-server (apt-get install redis-server)")
        pytest.skip("redis-server is not installed")
    (tmp_path / "redis").mkdir()
    redis = RedisServer(_free_port(), tmp_path / "redis")
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@dataclass
class Cluster:
    slug: str
    servers: list[ServerProcess]
    viewer_tokens: list[str]
    poster_tokens: list[str]

    def alive(self) -> list[ServerProcess]:
        return [s for s in self.servers if s.process.poll() is None and s.port]


async def _seed(database_url: str, tmp: Path) -> tuple[str, list[str], list[str]]:
    settings = load_settings(database_url=database_url, data_dir=tmp / "seed", secret_key=SECRET)
    resources = await open_resources(settings)
    try:
        moderator = await create_local_user(resources, "mod@example.com", None, name="Mod", is_moderator=True)
        room = await service.create_room(resources, moderator, {"slug": "cluster", "title": "Cluster", "phase": "open"})
        tokens: list[str] = []
        for i in range(VIEWERS_PER_SERVER * 2 + POSTERS):
            user = await create_local_user(resources, f"member{i}@example.com", None, name=f"Member {i}")
            await service.join_room(resources, user, room.slug)
            tokens.append((await create_token(resources, user, "cluster"))[1])
    finally:
        await resources.broker.close()
        await resources.engine.dispose()
    return room.slug, tokens[: VIEWERS_PER_SERVER * 2], tokens[VIEWERS_PER_SERVER * 2:]


@contextlib.asynccontextmanager
async def cluster(tmp: Path, database_url: str, broker: str, *, first_workers: int = 1) -> AsyncIterator[Cluster]:
    slug, viewers, posters = await _seed(database_url, tmp)
    env = {
        "INNOVATE_DATABASE_URL": database_url,
        "INNOVATE_BROKER": broker,
        "INNOVATE_SECRET_KEY": SECRET,
        "INNOVATE_PUBLIC_URL": "http://127.0.0.1",
        "INNOVATE_METRICS_TOKEN": METRICS_TOKEN,
        "INNOVATE_POSTS_PER_MINUTE": "10000",  # the stream is a test load, not spam
    }
    servers: list[ServerProcess] = []
    try:
        for name, workers in (("a", first_workers), ("b", 1)):
            (tmp / name).mkdir()
            servers.append(await asyncio.to_thread(
                serve, tmp / name, {**env, "INNOVATE_DATA_DIR": str(tmp / name / "data")},
                "--workers", str(workers), "--graceful-timeout", "10", name=name))
        yield Cluster(slug, servers, viewers, posters)
    finally:
        for server in servers:
            await asyncio.to_thread(server.stop)


# Clients -----------------------------------------------------------------------------------


@dataclass
class Viewer:
    name: str
    token: str
    home: int  # index of the server it connects to first
    seqs: list[int] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)
    close_codes: list[int] = field(default_factory=list)
    connections: int = 0
    repeated: list[tuple[int, int, int]] = field(default_factory=list)  # (connection, seq, last seen)

    @property
    def duplicates(self) -> int:
        return len(self.repeated)

    @property
    def last(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    async def run(self, cluster: Cluster, done: asyncio.Event, final: dict[str, int]) -> None:
        preferred = cluster.servers[self.home]
        while not (done.is_set() and self.last >= final.get("seq", 1 << 62)):
            alive = cluster.alive()
            server = preferred if preferred in alive else (alive[0] if alive else None)
            assert server is not None, "no server left"
            url = f"ws://127.0.0.1:{server.port}/rooms/{cluster.slug}/live?after={self.last}&format=json"
            try:
                async with connect(url, additional_headers={"Authorization": f"Bearer {self.token}"},
                                   open_timeout=10, ping_interval=None) as ws:
                    self.connections += 1
                    await self._receive(ws, done, final)
                    return
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else 1006
                self.close_codes.append(code)
                assert code in RECONNECT_CODES, f"{self.name}: closed with {code}"
            except (TimeoutError, OSError, InvalidHandshake):
                pass  # the server is going away or not up: try again (another one)
            await asyncio.sleep(0.05)

    async def _receive(self, ws: Any, done: asyncio.Event, final: dict[str, int]) -> None:
        while not (done.is_set() and self.last >= final.get("seq", 1 << 62)):
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=1.0)
            except TimeoutError:
                await ws.send(json.dumps({"type": "ping"}))  # keeps an idle socket open
                continue
            frame = json.loads(raw)
            seq = frame.get("seq")
            if seq is None:
                continue
            if seq <= self.last:
                self.repeated.append((self.connections, seq, self.last))
                continue
            self.seqs.append(seq)
            if frame["kind"] == "message.posted":
                data = frame.get("data") or {}
                message_id = data.get("message_id") or (data.get("message") or {}).get("id")
                assert message_id is not None, frame
                self.message_ids.append(int(message_id))


@dataclass
class Poster:
    token: str
    offset: int
    committed: list[int] = field(default_factory=list)
    ambiguous: int = 0

    async def run(self, cluster: Cluster, count: int, progress: asyncio.Queue[int]) -> None:
        # A new connection per post: a refused connection then means "not sent", never "maybe".
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as http:
            for i in range(count):
                body = {"body": f"post {self.offset}-{i}"}
                while True:
                    alive = cluster.alive()
                    assert alive, "no server left"
                    server = alive[(i + self.offset) % len(alive)]
                    try:
                        reply = await http.post(f"{server.url}/api/v1/rooms/{cluster.slug}/messages", json=body,
                                                headers={"Authorization": f"Bearer {self.token}"})
                    except httpx.ConnectError:
                        await asyncio.sleep(0.05)
                        continue
                    except httpx.HTTPError:
                        self.ambiguous += 1  # may or may not have committed; post again elsewhere
                        await asyncio.sleep(0.05)
                        continue
                    if reply.status_code == 503:
                        await asyncio.sleep(0.05)
                        continue
                    assert reply.status_code == 201, reply.text
                    self.committed.append(int(reply.json()["id"]))
                    break
                await progress.put(1)
                await asyncio.sleep(POST_INTERVAL)


async def scrape(server: ServerProcess) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with httpx.AsyncClient(timeout=10) as http:
        reply = await http.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert reply.status_code == 200
    return samples(reply.text)


def total(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str) -> float:
    return sum(v for (n, _labels), v in found.items() if n == name)


async def visible_timeline(server: ServerProcess, slug: str, token: str) -> list[int]:
    seqs: list[int] = []
    async with httpx.AsyncClient(timeout=30) as http:
        while True:
            reply = await http.get(f"{server.url}/api/v1/rooms/{slug}/events",
                                   params={"after": seqs[-1] if seqs else 0, "limit": 100},
                                   headers={"Authorization": f"Bearer {token}"})
            assert reply.status_code == 200, reply.text
            page = [e["seq"] for e in reply.json()["events"]]
            if not page:
                return seqs
            seqs += page


# The scenario ------------------------------------------------------------------------------


@dataclass
class StreamResult:
    viewers: list[Viewer]
    posters: list[Poster]
    expected: list[int]  # the room timeline as the viewers may see it, from the database
    before: list[Any]  # each server's metrics once every viewer is connected
    after: Any  # the survivor's metrics at the end, viewers still connected
    survivor: ServerProcess

    @property
    def committed(self) -> list[int]:
        return [m for p in self.posters for m in p.committed]

    def report(self) -> dict[str, Any]:
        committed = set(self.committed)
        return {
            "events_sent": len(self.committed),
            "ambiguous_posts": sum(p.ambiguous for p in self.posters),
            "timeline_events": len(self.expected),
            "received": {v.name: len(v.seqs) for v in self.viewers},
            "duplicates": {v.name: v.duplicates + len(v.message_ids) - len(set(v.message_ids)) for v in self.viewers},
            "lost": {v.name: len(committed - set(v.message_ids)) + len(set(self.expected) - set(v.seqs))
                     for v in self.viewers},
            "connections": {v.name: v.connections for v in self.viewers},
            "close_codes": {v.name: v.close_codes for v in self.viewers},
        }


async def stream_with_disruption(cluster: Cluster, disrupt_after: int, disrupt: Any) -> StreamResult:
    """Viewers on both servers, posters through both; ``disrupt()`` runs once ``disrupt_after``
    posts have committed. Checks that every viewer got every event exactly once, in order."""
    done = asyncio.Event()
    final: dict[str, int] = {}
    viewers = [Viewer(f"viewer{i}", token, home=i % 2) for i, token in enumerate(cluster.viewer_tokens)]
    posters = [Poster(token, offset) for offset, token in enumerate(cluster.poster_tokens)]
    progress: asyncio.Queue[int] = asyncio.Queue()
    tasks = [asyncio.create_task(v.run(cluster, done, final)) for v in viewers]
    try:
        async with asyncio.timeout(180):
            while sum(v.connections for v in viewers) < len(viewers):
                await asyncio.sleep(0.02)
            before = [await scrape(s) for s in cluster.servers]
            posting = [asyncio.create_task(p.run(cluster, POSTS_PER_POSTER, progress)) for p in posters]
            tasks += posting
            for _ in range(disrupt_after):
                await progress.get()
            await disrupt()
            await asyncio.gather(*posting)
            survivor = cluster.alive()[-1]
            expected = await visible_timeline(survivor, cluster.slug, cluster.viewer_tokens[0])
            final["seq"] = expected[-1]
            while not all(v.last >= final["seq"] for v in viewers):
                for task in tasks:
                    if task.done() and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
                await asyncio.sleep(0.02)
            after = await scrape(survivor)
            done.set()
            await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    result = StreamResult(viewers, posters, expected, before, after, survivor)
    print("\ncluster stream:", json.dumps(result.report()))
    for v in viewers:
        assert v.seqs == expected, f"{v.name} did not get every event once, in order"
        assert v.duplicates == 0, f"{v.name} got seqs again (connection, seq, last seen): {v.repeated}"
        assert len(v.message_ids) == len(set(v.message_ids)), f"{v.name} saw a message twice"
        assert set(result.committed) <= set(v.message_ids), f"{v.name} lost committed posts"
    assert len(result.committed) == POSTERS * POSTS_PER_POSTER
    index = cluster.servers.index(survivor)
    for name in ("innovate_events_published_total", "innovate_events_delivered_total", "innovate_http_requests_total"):
        assert total(after, name) > total(before[index], name), f"{name} moved on the surviving server"
    return result


@pytest.mark.postgres_only
@pytest.mark.parametrize("broker", ["redis", "postgres"])
async def test_sigterm_mid_stream_clients_move_over_and_miss_nothing(
    broker: str, pg_database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    broker_url = request.getfixturevalue("private_redis").url if broker == "redis" else "postgres"
    # The first server runs two workers: `innovate serve --workers N` with a shared broker.
    async with cluster(tmp_path, pg_database, broker_url, first_workers=2) as c:
        first = c.servers[0]

        async def restart_first() -> None:
            await asyncio.to_thread(first.stop, signal.SIGTERM)

        result = await stream_with_disruption(c, POSTS_PER_POSTER // 2, restart_first)
        assert first.process.returncode in ServerProcess.CLEAN_EXITS
        moved = [v for v in result.viewers if v.home == 0]
        assert moved and all(1012 in v.close_codes and v.connections >= 2 for v in moved), result.report()
        assert total(result.before[0], "innovate_ws_connections") == VIEWERS_PER_SERVER, "both workers' sockets counted"
        assert total(result.after, "innovate_ws_connections") == len(c.viewer_tokens), "every viewer ended on the survivor"


@pytest.mark.postgres_only
@pytest.mark.redis
async def test_redis_restart_mid_stream_loses_nothing(
    pg_database: str, private_redis: RedisServer, tmp_path: Path
) -> None:
    async with cluster(tmp_path, pg_database, private_redis.url) as c:
        async def restart_redis() -> None:
            await asyncio.to_thread(private_redis.stop)
            await asyncio.sleep(0.5)  # an outage long enough for posts to commit while it lasts
            await asyncio.to_thread(private_redis.start)

        result = await stream_with_disruption(c, POSTS_PER_POSTER // 2, restart_redis)
        for server in c.servers:
            found = await scrape(server)
            assert total(found, "innovate_broker_reconnects_total") >= 1, "each server reconnected to Redis"
        assert all(n == len(result.expected) for n in result.report()["received"].values())
