"""Brokers carry small notices between processes: ``{"room", "seq"?, "kind", ...}``.

Receivers load whatever they need from the database, so payloads stay tiny and a lost
notice is recovered by the gap check on the next one. Every process holds exactly one
subscription and fans notices out to its own sockets (see :mod:`innovate.realtime.hub`).

- ``memory``: one process; publish hands the notice straight to the hub.
- ``postgres``: LISTEN/NOTIFY on one dedicated asyncpg connection per process (it both
  listens and notifies), next to the SQLAlchemy pool.
- ``redis://…``: pub/sub on one channel; one connection subscribes, another publishes.
- ``redis-cluster://host:port,…``: sharded pub/sub on Redis Cluster, rooms spread over the
  nodes by their channel's hash slot.

The network brokers never make a request wait: ``publish`` queues the notice and a
background task sends the queue in batches (several notices per NOTIFY/PUBLISH when they
pile up). When the connection drops (the database or Redis restarts), the task reconnects
with capped exponential backoff, re-sends what was not confirmed, and delivers
``{"kind": "resync"}`` locally so the hub catches every room up from the Event table:
whatever was published while the subscription was down is read from the database, not lost.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson

log = logging.getLogger("innovate.broker")

Deliver = Callable[[dict[str, Any]], Awaitable[None]]

RESYNC: dict[str, Any] = {"kind": "resync"}
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; stay well below.
MAX_PAYLOAD_BYTES = 7000
MAX_QUEUED = 100_000
KEEPALIVE_SECONDS = 10.0
SUBSCRIBE_TIMEOUT_SECONDS = 15.0


class Broker(Protocol):
    name: str

    async def start(self, deliver: Deliver) -> None: ...

    async def publish(self, message: dict[str, Any]) -> None: ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


class MemoryBroker:
    """One process: publish hands the notice straight to this process's hub."""

    name = "memory"

    def __init__(self) -> None:
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def publish(self, message: dict[str, Any]) -> None:
        if self._deliver is not None:
            await self._deliver(message)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._deliver = None


class Backoff:
    """Capped exponential backoff with jitter: 0.1 s, 0.2 s, 0.4 s … 5 s."""

    def __init__(self, first: float = 0.1, cap: float = 5.0) -> None:
        self.first = first
        self.cap = cap
        self.attempt = 0

    def reset(self) -> None:
        self.attempt = 0

    async def wait(self) -> None:
        delay = min(self.cap, self.first * (2 ** self.attempt))
        self.attempt += 1
        await asyncio.sleep(delay * random.uniform(0.8, 1.2))


def pack(messages: list[dict[str, Any]]) -> tuple[bytes, int]:
    """As many queued notices as fit one payload, as a JSON list; returns (payload, count)."""
    parts: list[bytes] = []
    size = 2
    for message in messages:
        encoded = orjson.dumps(message)
        if parts and size + len(encoded) + 1 > MAX_PAYLOAD_BYTES:
            break
        parts.append(encoded)
        size += len(encoded) + 1
    return b"[" + b",".join(parts) + b"]", len(parts)


def unpack(payload: str | bytes) -> list[dict[str, Any]]:
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError:
        log.warning("ignoring a malformed broker payload")
        return []
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


