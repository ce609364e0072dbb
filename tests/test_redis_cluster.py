"""The redis-cluster broker against a real three-node Redis Cluster that the test starts
(``redis-server --cluster-enabled yes`` on free ports, joined with ``redis-cli --cluster
create``): rooms spread over the nodes by their channel's hash slot, posts cross from one
``innovate serve`` process to the other, and when the node that carries a room's channel goes
down and comes back, every post made meanwhile reaches the other process's socket exactly once."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from innovate.realtime.brokers import RedisClusterBroker, cluster_nodes, redis_channel
from innovate.resources import Resources
from tests import databases
from tests.servers import ServerProcess
from tests.test_live_brokers import (  # noqa: F401
    on_postgres,
    post_via,
    read_stored,
    room_with_members,
    start_pair,
    stop_later,
)

pytestmark = pytest.mark.timeout(300)

WAIT = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(port: int, *args: str) -> str:
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=30,
                          check=False).stdout


@dataclass
class ClusterNode:
    port: int
    bus_port: int  # chosen too: the default, port + 10000, may be taken or past 65535
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
             "--cluster-port", str(self.bus_port), "--cluster-config-file", f"nodes-{self.port}.conf", "--cluster-node-timeout", "2000",
             "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while _cli(self.port, "PING").strip() != "PONG":
            assert self.process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)

    def slots(self) -> list[tuple[int, int]]:
        """The slot ranges this node serves, from CLUSTER SHARDS as it sees itself."""
        ranges: list[tuple[int, int]] = []
        for line in _cli(self.port, "CLUSTER", "NODES").splitlines():
            fields = line.split()
            if "myself" in fields[2]:
                for part in fields[8:]:
                    first, _, last = part.partition("-")
                    if first.isdigit():
                        ranges.append((int(first), int(last or first)))
        return ranges


@dataclass
class Cluster:
    nodes: list[ClusterNode]

    @property
    def url(self) -> str:
        return "redis-cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def healthy(self) -> bool:
        return all("cluster_state:ok" in _cli(n.port, "CLUSTER", "INFO") for n in self.nodes)

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + WAIT
        while not self.healthy():
            assert time.monotonic() < deadline, "the cluster did not become healthy"
            time.sleep(0.1)

    def node_of(self, channel: str) -> ClusterNode:
        slot = int(_cli(self.nodes[0].port, "CLUSTER", "KEYSLOT", channel).strip())
        return next(n for n in self.nodes if any(first <= slot <= last for first, last in n.slots()))


@pytest.fixture
def redis_cluster(tmp_path: Path) -> Iterator[Cluster]:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        if databases.in_ci():
            raise RuntimeError("CI requires redis-server and redis-cli for the cluster broker test")
        pytest.skip("redis-server is not installed")
    nodes: list[ClusterNode] = []
    for _ in range(3):
        workdir = tmp_path / f"redis-{len(nodes)}"
        workdir.mkdir()
        nodes.append(ClusterNode(_free_port(), _free_port(), workdir))
    try:
        for node in nodes:
            node.start()
        created = subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in nodes), "--cluster-replicas", "0",
             "--cluster-yes"], capture_output=True, text=True, timeout=60, check=False)
        assert created.returncode == 0, created.stdout + created.stderr
        cluster = Cluster(nodes)
        cluster.wait_healthy()
        yield cluster
    finally:
        for node in nodes:
            node.stop()


def test_cluster_urls_name_their_nodes() -> None:
    assert cluster_nodes("redis-cluster://10.0.0.1:7000,10.0.0.2:7001") == [("10.0.0.1", 7000), ("10.0.0.2", 7001)]
    with pytest.raises(ValueError, match="host:port"):
        cluster_nodes("redis-cluster://10.0.0.1")
    broker = RedisClusterBroker("redis-cluster://127.0.0.1:7000", "postgresql+asyncpg://x@h/app")
    assert broker.channel_of({"room": 17}) == f"{redis_channel('postgresql+asyncpg://x@h/app')}:1"
    assert broker.channel_of({"kind": "user", "user_id": 3}) == broker.channels[0]


@on_postgres
async def test_cluster_broker_spreads_rooms_and_loses_nothing_when_a_node_restarts(
        tmp_path: Path, database_url: str, resources: Resources, make_user: Any, redis_cluster: Cluster,
        stop_later: list[ServerProcess]) -> None:  # noqa: F811
    broker = RedisClusterBroker(redis_cluster.url, database_url)
    carriers = {redis_cluster.node_of(channel).port for channel in broker.channels}
    assert len(carriers) == 3, "the shard channels should spread over every node"

    pair = await start_pair(tmp_path, database_url, redis_cluster.url, resources)
    stop_later += [pair.a, pair.b]
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await room_with_members(pair, moderator, ada, bob)
    slug, start = room["slug"], room["last_seq"]
    async with await pair.connect(pair.a, bob, slug, start) as ws:
        await post_via(pair, pair.b, moderator, slug, "before")
        first = await read_stored(ws, 1, timeout=WAIT)

        carrier = redis_cluster.node_of(broker.channel_of({"room": room["id"]}))
        await asyncio.to_thread(carrier.stop)
        for n in range(10):  # stored at once; their notices wait for the cluster
            await post_via(pair, pair.b, moderator, slug, f"while node {carrier.port} is down {n}")
        await asyncio.to_thread(carrier.start)
        await asyncio.to_thread(redis_cluster.wait_healthy)
        await post_via(pair, pair.b, moderator, slug, "after")
        rest = await read_stored(ws, 11, timeout=WAIT)
        # A later marker is the next stored frame: no duplicate came in between.
        await post_via(pair, pair.b, moderator, slug, "marker")
        marker = await read_stored(ws, 1, timeout=WAIT)
    frames = first + rest + marker
    assert [f["seq"] for f in frames] == list(range(start + 1, start + 14))
    assert [f["data"]["message"]["body"] for f in frames] == (
        ["before"] + [f"while node {carrier.port} is down {n}" for n in range(10)] + ["after", "marker"])
