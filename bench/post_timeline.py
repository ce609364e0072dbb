"""Where the time goes between a member's POST and the last socket's frame, in the server.

    python -m bench.post_timeline [--subscribers 1000] [--rate 20] [--duration 20]

Runs the latency scenario (one member posting ``--rate`` messages a second to a room with
``--subscribers`` sockets) against ``innovate serve`` on SQLite, with a shim in the server
that stamps ``time.perf_counter()`` at each step of a message's way:

- ``request``: the HTTP request reaches the app, to the discussion service's ``post()``;
- ``store``: ``post()``: access, rate limit, Markdown, the message and its event, the commit,
  up to the notice that wakes the room's pump;
- ``wake``: the notice to the pump's catch-up starting;
- ``read``: the feed reading the batch back (the room, the events, what they point at);
- ``frames``: the batch's frames per view;
- ``fan-out``: the first socket's write to the last one's.

It prints each step's median, 90th and 99th percentile over the messages after the first
twenty, and the client's own latency figures for the same run. The shim wraps functions of
Innovate's (their names are below); a rename shows up as a KeyError here, not as a wrong
figure.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import signal
import sys
import tempfile
import time

from bench.innovate_target import InnovateTarget
from bench.run import Config, traffic

# Runs in the server process. SIGUSR1 writes the stamps to INNOVATE_BENCH_TIMELINE (then
# touches "<path>.done").
SHIM = """
import functools, inspect, json, os, signal, sys, time
stamps = {}
def stamp(key):
    stamps.setdefault(key, []).append(time.perf_counter())
def dump(signum, frame):
    path = os.environ["INNOVATE_BENCH_TIMELINE"]
    with open(path, "w") as out:
        json.dump(stamps, out)
    open(path + ".done", "w").close()
signal.signal(signal.SIGUSR1, dump)

def around(owner, name, key):
    original = getattr(owner, name)
    if inspect.iscoroutinefunction(original):
        @functools.wraps(original)
        async def timed(*args, **kwargs):
            stamp(key + ".start")
            try:
                return await original(*args, **kwargs)
            finally:
                stamp(key + ".end")
    else:
        @functools.wraps(original)
        def timed(*args, **kwargs):
            stamp(key + ".start")
            try:
                return original(*args, **kwargs)
            finally:
                stamp(key + ".end")
    setattr(owner, name, timed)

from innovate import observability
from innovate.live import feed
from innovate.realtime import channel
from innovate.rooms.discussion import service
around(observability.RequestObservabilityMiddleware, "_http", "request")
around(service, "post", "post")
around(channel.Channel, "announce", "announce")
around(channel.Channel, "_catch_up", "catch_up")
around(feed.RoomFeed, "batch", "batch")
around(feed.RoomBatch, "__init__", "frames")
around(channel.Channel, "_fan_out", "fan_out")

from innovate.cli import main
sys.argv = ["innovate", *sys.argv[1:]]
sys.exit(main())
"""

SKIP = 20  # messages at the start: first-use costs (compiled statements, templates)


class TimedTarget(InnovateTarget):
    def server_command(self, port: int, ready_file: str) -> list[str]:
        command = super().server_command(port, ready_file)
        return [sys.executable, "-c", SHIM, *command[1:]]


def collect(pid: int, path: str, timeout: float = 60.0) -> dict[str, list[float]]:
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while not os.path.exists(path + ".done"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no timeline at {path}")
        time.sleep(0.05)
    with open(path) as handle:
        stamps: dict[str, list[float]] = json.load(handle)
    return stamps


def steps(stamps: dict[str, list[float]]) -> dict[str, list[float]]:
    """Per message, the milliseconds of each step (see the module's docstring)."""
    def last_before(key: str, t: float) -> float:
        xs = stamps[key]
        return xs[bisect.bisect_right(xs, t) - 1]

    def first_after(key: str, t: float) -> float | None:
        xs = stamps[key]
        i = bisect.bisect_left(xs, t)
        return xs[i] if i < len(xs) else None

    out: dict[str, list[float]] = {name: [] for name in
                                   ("request", "store", "wake", "read", "frames", "fan-out", "POST to first write",
                                    "POST to last write")}
    for posted in stamps["post.start"][SKIP:]:
        request = last_before("request.start", posted)
        announced = first_after("announce.start", posted)
        if announced is None:
            continue
        catch_up = first_after("catch_up.start", announced)
        read = first_after("batch.start", announced)
        frames = first_after("frames.start", announced)
        read_end = first_after("batch.end", announced)
        first = first_after("fan_out.start", announced)
        last = first_after("fan_out.end", announced)
        found: list[float | None] = [catch_up, read, frames, read_end, first, last]
        if any(t is None for t in found):
            continue
        assert catch_up is not None and read is not None and frames is not None
        assert read_end is not None and first is not None and last is not None
        frames_end = first_after("frames.end", frames)
        assert frames_end is not None
        for name, ms in (("request", posted - request), ("store", announced - posted), ("wake", catch_up - announced),
                         ("read", (read_end - read) - (frames_end - frames)), ("frames", frames_end - frames),
                         ("fan-out", last - first), ("POST to first write", first - request),
                         ("POST to last write", last - request)):
            out[name].append(ms * 1000)
    return out


def percentile(xs: list[float], q: float) -> float:
    ordered = sorted(xs)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args(argv)
    cfg = Config()
    with tempfile.TemporaryDirectory(prefix="bench-post-timeline-") as tmp:
        path = os.environ["INNOVATE_BENCH_TIMELINE"] = f"{tmp}/timeline.json"
        target = TimedTarget(cpu="0")
        target.start()
        try:
            assert target._proc is not None, "started"
            client = traffic(target, cfg, mode="rate", subscribers=args.subscribers, duration=args.duration,
                         warmup=cfg.lat_warmup, rate=args.rate)
            stamps = collect(target._proc.pid, path)
        finally:
            target.stop()
    table = steps(stamps)
    print(f"{args.subscribers} sockets, {args.rate:g} messages/s, {len(table['store'])} messages timed")
    print(f"{'step':<20} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}")
    for name, xs in table.items():
        if xs:
            print(f"{name:<20} {percentile(xs, 0.5):8.3f} {percentile(xs, 0.9):8.3f} {percentile(xs, 0.99):8.3f}")
    latency = client.get("latency_ms") or {}
    print(f"client latency p50 / p99: {latency.get('p50')} / {latency.get('p99')} ms "
          f"(server CPU {client.get('server_cpu_pct')} %)")


if __name__ == "__main__":
    main()