class NetworkBroker(abc.ABC):
    """The shared machinery of the postgres and redis brokers: an outbox sent in batches by
    one task, an inbox delivered in order by another, and a supervisor that reconnects."""

    name = "network"

    def __init__(self) -> None:
        self._deliver: Deliver | None = None
        self._outbox: deque[dict[str, Any]] = deque()
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._connected = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._ever_connected = False
        self.reconnects = 0

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._tasks = [
            asyncio.create_task(self._supervise(), name=f"innovate-broker-{self.name}"),
            asyncio.create_task(self._dispatch(), name=f"innovate-broker-{self.name}-deliver"),
        ]
        # Give the first connection a moment so a fresh process is subscribed before it
        # serves; if the server is not there yet the supervisor keeps trying in the background.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self._connected.wait()

    async def publish(self, message: dict[str, Any]) -> None:
        if len(self._outbox) >= MAX_QUEUED:
            # Receivers recover dropped notices from the Event table on the next resync.
            self._outbox.popleft()
        self._outbox.append(message)
        self._wake.set()

    async def ping(self) -> bool:
        return self._connected.is_set()

    async def close(self) -> None:
        # Let the last notices (e.g. presence "gone" at shutdown) out, briefly.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                while self._outbox and self._connected.is_set():
                    await asyncio.sleep(0.02)
        self._closing = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    @abc.abstractmethod
    async def _session(self) -> None:
        """Open one connection, subscribe, call ``_on_connected``, run until it fails, close it."""

    # Shared loops --------------------------------------------------------------------

    def _received(self, payload: str | bytes) -> None:
        for message in unpack(payload):
            self._inbox.put_nowait(message)

    async def _dispatch(self) -> None:
        """Hand received notices to the hub one at a time, in arrival order."""
        while True:
            message = await self._inbox.get()
            if self._deliver is None:
                continue
            try:
                await self._deliver(message)
            except Exception:
                log.exception("delivering a broker notice failed")

    async def _supervise(self) -> None:
        backoff = Backoff()
        while not self._closing:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._connected.is_set():
                    log.warning("%s broker lost its connection (%s: %s); reconnecting", self.name,
                                type(exc).__name__, exc)
                else:
                    log.warning("%s broker cannot connect (%s: %s); retrying", self.name, type(exc).__name__, exc)
            if self._connected.is_set():
                backoff.reset()
            self._connected.clear()
            if not self._closing:
                await backoff.wait()

    def _on_connected(self) -> None:
        if self._ever_connected:
            self.reconnects += 1
            _count_reconnect(self.name)
            log.info("%s broker reconnected; catching the rooms up", self.name)
        self._ever_connected = True
        self._connected.set()
        # Anything published while nobody listened is in the Event table: catch up from there.
        self._inbox.put_nowait(dict(RESYNC))
        self._wake.set()

    async def _send_outbox(self, send: Callable[[bytes], Awaitable[Any]], alive: Callable[[], bool]) -> None:
        """Send queued notices until the connection fails; keep them queued until sent."""
        while alive():
            if not self._outbox:
                self._wake.clear()
                try:
                    async with asyncio.timeout(KEEPALIVE_SECONDS):
                        await self._wake.wait()
                except TimeoutError:
                    await self._keepalive()
                continue
            batch = list(self._outbox) if len(self._outbox) < 64 else [self._outbox[i] for i in range(64)]
            payload, count = pack(batch)
            await send(payload)
            for _ in range(count):
                self._outbox.popleft()

    @abc.abstractmethod
    async def _keepalive(self) -> None:
        """Prove the connection is still there when nothing was sent for a while."""


def _count_reconnect(name: str) -> None:
    try:
        from innovate import metrics
    except ImportError:  # metrics are optional for the broker
        return
    metrics.BROKER_RECONNECTS.labels(name).inc()


APPLICATION_NAME = "innovate-broker"  # how the listening connection shows in pg_stat_activity


class PostgresBroker(NetworkBroker):
    """LISTEN/NOTIFY on the application's PostgreSQL database (channels are per database,
    so deployments sharing a server never hear each other)."""

    name = "postgres"
    channel = "innovate_events"

    def __init__(self, database_url: str) -> None:
        super().__init__()
        self.dsn = asyncpg_dsn(database_url)
        self._conn: Any = None

    async def _session(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.dsn, timeout=10, server_settings={"application_name": APPLICATION_NAME})
        lost = asyncio.Event()

        def on_lost(_conn: Any) -> None:
            lost.set()
            self._wake.set()

        def on_notify(_conn: Any, _pid: int, _channel: str, payload: object) -> None:
            self._received(payload if isinstance(payload, (str, bytes)) else str(payload))

        try:
            conn.add_termination_listener(on_lost)
            await conn.add_listener(self.channel, on_notify)
            self._conn = conn
            self._on_connected()

            async def send(payload: bytes) -> None:
                await conn.execute("SELECT pg_notify($1, $2)", self.channel, payload.decode())

            await self._send_outbox(send, lambda: not lost.is_set() and not conn.is_closed())
            raise ConnectionError("the listening connection was closed")
        finally:
            self._conn = None
            if not conn.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), 2)
                if not conn.is_closed():
                    conn.terminate()

    async def _keepalive(self) -> None:
        conn = self._conn
        if conn is not None and not conn.is_closed():
            await conn.fetchval("SELECT 1", timeout=5)


