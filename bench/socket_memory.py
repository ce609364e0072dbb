"""What one idle live socket holds in the server, by where it was allocated.

    python -m bench.socket_memory [--sockets 400] [--warm 100] [--frames 12] [--top 30]

Starts ``innovate serve`` as the benchmark does (SQLite, a room with members), with Python's
``tracemalloc`` on in the server (``--frames`` deep) and a signal handler that writes a
snapshot. Connects ``--warm`` sockets (caches, pools and first-use allocations settle),
takes a snapshot, connects ``--sockets`` more, waits for the server to go quiet, takes a
second one, and prints the difference grouped by the innermost frames of Innovate's,
Starlette's, uvicorn's, websockets' and asyncio's code, in bytes per socket. The total is
Python's own allocations only: RSS (the ``idle_memory`` scenario) adds the allocator's
overhead and the kernel-side transport.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench import wsclient
from bench.innovate_target import InnovateTarget

# Runs in the server process: tracemalloc from the start, and SIGUSR1 writes a snapshot to
# the path in INNOVATE_BENCH_SNAPSHOT (then touches "<path>.done").
SHIM = """
import os, signal, sys, tracemalloc
tracemalloc.start(int(os.environ["INNOVATE_BENCH_FRAMES"]))
def dump(signum, frame):
    path = os.environ["INNOVATE_BENCH_SNAPSHOT"] + "." + str(dump.count)
    dump.count += 1
    tracemalloc.take_snapshot().dump(path)
    open(path + ".done", "w").close()
dump.count = 0
signal.signal(signal.SIGUSR1, dump)
from innovate.cli import main
sys.argv = ["innovate", *sys.argv[1:]]
sys.exit(main())
"""

# Files whose frames name an allocation (the innermost one of these in its traceback).
OWNERS = ("innovate/", "starlette/", "uvicorn/", "websockets/", "asyncio/", "prometheus_client/",
          "sqlalchemy/", "opentelemetry/")


class TracedTarget(InnovateTarget):
    def server_command(self, port: int, ready_file: str) -> list[str]:
        command = super().server_command(port, ready_file)
        return [sys.executable, "-c", SHIM, *command[1:]]


def owner(trace: tracemalloc.Traceback) -> str:
    """Where an allocation was made: its innermost frame in a known library, and the nearest
    caller from another of them ("asyncio/queues.py:35 < uvicorn/…:87")."""
    names = []
    for frame in reversed(trace):  # a Traceback runs from the oldest frame to the newest
        for mark in OWNERS:
            if mark in frame.filename:
                names.append((mark, f"{mark}{frame.filename.split(mark, 1)[1]}:{frame.lineno}"))
                break
    if not names:
        newest = trace[-1]
        return f"{Path(newest.filename).name}:{newest.lineno}"
    first_mark, first = names[0]
    caller = next((name for mark, name in names[1:] if mark != first_mark), None)
    return f"{first} < {caller}" if caller else first


def snapshot(pid: int, base: str, index: int, timeout: float = 120.0) -> tracemalloc.Snapshot:
    os.kill(pid, signal.SIGUSR1)
    path = f"{base}.{index}"
    deadline = time.monotonic() + timeout
    while not os.path.exists(path + ".done"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no snapshot at {path}")
        time.sleep(0.1)
    return tracemalloc.Snapshot.load(path)


async def connect(target: InnovateTarget, count: int, start: int, sockets: list) -> None:
    indices = iter(range(start, start + count))

    async def worker() -> None:
        for i in indices:
            ws = await wsclient.connect(target.subscriber_url(i), target.subscriber_headers(i), None, 30.0)
            ws.set_keepalive(target.keepalive)
            await target.subscribe_handshake(ws)
            ws.count_mode()
            sockets.append(ws)

    await asyncio.gather(*(worker() for _ in range(20)))


async def quiet(pid: int, settle: float = 1.0) -> None:
    """Wait until the server used under 5 % of a core for ``settle`` seconds."""
    def ticks() -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    hz = os.sysconf("SC_CLK_TCK")
    while True:
        before = ticks()
        await asyncio.sleep(settle)
        if (ticks() - before) / hz / settle < 0.05:
            return


async def amain(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-socket-memory-") as tmp:
        base = f"{tmp}/snapshot"
        os.environ["INNOVATE_BENCH_SNAPSHOT"] = base
        os.environ["INNOVATE_BENCH_FRAMES"] = str(args.frames)
        target = TracedTarget(cpu="0")
        # start() runs its own event loop to make members; tracemalloc slows the imports.
        await asyncio.to_thread(target.start, 900.0)
        sockets: list = []
        try:
            assert target._proc is not None, "started"
            pid = target._proc.pid  # taskset execs the server: same pid
            await connect(target, args.warm, 0, sockets)
            await quiet(pid)
            before = snapshot(pid, base, 0)
            await connect(target, args.sockets, args.warm, sockets)
            await quiet(pid)
            after = snapshot(pid, base, 1)
            alive = sum(1 for ws in sockets if not ws.closed.done())
        finally:
            for ws in sockets:
                ws.abort()
            target.stop()
    n = args.sockets
    groups: dict[str, list[int]] = {}
    for stat in after.compare_to(before, "traceback"):
        if stat.size_diff == 0 and stat.count_diff == 0:
            continue
        key = owner(stat.traceback)
        size, count = groups.setdefault(key, [0, 0])
        groups[key] = [size + stat.size_diff, count + stat.count_diff]
    total = sum(size for size, _ in groups.values())
    print(f"{n} sockets (after {args.warm}), {alive} open: {total / n:,.0f} B per socket traced")
    print(f"{'B/socket':>9} {'blocks':>7}  where")
    for key, (size, count) in sorted(groups.items(), key=lambda kv: -kv[1][0])[: args.top]:
        print(f"{size / n:9,.0f} {count / n:7.2f}  {key}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=400)
    parser.add_argument("--warm", type=int, default=100)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--top", type=int, default=30)
    asyncio.run(amain(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
