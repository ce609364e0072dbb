"""Small helpers shared by the orchestrator, the load generator and targets.

Only the standard library is used here so that every process of the harness
can import it cheaply.
"""

from __future__ import annotations

import asyncio
import math
import os
import platform
import resource
import socket
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")

# Loopback source addresses used to spread client connections.  Each source
# address has its own ephemeral port range (~28k ports with the default
# net.ipv4.ip_local_port_range), so 8 of them give plenty of room.
SOURCE_ADDRESSES = [f"127.0.0.{x}" for x in range(1, 9)]

PACKAGES = (
    "websockets",
    "uvicorn",
    "starlette",
    "python-socketio",
    "python-engineio",
    "uvloop",
    "httptools",
    "orjson",
)


def raise_nofile_limit() -> tuple[int, int]:
    """Raise RLIMIT_NOFILE's soft limit to the hard limit; return the result."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        try:
            hard = int(open("/proc/sys/fs/nr_open").read())
        except OSError:
            hard = 1 << 20
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def write_ready(path: str | None, port: int) -> None:
    """A reference server is listening: say so on stdout and, atomically, in ``path``."""
    print(f"READY {port}", flush=True)
    if path:
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, path)


def loop_factory(choice: str):
    """The event loop factory for ``--loop auto|asyncio|uvloop`` (None: asyncio's own);
    ``auto`` takes uvloop when it is installed."""
    if choice not in ("auto", "uvloop"):
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise
        return None
    return uvloop.new_event_loop


def _stat_cpu_ticks(data: bytes) -> int:
    """utime + stime, in clock ticks, of a /proc/PID/stat line."""
    # The command name (field 2) may contain spaces: split after its ")".
    fields = data[data.rindex(b")") + 2 :].split()
    # fields[0] is field 3 (state); utime is field 14, stime field 15.
    return int(fields[11]) + int(fields[12])


def proc_cpu_seconds(pid: int | str = "self") -> float:
    """utime + stime of a process (all threads) and of its live child processes (a server's
    workers), in seconds, from /proc."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        own = _stat_cpu_ticks(f.read()) / CLK_TCK
    return own + sum(_cpu_or_zero(child) for child in child_pids(pid))


def child_pids(pid: int | str) -> list[int]:
    """The live child processes of ``pid`` (/proc/PID/task/*/children)."""
    children: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return children
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                children += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return children


def _cpu_or_zero(pid: int) -> float:
    try:
        return proc_cpu_seconds(pid)
    except (OSError, ValueError):
        return 0.0  # exited meanwhile


def postgres_cpu_seconds() -> float:
    """utime + stime of every process named ``postgres`` on the machine (the server, its
    backends and its helpers), in seconds: the database's share of a measurement window."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue  # exited meanwhile
        if data[data.index(b"(") + 1 : data.rindex(b")")] == b"postgres":
            total += _stat_cpu_ticks(data)
    return total / CLK_TCK


def proc_rss_kib(pid: int | str = "self") -> int:
    """Resident set size of a process in KiB (VmRSS from /proc/PID/status)."""
    with open(f"/proc/{pid}/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmRSS:"):
                return int(line.split()[1])
    return 0


class CpuMeter:
    """CPU usage of one process over a wall-clock interval, in % of one core."""

    def __init__(self, pid: int | str, clock) -> None:
        self.pid = pid
        self.clock = clock
        self.start()

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def start(self) -> None:
        self.cpu0 = self.cpu_seconds()
        self.wall0 = self.clock()

    def percent(self) -> float:
        cpu = self.cpu_seconds() - self.cpu0
        wall = self.clock() - self.wall0
        return 100.0 * cpu / wall if wall > 0 else 0.0


class PostgresCpuMeter(CpuMeter):
    """CPU usage of every ``postgres`` process over a wall-clock interval, in % of one core."""

    def __init__(self, clock) -> None:
        super().__init__("postgres", clock)

    def cpu_seconds(self) -> float:
        return postgres_cpu_seconds()


def runqueue_wait_ns(pid: int | str = "self") -> int:
    """Time the process's threads spent runnable but waiting for a CPU (ns).

    From /proc/PID/task/*/schedstat (second field); 0 if unavailable.
    """
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total


class WaitMeter:
    """Run-queue wait of a process over a wall-clock interval, in %."""

    def __init__(self, pid: int | str, clock) -> None:
        self.pid = pid
        self.clock = clock
        self.start()

    def start(self) -> None:
        self.w0 = runqueue_wait_ns(self.pid)
        self.wall0 = self.clock()

    def percent(self) -> float:
        wall = self.clock() - self.wall0
        return 100.0 * (runqueue_wait_ns(self.pid) - self.w0) / 1e9 / wall if wall > 0 else 0.0


def cpu_times() -> dict[str, tuple[int, int]]:
    """(busy, total) jiffies per CPU ("cpu0", "cpu1", ...) from /proc/stat.

    busy counts user, nice, system, irq, softirq and steal; idle and iowait
    are not busy.
    """
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu"):
                break
            name, *vals = line.split()
            v = [int(x) for x in vals[:8]]
            total = sum(v)
            out[name] = (total - v[3] - v[4], total)
    return out


class MachineMeter:
    """Busy % of each CPU over an interval (all processes, from /proc/stat)."""

    def __init__(self) -> None:
        self.start()

    def start(self) -> None:
        self.t0 = cpu_times()

    def percent(self) -> dict[str, float]:
        t1 = cpu_times()
        out = {}
        for name, (busy1, total1) in t1.items():
            busy0, total0 = self.t0.get(name, (busy1, total1))
            dt = total1 - total0
            out[name] = round(100.0 * (busy1 - busy0) / dt, 1) if dt > 0 else 0.0
        return out


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of an already sorted list."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, math.ceil(q / 100.0 * len(sorted_values)) - 1))
    return sorted_values[k]


def median(values: Sequence[float | None]) -> float | None:
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    mid = len(vals) // 2
    if len(vals) % 2:
        return vals[mid]
    return (vals[mid - 1] + vals[mid]) / 2


def linear_fit(xs: list[float], ys: list[float]) -> tuple[float, float] | None:
    """Least-squares slope and intercept, or None with fewer than 2 points."""
    n = len(xs)
    if n < 2:
        return None
    mx = sum(xs) / n
    my = sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return slope, my - slope * mx


# What runs write (results, RESULTS.md) and the notes about them are not the measured code: a
# results file left untracked by the last run must not mark the next one as "+changes".
NOT_MEASURED = (":(exclude)bench/results", ":(exclude,glob)bench/**/*.md")
CHECKOUT = Path(__file__).resolve().parent.parent


def source_revision(root: Path = CHECKOUT) -> str | None:
    """The commit the measured code is at ("+changes" when the tree has uncommitted ones)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "bench", *NOT_MEASURED], cwd=root,
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+changes" if dirty else "")


def machine_info() -> dict:
    cpu_model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        mem_kib = next(
            int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal:")
        )
    except (OSError, StopIteration):
        mem_kib = None
    return {
        "cpu_model": cpu_model,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "mem_total_kib": mem_kib,
        "nofile_limit": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
        "packages": versions,
        "executable": sys.executable,
        "revision": source_revision(),
    }


async def serve_in_process(app: Any) -> tuple[str, Any, asyncio.Task[None]]:
    """``app`` on a free local port, in this process's loop (uvicorn): its ``host:port``, the
    server (set ``should_exit`` to stop it) and the task to await after."""
    import uvicorn

    from innovate.realtime import fastpath

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws=fastpath.SERVER_PROTOCOL))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    return f"127.0.0.1:{sock.getsockname()[1]}", server, serving