class RedisBroker(NetworkBroker):
    """Pub/sub on one Redis channel: for many app servers.

    Redis pub/sub channels are global to the server (not per numbered database), so the
    channel is named after the application's database: the replicas of one deployment
    meet, two deployments sharing a Redis do not.
    """

    name = "redis"

    def __init__(self, url: str, database_url: str = "") -> None:
        super().__init__()
        self.url = url
        self.channel = redis_channel(database_url)
        self._client: Any = None

    async def _session(self) -> None:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # No silent retries inside redis-py: a dropped connection must surface here, so the
        # hub learns about it and catches up instead of missing what was said meanwhile.
        client = Redis.from_url(self.url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=5,
                                socket_keepalive=True, health_check_interval=KEEPALIVE_SECONDS)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._client = client
        try:
            await pubsub.subscribe(self.channel)
            self._on_connected()
            failed = asyncio.Event()

            async def listen() -> None:
                try:
                    while True:
                        message = await pubsub.get_message(timeout=KEEPALIVE_SECONDS)
                        if message is None:
                            await pubsub.ping()
                        elif message.get("type") == "message":
                            self._received(message["data"])
                finally:
                    failed.set()
                    self._wake.set()

            async def send(payload: bytes) -> None:
                await client.publish(self.channel, payload)

            listener = asyncio.create_task(listen(), name="innovate-broker-redis-listen")
            try:
                await self._send_outbox(send, lambda: not failed.is_set())
            finally:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await listener
            error = None if listener.cancelled() else listener.exception()
            raise ConnectionError(f"the subscription ended ({type(error).__name__}: {error})")
        finally:
            self._client = None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pubsub.aclose(), 2)  # type: ignore[no-untyped-call]
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.aclose(), 2)

    async def _keepalive(self) -> None:
        client = self._client
        if client is not None:
            await asyncio.wait_for(client.ping(), 5)


