"""Brokers side by side: how fast notices cross from one broker instance to another (two app
processes' worth of brokers, in one process here), and how late.

For each broker: a paced run (``--rate`` notices/s for ``--seconds``, rooms round-robin over
``--rooms``) for the delay from ``publish()`` to the other instance's delivery (p50/p99), then
a burst of ``--burst`` notices for the most per second. It starts what it needs: a private
``redis-server``, a three-node Redis Cluster (``redis-server --cluster-enabled yes``), and a
private PostgreSQL database on 127.0.0.1:5432 (dropped afterwards).

    python -m bench.brokers [--brokers memory,postgres,redis,redis-cluster]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import median  # noqa: E402
from bench.votes import private_postgres  # noqa: E402
from innovate.realtime.brokers import create_broker  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(port: int, *args: str) -> str:
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=30,
                          check=False).stdout


def redis_server(port: int, workdir: Path, *extra: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while cli(port, "PING").strip() != "PONG":
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("redis-server did not start")
        time.sleep(0.05)
    return proc


@contextlib.contextmanager
def single_redis(workdir: Path) -> Iterator[str]:
    port = free_port()
    proc = redis_server(port, workdir)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(15)


@contextlib.contextmanager
def redis_cluster(workdir: Path) -> Iterator[str]:
    procs, ports = [], []
    try:
        for i in range(3):
            port, bus = free_port(), free_port()
            node_dir = workdir / f"node{i}"
            node_dir.mkdir()
            procs.append(redis_server(port, node_dir, "--cluster-enabled", "yes", "--cluster-port", str(bus),
                                      "--cluster-config-file", "nodes.conf"))
            ports.append(port)
        subprocess.run(["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
                        "--cluster-replicas", "0", "--cluster-yes"], capture_output=True, timeout=60, check=True)
        deadline = time.monotonic() + 60
        while not all("cluster_state:ok" in cli(p, "CLUSTER", "INFO") for p in ports):
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not become healthy")
            time.sleep(0.1)
        yield "redis-cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(15)


async def measure(url: str, database_url: str, rooms: int, rate: float, seconds: float, burst: int) -> dict[str, Any]:
    sender = create_broker(url, database_url)
    receiver = sender if url == "memory" else create_broker(url, database_url)
    arrived: dict[int, float] = {}
    done = asyncio.Event()
    expected = 0

    async def deliver(message: dict[str, Any]) -> None:
        n = message.get("n")
        if isinstance(n, int):
            arrived[n] = time.perf_counter()
            if len(arrived) >= expected:
                done.set()

    async def ignore(_message: dict[str, Any]) -> None:
        return None

    await receiver.start(deliver)
    if sender is not receiver:
        await sender.start(ignore)
    try:
        sent: dict[int, float] = {}
        total = int(rate * seconds)
        expected = total
        start = time.perf_counter()
        for n in range(total):
            await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
            sent[n] = time.perf_counter()
            await sender.publish({"room": n % rooms + 1, "seq": n + 1, "kind": "bench", "n": n})
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):
                await done.wait()
        delays = sorted((arrived[n] - sent[n]) * 1000 for n in sent if n in arrived)
        paced = {"sent": total, "received": len(delays),
                 "p50_ms": round(delays[len(delays) // 2], 2) if delays else None,
                 "p99_ms": round(delays[int(len(delays) * 0.99)], 2) if delays else None}

        arrived.clear()
        done.clear()
        expected = burst
        start = time.perf_counter()
        for n in range(burst):
            await sender.publish({"room": n % rooms + 1, "seq": n + 1, "kind": "bench", "n": n})
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(60):
                await done.wait()
        elapsed = (max(arrived.values()) - start) if arrived else None
        return {"paced": paced, "burst": {"sent": burst, "received": len(arrived),
                                          "per_s": round(len(arrived) / elapsed) if elapsed else None}}
    finally:
        await sender.close()
        if receiver is not sender:
            await receiver.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", default="memory,postgres,redis,redis-cluster")
    parser.add_argument("--rooms", type=int, default=64)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--burst", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-brokers-") as tmp, contextlib.ExitStack() as stack:
        urls = {}
        names = args.brokers.split(",")
        database_url = stack.enter_context(private_postgres()) if "postgres" in names else "sqlite:///bench.db"
        for name in names:
            if name == "redis":
                (Path(tmp) / "single").mkdir()
                urls[name] = stack.enter_context(single_redis(Path(tmp) / "single"))
            elif name == "redis-cluster":
                (Path(tmp) / "cluster").mkdir()
                urls[name] = stack.enter_context(redis_cluster(Path(tmp) / "cluster"))
            else:
                urls[name] = name
        for _ in range(args.rounds):  # ABAB: every broker once per round
            for name, url in urls.items():
                result = asyncio.run(measure(url, database_url, args.rooms, args.rate, args.seconds, args.burst))
                results.setdefault(name, []).append(result)
                print(f"{name}: {result}", flush=True)
    print(f"\nbroker | p50 ms at {args.rate:g}/s | p99 ms | burst notices/s (median of {args.rounds} rounds)")
    for name, runs in results.items():
        print(f"{name} | {median([r['paced']['p50_ms'] for r in runs])} | {median([r['paced']['p99_ms'] for r in runs])}"
              f" | {median([r['burst']['per_s'] for r in runs])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
