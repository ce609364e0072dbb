"""Load generator: sinks, probes and publishers in one process.

Started by ``bench/run.py`` under ``taskset -c 1`` (the server under test is on
CPU 0); it can also be run by hand against a started target::

    python bench/load.py --target-spec '{"name": "raw", "host": "127.0.0.1",
        "port": 8765}' --server-pid 1234 --mode rate --subscribers 1000 --rate 20

Modes:

* ``rate``: open loop.  ``--publishers`` K publishers each publish ``--rate``
  messages/s on a fixed schedule for ``--duration`` s.  The payload's ``t`` is
  the *scheduled* send time, so a publisher that is held back (server not
  reading, back-pressure) still shows up as latency.
* ``saturate``: one publisher sends as fast as the fan-out drains: it keeps at
  most ``--window`` messages in flight (published minus the slowest probe's
  highest received sequence number), which keeps the server busy without
  unbounded queues.  ``t`` is the actual send time.
* ``idle``: connect subscribers in ``--steps`` and read the server's RSS after
  each step (no messages).

Of ``--subscribers`` N, ``--probes`` are probes spread evenly through the
connection order; the rest are sinks that only count frames and bytes.
Prints/writes one JSON document (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import registry, targets, wsclient  # noqa: E402
from bench.common import (  # noqa: E402
    SOURCE_ADDRESSES,
    CpuMeter,
    MachineMeter,
    WaitMeter,
    loop_factory,
    percentile,
    proc_rss_kib,
    raise_nofile_limit,
)

CLIENT_BOUND_PCT = 90.0
# Other processes using more than this share of CPU 0 or CPU 1 during a
# measurement make it unreliable (flagged as machine_busy).
BACKGROUND_LIMIT_PCT = 10.0
# The server or the load generator waited for a CPU (runnable, not running)
# for more than this share of the window: the figure is distorted.
CONTENDED_LIMIT_PCT = 5.0


class Probe:
    """A subscriber that decodes every frame: latency, loss, duplicates."""

    def __init__(self, gen: LoadGen) -> None:
        self.gen = gen
        self.decode = gen.target.decode
        self.ws: wsclient.LiteWS | None = None
        self.seen: dict[int, bytearray] = {}
        self.highest: dict[int, int] = {}
        self.unique = 0
        self.dup = 0
        self.other = 0
        self.received = 0  # all decoded published messages, dups included

    def on_message(self, frame) -> None:
        now = time.time_ns()
        rx = (self.ws.rx_ns if self.ws is not None else None) or now
        d = self.decode(frame)
        if d is None:
            self.other += 1
            return
        try:
            t = d["t"]
            n = d["n"]
            p = d["p"]
        except (KeyError, TypeError):
            self.other += 1
            return
        self.received += 1
        seen = self.seen.get(p)
        if seen is None:
            seen = self.seen[p] = bytearray(1024)
        if n >= len(seen):
            seen.extend(bytes(max(n + 1 - len(seen), len(seen))))
        if seen[n]:
            self.dup += 1
            return
        seen[n] = 1
        self.unique += 1
        if n > self.highest.get(p, -1):
            self.highest[p] = n
        gen = self.gen
        if t >= gen.latency_from_ns:
            gen.latencies.append(rx - t)
            gen.latencies_user.append(now - t)
        gen.progress.set()

    def has(self, p: int, n: int) -> bool:
        seen = self.seen.get(p)
        return seen is not None and n < len(seen) and bool(seen[n])

    @property
    def alive(self) -> bool:
        return self.ws is not None and not self.ws.closed.done()


def background_load(busy: dict, server_cpu: float | None, client_cpu: float) -> dict:
    """CPU used by other processes on the two benchmark CPUs during the window.

    CPU 0 is the server's, CPU 1 the load generator's; what is busy beyond
    their own usage belongs to something else on the machine (or the
    hypervisor: steal time counts as busy).
    """
    cpu0 = busy.get("cpu0", 0.0) - (server_cpu or 0.0)
    cpu1 = busy.get("cpu1", 0.0) - client_cpu
    other = {"cpu0": round(max(0.0, cpu0), 1), "cpu1": round(max(0.0, cpu1), 1)}
    return {
        "cpu_busy_pct": busy,
        "background_cpu_pct": other,
        "machine_busy": max(other.values()) > BACKGROUND_LIMIT_PCT,
    }


class LoadGen:
    def __init__(self, target: targets.Target, args) -> None:
        self.target = target
        self.args = args
        self.server_pid = args.server_pid
        self.sinks: list = []
        self.probes: list[Probe] = []
        self.connected = 0
        self.connect_errors = 0
        self.first_error: str | None = None
        self.latencies: list[int] = []  # kernel receive time - t
        self.latencies_user: list[int] = []  # probe callback time - t
        self.latency_from_ns = 1 << 62
        self.progress = asyncio.Event()
        self.sent_t: dict[int, list[tuple[int, int]]] = {}  # publisher -> [(seq, t)]
        self.publish_errors = 0
        self.lags: list[int] = []
        self.sink_impl = args.sink_impl

    # -- connections -----------------------------------------------------------

    def _sources(self, total: int) -> list[str]:
        s = self.args.sources
        if s == "auto":
            n = 1 if total <= 2000 else len(SOURCE_ADDRESSES)
        else:
            n = max(1, min(int(s), len(SOURCE_ADDRESSES)))
        return SOURCE_ADDRESSES[:n]

    async def _connect_one(self, i: int, probe: Probe | None, source: str | None) -> None:
        t = self.target
        timeout = self.args.connect_timeout
        connect: Callable[..., Awaitable[Any]] = (
            wsclient.connect_timestamped if probe is not None else wsclient.connect)
        if probe is None and self.sink_impl == "websockets":
            connect = wsclient.connect_websockets_lib
        last_exc = None
        for attempt in range(3):
            ws: Any = None
            try:
                ws = await connect(t.subscriber_url(i), t.subscriber_headers(i), source, timeout)
                ws.set_keepalive(t.keepalive)
                async with asyncio.timeout(timeout):
                    await t.subscribe_handshake(ws)
            except (TimeoutError, OSError, wsclient.WSClosed, Exception) as exc:
                last_exc = exc
                if ws is not None:
                    ws.abort()
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            if probe is not None:
                probe.ws = ws
                ws.callback_mode(probe.on_message)
                self.probes.append(probe)
            else:
                ws.set_count_prefix(t.message_prefix)
                ws.count_mode()
                self.sinks.append(ws)
            self.connected += 1
            return
        self.connect_errors += 1
        if self.first_error is None:
            self.first_error = repr(last_exc)

    async def connect_subscribers(self, total: int, probes: int) -> float:
        """Connect subscribers up to ``total``; returns seconds taken."""
        start = self.connected + self.connect_errors
        count = total - start
        if count <= 0:
            return 0.0
        probe_at = set()
        if probes:
            probe_at = {start + int((j + 0.5) * count / probes) for j in range(probes)}
        sources = self._sources(total)
        indices = iter(range(start, total))

        async def worker() -> None:
            for i in indices:
                probe = Probe(self) if i in probe_at else None
                await self._connect_one(i, probe, sources[i % len(sources)])

        t0 = time.monotonic()
        workers = min(self.args.connect_concurrency, count)
        await asyncio.gather(*(worker() for _ in range(workers)))
        return time.monotonic() - t0

    def sink_frames(self) -> int:
        return sum(s.frames for s in self.sinks)

    def sink_bytes(self) -> int:
        return sum(s.nbytes for s in self.sinks) + sum(p.ws.nbytes for p in self.probes if p.ws is not None)

    def deliveries(self) -> int:
        return self.sink_frames() + sum(p.received for p in self.probes)

    def alive_sinks(self) -> int:
        n = 0
        for s in self.sinks:
            closed = getattr(s, "closed", None)
            if closed is None or not closed.done():
                n += 1
        return n

    # -- publishing ------------------------------------------------------------

    async def _publish(
        self, payload: str, j: int, n: int, t: int, sem: asyncio.Semaphore | None
    ) -> None:
        try:
            await self.target.publish(payload, j)
        except Exception:
            self.publish_errors += 1
        else:
            self.sent_t[j].append((n, t))
        finally:
            if sem is not None:
                sem.release()

    async def publisher_rate(self, j: int, k: int, rate: float, start_ns: int, end_ns: int) -> None:
        """Open loop: message n of publisher j is due at start + offset + n/rate."""
        period = 1e9 / rate
        offset = j * period / k
        self.sent_t.setdefault(j, [])
        sem = asyncio.Semaphore(self.args.max_inflight_publishes)
        tasks = set()
        n = 0
        while True:
            due = start_ns + int(offset + n * period)
            if due >= end_ns:
                break
            delay = (due - time.time_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            self.lags.append(time.time_ns() - due)
            payload = f'{{"t":{due},"n":{n},"p":{j}}}'
            await sem.acquire()
            task = asyncio.create_task(self._publish(payload, j, n, due, sem))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _slowest_probe(self, j: int) -> int:
        best = None
        for p in self.probes:
            if not p.alive:
                continue
            h = p.highest.get(j, -1)
            if best is None or h < best:
                best = h
        return -1 if best is None else best

    async def publisher_saturate(self, j: int, end_ns: int, window: int) -> None:
        """Closed loop: keep ``window`` messages in flight to the slowest probe."""
        sent = self.sent_t.setdefault(j, [])
        n = 0
        while time.time_ns() < end_ns:
            if n - self._slowest_probe(j) > window:
                self.progress.clear()
                try:
                    await asyncio.wait_for(self.progress.wait(), 0.5)
                except TimeoutError:
                    pass
                continue
            t = time.time_ns()
            try:
                await self.target.publish(f'{{"t":{t},"n":{n},"p":{j}}}', j)
            except Exception:
                self.publish_errors += 1
                await asyncio.sleep(0.01)
            else:
                sent.append((n, t))
            n += 1

    # -- measurement -----------------------------------------------------------

    def _snapshot(self) -> dict:
        return {
            "mono": time.monotonic(),
            "deliveries": self.deliveries(),
            "bytes": self.sink_bytes(),
        }

    async def drain(self, sink_base: int, timeout: float) -> tuple[bool, float]:
        published = sum(len(v) for v in self.sent_t.values())
        expected_sinks = published * len(self.sinks)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            probes_done = all(p.unique >= published for p in self.probes if p.alive)
            if probes_done and self.sink_frames() - sink_base >= expected_sinks:
                return True, time.monotonic() - t0
            await asyncio.sleep(0.05)
        return False, time.monotonic() - t0

    async def run_traffic(self) -> dict:
        a = self.args
        saturate = a.mode == "saturate"
        k = 1 if saturate else a.publishers
        window = a.window or max(4, math.ceil(a.window_deliveries / max(1, a.subscribers)))
        result: dict = {
            "mode": a.mode,
            "subscribers_requested": a.subscribers,
            "probes_requested": a.probes,
            "publishers": k,
            "rate_per_publisher": None if saturate else a.rate,
            "duration_s": a.duration,
            "warmup_s": a.warmup,
            "window": window if saturate else None,
            "sink_impl": self.sink_impl,
        }
        connect_s = await self.connect_subscribers(a.subscribers, min(a.probes, a.subscribers))
        result.update(
            connected=self.connected,
            sinks=len(self.sinks),
            probes=len(self.probes),
            connect_errors=self.connect_errors,
            connect_first_error=self.first_error,
            connect_s=round(connect_s, 3),
            connects_per_s=round(self.connected / connect_s, 1) if connect_s else None,
            sources=len(self._sources(a.subscribers)),
        )
        if not self.probes:
            result["error"] = "no probe connected"
            return result
        await self.target.open_publishers(k)
        await asyncio.sleep(a.settle)
        rss_before = proc_rss_kib(self.server_pid) if self.server_pid else None

        sink_base = self.sink_frames()
        start_ns = time.time_ns() + 200_000_000
        warm_ns = start_ns + int(a.warmup * 1e9)
        end_ns = start_ns + int(a.duration * 1e9)
        self.latency_from_ns = warm_ns
        for j in range(k):
            self.sent_t.setdefault(j, [])

        if saturate:
            await asyncio.sleep((start_ns - time.time_ns()) / 1e9)
            pubs = [asyncio.create_task(self.publisher_saturate(0, end_ns, window))]
        else:
            pubs = [
                asyncio.create_task(self.publisher_rate(j, k, a.rate, start_ns, end_ns))
                for j in range(k)
            ]
        # Measurement window: [start + warmup, start + duration].
        await asyncio.sleep(max(0.0, (warm_ns - time.time_ns()) / 1e9))
        client = CpuMeter("self", time.monotonic)
        server = CpuMeter(self.server_pid, time.monotonic) if self.server_pid else None
        machine = MachineMeter()
        client_wait = WaitMeter("self", time.monotonic)
        server_wait = WaitMeter(self.server_pid, time.monotonic) if self.server_pid else None
        snap0 = self._snapshot()
        await asyncio.sleep(max(0.0, (end_ns - time.time_ns()) / 1e9))
        snap1 = self._snapshot()
        client_cpu = client.percent()
        server_cpu = server.percent() if server else None
        busy = machine.percent()
        client_rq = client_wait.percent()
        server_rq = server_wait.percent() if server_wait else 0.0
        rss_end = proc_rss_kib(self.server_pid) if self.server_pid else None
        await asyncio.gather(*pubs)

        drained, drain_s = await self.drain(sink_base, a.drain_timeout)
        window_s = snap1["mono"] - snap0["mono"]
        deliveries = snap1["deliveries"] - snap0["deliveries"]
        published = sum(len(v) for v in self.sent_t.values())
        published_in_window = sum(
            1 for v in self.sent_t.values() for _, t in v if warm_ns <= t < end_ns
        )

        # Loss and duplicates: probes know every sequence number; sinks only
        # know how many frames they got.
        # A message a probe has not received by the end of the drain counts
        # with the latency it had reached then: percentiles become lower
        # bounds (flagged) instead of silently leaving the slowest out.
        drain_end_ns = time.time_ns()
        probe_lost = 0
        missing: list[int] = []
        for p in self.probes:
            for j, ts in self.sent_t.items():
                seen = p.seen.get(j, b"")
                for n, t in ts:
                    if n >= len(seen) or not seen[n]:
                        probe_lost += 1
                        if t >= warm_ns:
                            missing.append(drain_end_ns - t)
        missing_in_window = len(missing)
        probe_dup = sum(p.dup for p in self.probes)
        sink_received = self.sink_frames() - sink_base
        sink_expected = published * len(self.sinks)
        sink_short = max(0, sink_expected - sink_received)
        sink_excess = max(0, sink_received - sink_expected)

        lat = sorted(self.latencies + missing)
        lat_user = sorted(self.latencies_user + missing)

        def ms_of(values: list, q: float):
            v = percentile(values, q)
            return None if v is None else round(v / 1e6, 3)

        def ms(q: float):
            return ms_of(lat, q)

        lags = sorted(self.lags)
        result.update(
            published=published,
            published_in_window=published_in_window,
            publish_rate=round(published_in_window / window_s, 2) if window_s else None,
            publish_errors=self.publish_errors,
            publish_failures=list(getattr(self.target, "publish_failures", [])),
            publish_lag_ms_p99=ms_of(lags, 99),
            publish_lag_ms_max=round(lags[-1] / 1e6, 3) if lags else None,
            window_s=round(window_s, 3),
            deliveries=deliveries,
            deliveries_per_s=round(deliveries / window_s, 1) if window_s else None,
            rx_bytes_per_s=round((snap1["bytes"] - snap0["bytes"]) / window_s, 1) if window_s else None,
            latency_samples=len(self.latencies),
            latency_missing=missing_in_window,
            latency_lower_bound=missing_in_window > 0,
            latency_ms={
                "p50": ms(50),
                "p95": ms(95),
                "p99": ms(99),
                "max": ms(100),
                "mean": round(sum(lat) / len(lat) / 1e6, 3) if lat else None,
            },
            latency_ms_user={
                "p50": ms_of(lat_user, 50),
                "p95": ms_of(lat_user, 95),
                "p99": ms_of(lat_user, 99),
            },
            publish_lag_ms_p50=ms_of(lags, 50),
            drained=drained,
            drain_s=round(drain_s, 3),
            probe_lost=probe_lost,
            probe_duplicated=probe_dup,
            probe_other_frames=sum(p.other for p in self.probes),
            sink_expected=sink_expected,
            sink_received=sink_received,
            sink_other_frames=sum(s.other_frames for s in self.sinks),
            lost=probe_lost + sink_short,
            duplicated=probe_dup + sink_excess,
            disconnected=self.connected - self.alive_sinks() - sum(p.alive for p in self.probes),
            client_cpu_pct=round(client_cpu, 1),
            client_bound=client_cpu > CLIENT_BOUND_PCT,
            client_rss_kib=proc_rss_kib("self"),
            server_cpu_pct=round(server_cpu, 1) if server_cpu is not None else None,
            server_rss_kib=rss_end,
            server_rss_kib_before=rss_before,
            **background_load(busy, server_cpu, client_cpu),
            server_runqueue_wait_pct=round(server_rq, 1),
            client_runqueue_wait_pct=round(client_rq, 1),
            contended=max(server_rq, client_rq) > CONTENDED_LIMIT_PCT,
        )
        await self.target.close_publishers()
        return result

    async def run_idle(self) -> dict:
        a = self.args
        steps = [int(s) for s in a.steps.split(",") if s]
        points = []
        base = proc_rss_kib(self.server_pid)
        for n in steps:
            connect_s = await self.connect_subscribers(n, 0)
            # Let the server finish handshakes and go quiet before reading RSS.
            meter = CpuMeter(self.server_pid, time.monotonic)
            interval = max(0.1, min(0.5, a.settle))
            deadline = time.monotonic() + a.settle * 5
            await asyncio.sleep(a.settle)
            while time.monotonic() < deadline:
                meter.start()
                await asyncio.sleep(interval)
                if meter.percent() < 5.0:
                    break
            points.append(
                {
                    "requested": n,
                    "connections": self.connected,
                    "alive": self.alive_sinks(),
                    "connect_errors": self.connect_errors,
                    "connect_s": round(connect_s, 3),
                    "server_rss_kib": proc_rss_kib(self.server_pid),
                    "client_rss_kib": proc_rss_kib("self"),
                }
            )
        return {
            "mode": "idle",
            "server_rss_kib_base": base,
            "points": points,
            "connect_first_error": self.first_error,
            "sink_impl": self.sink_impl,
            "sources": len(self._sources(max(steps) if steps else 0)),
        }


async def amain(args) -> dict:
    target = registry.from_spec(json.loads(args.target_spec))
    gen = LoadGen(target, args)
    try:
        if args.mode == "idle":
            return await gen.run_idle()
        return await gen.run_traffic()
    finally:
        for s in gen.sinks:
            s.abort()
        for p in gen.probes:
            if p.ws is not None:
                p.ws.abort()
        await target.close_publishers()


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="bench load generator")
    p.add_argument("--target-spec", required=True, help="JSON from Target.spec()")
    p.add_argument("--server-pid", type=int, default=None)
    p.add_argument("--mode", choices=("rate", "saturate", "idle"), default="rate")
    p.add_argument("--subscribers", type=int, default=1000, help="total, probes included")
    p.add_argument("--probes", type=int, default=20)
    p.add_argument("--publishers", type=int, default=1)
    p.add_argument("--rate", type=float, default=20.0, help="messages/s per publisher")
    p.add_argument("--duration", type=float, default=20.0, help="publishing time, s")
    p.add_argument("--warmup", type=float, default=3.0, help="excluded from figures, s")
    p.add_argument("--window", type=int, default=0,
                   help="saturate: messages in flight (0: enough for --window-deliveries)")
    p.add_argument("--window-deliveries", type=int, default=10000,
                   help="saturate, --window 0: deliveries to keep in flight")
    p.add_argument("--steps", default="1000,5000,10000", help="idle: connection counts")
    p.add_argument("--settle", type=float, default=1.0, help="pause after connecting, s")
    p.add_argument("--drain-timeout", type=float, default=15.0)
    p.add_argument("--connect-concurrency", type=int, default=200)
    p.add_argument("--connect-timeout", type=float, default=20.0)
    p.add_argument("--max-inflight-publishes", type=int, default=256)
    p.add_argument("--sources", default="auto", help="number of 127.0.0.x source addresses")
    p.add_argument("--sink-impl", choices=("lite", "websockets"), default="lite")
    p.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    p.add_argument("--out", help="write the JSON result here (default: stdout)")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    limits = raise_nofile_limit()
    factory = loop_factory(args.loop)
    with asyncio.Runner(loop_factory=factory) as runner:
        result = runner.run(amain(args))
    result["client_nofile_limit"] = list(limits)
    result["client_loop"] = "uvloop" if factory else "asyncio"
    result["client_cpu_affinity"] = sorted(os.sched_getaffinity(0))
    text = json.dumps(result, indent=1)
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