class RedisClusterBroker(NetworkBroker):
    """Sharded pub/sub on Redis Cluster (Redis 7: ``SPUBLISH``/``SSUBSCRIBE``), for sites
    beyond one Redis.

    Rooms are spread over ``SHARDS`` channels, a room always on the same one, so each channel's
    hash slot puts its share of the traffic on the node that owns that slot instead of every
    node repeating every message (what classic pub/sub does in a cluster). Notices without a
    room (a user's frames, their access) go on shard 0. Every process subscribes to every
    shard, with one connection per node.

    A node failing, restarting, or handing a slot to another node (Redis then unsubscribes its
    clients) ends the session like a lost connection: the broker reconnects to the cluster as it
    is now, re-sends what was not confirmed, and the hub catches every room up from the Event
    table, so nothing published meanwhile is lost.
    """

    name = "redis-cluster"
    SHARDS = 16

    def __init__(self, url: str, database_url: str = "") -> None:
        super().__init__()
        self.nodes = cluster_nodes(url)
        base = redis_channel(database_url)
        self.channels = [f"{base}:{shard}" for shard in range(self.SHARDS)]
        self._cluster: Any = None

    def channel_of(self, message: dict[str, Any]) -> str:
        room = message.get("room")
        return self.channels[room % self.SHARDS if isinstance(room, int) else 0]

    async def _session(self) -> None:
        from redis.asyncio import Redis
        from redis.asyncio.cluster import ClusterNode, RedisCluster
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        cluster = RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in self.nodes],
                               retry=Retry(NoBackoff(), 0), socket_connect_timeout=5, socket_keepalive=True)
        subscribers: list[Any] = []
        listeners: list[asyncio.Task[None]] = []
        failed = asyncio.Event()
        try:
            # Connecting and subscribing must fail, not hang, while a node is down or restarting
            # (the supervisor then retries): a subscription left half made would deliver some
            # shards and never catch the rooms up.
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                await cluster.initialize()
                by_node: dict[tuple[str, int], list[str]] = {}
                for channel in self.channels:
                    node = cluster.get_node_from_key(channel)
                    if node is None:
                        raise ConnectionError(f"no cluster node serves {channel!r}")
                    by_node.setdefault((str(node.host), int(node.port)), []).append(channel)
                owner: dict[str, Any] = {}  # shard channel -> a client of the node that serves it
                for (host, port), channels in by_node.items():
                    client = Redis(host=host, port=port, retry=Retry(NoBackoff(), 0), socket_connect_timeout=5,
                                   socket_keepalive=True, health_check_interval=int(KEEPALIVE_SECONDS))
                    pubsub = client.pubsub(ignore_subscribe_messages=True)
                    subscribers.append((client, pubsub))
                    owner.update(dict.fromkeys(channels, client))
                    for channel in channels:  # one SSUBSCRIBE per slot: Redis refuses a cross-slot one
                        await pubsub.ssubscribe(channel)
                    listeners.append(asyncio.create_task(self._listen(pubsub, failed),
                                                         name=f"innovate-broker-redis-cluster-{host}:{port}"))
            self._cluster = cluster
            self._on_connected()

            async def send(payload: bytes) -> None:
                shards: dict[str, list[dict[str, Any]]] = {}
                for message in unpack(payload):
                    shards.setdefault(self.channel_of(message), []).append(message)
                # One SPUBLISH per shard, pipelined straight to the node that serves it: one round
                # trip per node, all nodes at once (the cluster client's own routing costs more
                # Python than the commands). A slot that moved answers MOVED, which ends the
                # session and maps the slots again. A room stays on one shard and batches go one
                # after the other, so its order holds.
                pipes: dict[int, Any] = {}
                for channel, messages in shards.items():
                    client = owner[channel]
                    pipe = pipes.get(id(client))
                    if pipe is None:
                        pipe = pipes[id(client)] = client.pipeline(transaction=False)
                    pipe.execute_command("SPUBLISH", channel, orjson.dumps(messages))
                await asyncio.gather(*(pipe.execute() for pipe in pipes.values()))

            await self._send_outbox(send, lambda: not failed.is_set())
            errors = [task.exception() for task in listeners if task.done() and not task.cancelled()]
            error = next((e for e in errors if e is not None), None)
            raise ConnectionError(f"a shard subscription ended ({type(error).__name__}: {error})")
        finally:
            self._cluster = None
            for task in listeners:
                task.cancel()
            for task in listeners:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            for client, pubsub in subscribers:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pubsub.aclose(), 2)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.aclose(), 2)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(cluster.aclose(), 2)

    async def _listen(self, pubsub: Any, failed: asyncio.Event) -> None:
        try:
            while True:
                message = await pubsub.get_message(timeout=KEEPALIVE_SECONDS)
                if message is None:
                    await pubsub.ping()
                elif message.get("type") == "smessage":
                    self._received(message["data"])
                elif message.get("type") == "sunsubscribe":
                    # The slot moved to another node: subscribe again where it is now.
                    raise ConnectionError(f"the cluster unsubscribed {message.get('channel')!r}")
        finally:
            failed.set()
            self._wake.set()

    async def _keepalive(self) -> None:
        cluster = self._cluster
        if cluster is not None:
            await asyncio.wait_for(cluster.spublish(self.channels[0], b"[]"), 5)


def cluster_nodes(url: str) -> list[tuple[str, int]]:
    """``redis-cluster://host:port[,host:port…]`` → the nodes to discover the cluster from."""
    rest = url.split("://", 1)[1].split("/", 1)[0]
    nodes = []
    for part in rest.split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"expected host:port in the broker URL, got {part!r}")
        nodes.append((host.strip("[]"), int(port)))
    return nodes


def redis_channel(database_url: str) -> str:
    from sqlalchemy.engine import make_url

    database = make_url(database_url).database if database_url else None
    return f"innovate:{database or 'default'}:events"


def asyncpg_dsn(database_url: str) -> str:
    """``postgresql+asyncpg://…`` (SQLAlchemy) → ``postgresql://…`` (asyncpg)."""
    from sqlalchemy.engine import make_url

    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_broker(url: str, database_url: str) -> Broker:
    if url == "memory":
        return MemoryBroker()
    if url == "postgres":
        if not database_url.startswith("postgresql"):
            raise ValueError("the postgres broker needs a PostgreSQL database URL")
        return PostgresBroker(database_url)
    if url.startswith(("redis://", "rediss://")):
        return RedisBroker(url, database_url)
    if url.startswith("redis-cluster://"):
        return RedisClusterBroker(url, database_url)
    raise ValueError(f"unsupported broker {url!r}")
