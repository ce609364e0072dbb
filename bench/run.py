"""Benchmark orchestrator.

    python -m bench.run              # full run (about an hour on 2 cores)
    python bench/run.py --quick      # a few hundred clients, under 2 minutes

Every measurement starts a fresh server (``Target.start()``, pinned to CPU 0)
and one load-generator process (``bench/load.py``, pinned to CPU 1).  For each
scenario the targets run in ABAB order (round 1: A, C; round 2: A, C; ...);
figures are medians over rounds and ratios are medians of per-round ratios.

Writes ``bench/results/<UTC date-time>.json`` and rewrites
``bench/RESULTS.md``.  See README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import targets as targets_mod  # noqa: E402
from bench.common import (  # noqa: E402
    MachineMeter,
    linear_fit,
    machine_info,
    median,
    raise_nofile_limit,
)
from bench.registry import TARGETS  # noqa: E402
from bench.targets import Target  # noqa: E402
from bench.votes import ceiling_per_s, private_postgres, run_votes, summarize_votes  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
RESULTS_MD = BENCH_DIR / "RESULTS.md"
LOAD_SCRIPT = BENCH_DIR / "load.py"
LOAD_CPU = "1"

# The application's target name; headline figures are taken from it.
PRIMARY = "innovate"
REFERENCE_RAW = "raw"
REFERENCE_PEER = "socketio"
REFERENCE_NODE = "node_ws"
HEADLINE_KEYS = (
    "ratio_fanout_vs_raw",
    "ratio_fanout_vs_socketio",
    "p99_ms_1000x20",
    "p99_ms_5000x10",
    "knee_clients",
    "kib_per_idle_conn",
    "ratio_votes_vs_insert",
    # Round two (issue 22): each a ratio within one run.
    "ratio_fanout_one_poster_vs_raw",
    "ratio_fanout_vs_node_ws",
    "ratio_p99_1000x20_vs_raw",
    "ratio_p50_1000x20_vs_raw",
    "ratio_votes_vs_reference",
    "ratio_me_vs_reference",
)


# --------------------------------------------------------------------------- #
# Configuration


@dataclass
class Config:
    quick: bool = False
    rounds: int = 3
    probes: int = 20
    # (1) saturation
    sat_subscribers: int = 2000
    sat_duration: float = 12.0
    sat_warmup: float = 3.0
    sat_window: int = 0  # messages in flight; 0: max(4, sat_window_deliveries / subscribers)
    sat_window_deliveries: int = 10000
    # (2) latency: name -> (subscribers, msgs/s)
    latency: dict = field(
        default_factory=lambda: {"1000x20": (1000, 20.0), "5000x10": (5000, 10.0)}
    )
    lat_duration: float = 20.0
    lat_warmup: float = 3.0
    # (3) knee
    knee_publishers: int = 4
    knee_rate: float = 5.0  # per publisher
    knee_p95_ms: float = 500.0
    knee_steps: tuple = (
        100, 200, 300, 400, 500, 750, 1000, 1500, 2000, 2500, 3000, 3500,
        4000, 5000, 6000, 8000, 10000, 12000, 15000, 18000,
    )
    knee_duration: float = 8.0
    knee_warmup: float = 2.0
    knee_rounds: int | None = None  # None: same as rounds
    # (4) idle memory
    idle_steps: tuple = (1000, 5000, 10000)
    idle_rounds: int | None = None  # None: same as rounds
    idle_settle: float = 2.0
    # common
    settle: float = 1.0
    drain_timeout: float = 15.0
    pause_between_runs: float = 0.5
    sink_impl: str = "lite"
    # Before each run wait up to this long for CPUs 0 and 1 to be quiet.
    wait_quiet: float = 0.0
    quiet_pct: float = 15.0
    sink_compare_subscribers: int = 1000
    sink_compare_rate: float = 30.0
    # (5) votes (application only, PostgreSQL): every member votes on every idea
    votes_members: int = 50
    votes_ideas: int = 100
    votes_subscribers: int = 200
    votes_concurrency: int = 50
    votes_rounds: int | None = None  # None: same as rounds
    # (6) workers (application only, on request): one worker against two over this broker
    workers_broker: str = "redis://127.0.0.1:6379/0"
    workers_rounds: int | None = None  # None: same as rounds

    @classmethod
    def quick_config(cls) -> Config:
        return cls(
            quick=True,
            # Two rounds keep the smoke test under two minutes; the full run takes three.
            rounds=2,
            sat_subscribers=300,
            sat_window_deliveries=3000,
            sat_duration=1.5,
            sat_warmup=0.3,
            latency={"1000x20": (200, 20.0), "5000x10": (500, 10.0)},
            lat_duration=1.2,
            lat_warmup=0.3,
            knee_steps=(100, 400),
            knee_duration=1.2,
            knee_warmup=0.3,
            knee_rounds=1,
            idle_steps=(100, 300, 600),
            idle_rounds=1,  # memory per socket hardly varies between rounds
            idle_settle=0.1,
            settle=0.1,
            drain_timeout=4.0,
            pause_between_runs=0.1,
            sink_compare_subscribers=300,
            votes_members=10,
            votes_ideas=20,
            votes_subscribers=50,
            votes_rounds=1,
        )


# --------------------------------------------------------------------------- #
# Running one measurement


class LoadError(RuntimeError):
    pass


def run_load(target: Target, load_args: list[str], timeout: float,
             script: Path = LOAD_SCRIPT) -> dict:
    """Run the load script (bench/load.py) pinned to LOAD_CPU against a started target."""
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        out = Path(tmp) / "out.json"
        log = Path(tmp) / "load.log"
        argv = [
            "taskset", "-c", LOAD_CPU, sys.executable, str(script),
            "--target-spec", json.dumps(target.spec()),
            "--server-pid", str(target.pid),
            "--out", str(out),
            *load_args,
        ]
        with open(log, "wb") as logf:
            proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT)
            try:
                rc = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
                raise LoadError(f"load generator timed out after {timeout:.0f}s") from None
            except BaseException:
                proc.kill()
                proc.wait(5)
                raise
        if rc != 0 or not out.exists():
            raise LoadError(f"load generator failed (rc={rc}): {log.read_text()[-3000:]}")
        return json.loads(out.read_text())


def wait_for_quiet(cfg: Config) -> dict:
    """Wait (up to cfg.wait_quiet s) until other processes leave CPUs 0/1 alone."""
    t0 = time.monotonic()
    while True:
        meter = MachineMeter()
        time.sleep(0.5)
        busy = meter.percent()
        worst = max(busy.get("cpu0", 0.0), busy.get("cpu1", 0.0))
        waited = time.monotonic() - t0
        if worst <= cfg.quiet_pct or waited >= cfg.wait_quiet:
            return {"busy_before_pct": busy, "waited_s": round(waited, 1),
                    "quiet_before": worst <= cfg.quiet_pct}


def with_server(target_name: str, options: dict, fn: Callable[[Target], dict],
                cfg: Config | None = None) -> dict:
    quiet = wait_for_quiet(cfg) if cfg is not None and cfg.wait_quiet > 0 else None
    target = TARGETS[target_name](**options)
    target.start()
    try:
        result = fn(target)
        if quiet is not None:
            result["quiet_check"] = quiet
        if not target.alive():
            result["server_died"] = True
            result["server_log"] = target.server_log()
        return result
    finally:
        target.stop()


def traffic(target: Target, cfg: Config, *, mode: str, subscribers: int, duration: float,
            warmup: float, publishers: int = 1, rate: float = 0.0, sink_impl: str | None = None,
            ) -> dict:
    args = [
        "--mode", mode,
        "--subscribers", str(subscribers),
        "--probes", str(min(cfg.probes, subscribers)),
        "--publishers", str(publishers),
        "--rate", str(rate or 1.0),
        "--duration", str(duration),
        "--warmup", str(warmup),
        "--window", str(cfg.sat_window),
        "--window-deliveries", str(cfg.sat_window_deliveries),
        "--settle", str(cfg.settle),
        "--drain-timeout", str(cfg.drain_timeout),
        "--sink-impl", sink_impl or cfg.sink_impl,
    ]
    # Connecting is bounded by the server's handshake rate (B: a database read per handshake).
    timeout = 60 + duration + cfg.drain_timeout + subscribers / 20
    return run_load(target, args, timeout)


# --------------------------------------------------------------------------- #
# Scenarios: run(target, cfg) -> dict for one round; summarize(rounds) -> figures


def run_saturation(target: Target, cfg: Config) -> dict:
    return traffic(target, cfg, mode="saturate", subscribers=cfg.sat_subscribers,
                   duration=cfg.sat_duration, warmup=cfg.sat_warmup)


def run_one_poster(target: Target, cfg: Config) -> dict:
    """Saturation with its one publisher as one member posting on one keep-alive connection,
    requests pipelined (the application's target; the others publish over one socket anyway)."""
    target.options["publish_mode"] = "pipelined"
    try:
        return traffic(target, cfg, mode="saturate", subscribers=cfg.sat_subscribers,
                       duration=cfg.sat_duration, warmup=cfg.sat_warmup)
    finally:
        target.options.pop("publish_mode", None)


def summarize_one_poster(runs: list[dict]) -> dict:
    return summarize_traffic("one_poster_", runs)


def summarize_traffic(prefix: str, runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]

    def med(key, sub=None):
        vals = [(r.get(key) or {}).get(sub) if sub else r.get(key) for r in ok]
        return median([v for v in vals if v is not None])

    return {
        f"{prefix}deliveries_per_s": med("deliveries_per_s"),
        f"{prefix}p50_ms": med("latency_ms", "p50"),
        f"{prefix}p95_ms": med("latency_ms", "p95"),
        f"{prefix}p99_ms": med("latency_ms", "p99"),
        f"{prefix}server_cpu_pct": med("server_cpu_pct"),
        f"{prefix}client_cpu_pct": med("client_cpu_pct"),
        f"{prefix}server_rss_kib": med("server_rss_kib"),
        f"{prefix}client_bound": any(r.get("client_bound") for r in ok) if ok else None,
        f"{prefix}latency_lower_bound": any(r.get("latency_lower_bound") for r in ok) if ok else None,
        f"{prefix}lost": sum(r.get("lost") or 0 for r in ok if r.get("drained")),
        f"{prefix}duplicated": sum(r.get("duplicated") or 0 for r in ok),
        f"{prefix}undrained_runs": sum(1 for r in ok if not r.get("drained")),
        f"{prefix}machine_busy_runs": sum(1 for r in ok if r.get("machine_busy")),
        f"{prefix}contended_runs": sum(1 for r in ok if r.get("contended")),
        f"{prefix}server_runqueue_wait_pct": med("server_runqueue_wait_pct"),
        f"{prefix}background_cpu_pct": med_background(ok),
        f"{prefix}failed_runs": len(runs) - len(ok),
    }


def med_background(runs: list[dict]) -> dict | None:
    if not runs:
        return None
    return {
        cpu: median([(r.get("background_cpu_pct") or {}).get(cpu) for r in runs])
        for cpu in ("cpu0", "cpu1")
    }


def summarize_saturation(runs: list[dict]) -> dict:
    return summarize_traffic("saturation_", runs)


def make_latency(name: str) -> tuple[Callable, Callable]:
    def run(target: Target, cfg: Config) -> dict:
        subs, rate = cfg.latency[name]
        return traffic(target, cfg, mode="rate", subscribers=subs, publishers=1, rate=rate,
                       duration=cfg.lat_duration, warmup=cfg.lat_warmup)

    def summarize(runs: list[dict]) -> dict:
        figures = summarize_traffic(f"latency_{name}_", runs)
        figures[f"p99_ms_{name}"] = figures[f"latency_{name}_p99_ms"]
        return figures

    return run, summarize


def run_knee(target: Target, cfg: Config) -> dict:
    """Fresh server per step; stop at the first step whose p95 exceeds the limit."""
    steps = []
    knee = None
    first_over = None
    for n in cfg.knee_steps:
        def step(t: Target, n=n) -> dict:
            return traffic(t, cfg, mode="rate", subscribers=n, publishers=cfg.knee_publishers,
                           rate=cfg.knee_rate, duration=cfg.knee_duration,
                           warmup=cfg.knee_warmup)
        try:
            r = with_server(target.name, target.options, step, cfg)
        except (LoadError, targets_mod.TargetError) as exc:
            steps.append({"subscribers": n, "error": str(exc)[-2000:]})
            first_over = n
            break
        p95 = (r.get("latency_ms") or {}).get("p95")
        summary = {
            "subscribers": n,
            "connected": r.get("connected"),
            "p50_ms": (r.get("latency_ms") or {}).get("p50"),
            "p95_ms": p95,
            "p99_ms": (r.get("latency_ms") or {}).get("p99"),
            "deliveries_per_s": r.get("deliveries_per_s"),
            "server_cpu_pct": r.get("server_cpu_pct"),
            "client_cpu_pct": r.get("client_cpu_pct"),
            "client_bound": r.get("client_bound"),
            "lost": r.get("lost"),
            "drained": r.get("drained"),
            "connect_errors": r.get("connect_errors"),
            "machine_busy": r.get("machine_busy"),
            "background_cpu_pct": r.get("background_cpu_pct"),
            "contended": r.get("contended"),
            "server_runqueue_wait_pct": r.get("server_runqueue_wait_pct"),
            "client_runqueue_wait_pct": r.get("client_runqueue_wait_pct"),
        }
        steps.append(summary)
        failed = (
            p95 is None
            or p95 > cfg.knee_p95_ms
            or (r.get("connected") or 0) < n
        )
        if failed:
            first_over = n
            break
        knee = n
        time.sleep(cfg.pause_between_runs)
    last = steps[-1] if steps else {}
    return {
        "knee_clients": knee,
        "first_over_clients": first_over,
        "reached_max_step": first_over is None,
        "client_bound_before_knee": any(s.get("client_bound") for s in steps if s.get("subscribers") != first_over),
        "publishers": cfg.knee_publishers,
        "rate_per_publisher": cfg.knee_rate,
        "p95_limit_ms": cfg.knee_p95_ms,
        "steps": steps,
        "lost": sum(s.get("lost") or 0 for s in steps if s.get("drained")),
        "drained": all(s.get("drained", True) for s in steps),
        "last_step": last.get("subscribers"),
    }


def summarize_knee(runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    return {
        "knee_clients": median([r["knee_clients"] for r in ok if r.get("knee_clients")]),
        "knee_first_over_clients": median(
            [r["first_over_clients"] for r in ok if r.get("first_over_clients")]
        ),
        "knee_reached_max_step": any(r.get("reached_max_step") for r in ok) if ok else None,
        "knee_client_bound": any(r.get("client_bound_before_knee") for r in ok) if ok else None,
        "knee_failed_runs": len(runs) - len(ok),
    }


def run_idle(target: Target, cfg: Config) -> dict:
    args = [
        "--mode", "idle",
        "--steps", ",".join(str(s) for s in cfg.idle_steps),
        "--settle", str(cfg.idle_settle),
    ]
    # Generous: on a contended machine Socket.IO handshakes can run at ~100/s.
    r = run_load(target, args, timeout=120 + max(cfg.idle_steps) / 20)
    pts = [p for p in r["points"] if p["alive"]]
    fit = linear_fit([p["alive"] for p in pts], [p["server_rss_kib"] for p in pts])
    r["kib_per_idle_conn"] = round(fit[0], 2) if fit else None
    r["fit_intercept_kib"] = round(fit[1], 1) if fit else None
    return r


def summarize_idle(runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    figures = {"kib_per_idle_conn": median([r.get("kib_per_idle_conn") for r in ok])}
    if ok:
        for i, p in enumerate(ok[0]["points"]):
            n = p["requested"]
            figures[f"idle_rss_kib_{n}"] = median(
                [r["points"][i]["server_rss_kib"] for r in ok if len(r["points"]) > i]
            )
        figures["idle_rss_kib_0"] = median([r.get("server_rss_kib_base") for r in ok])
        figures["idle_connect_errors"] = sum(r["points"][-1]["connect_errors"] for r in ok)
    figures["idle_failed_runs"] = len(runs) - len(ok)
    return figures


def run_sink_compare(target: Target, cfg: Config) -> dict:
    """Client CPU per delivery for the two sink implementations (same load)."""
    out = {}
    for impl in ("lite", "websockets"):
        if impl != "lite":
            target.stop()
            target.start()
        r = traffic(target, cfg, mode="rate", subscribers=cfg.sink_compare_subscribers,
                    publishers=1, rate=cfg.sink_compare_rate, duration=6.0, warmup=2.0,
                    sink_impl=impl)
        per = None
        if r.get("deliveries_per_s"):
            per = round(r["client_cpu_pct"] / 100 / r["deliveries_per_s"] * 1e6, 2)
        out[impl] = {
            "deliveries_per_s": r.get("deliveries_per_s"),
            "client_cpu_pct": r.get("client_cpu_pct"),
            "client_cpu_us_per_delivery": per,
            "client_bound": r.get("client_bound"),
            "p99_ms": (r.get("latency_ms") or {}).get("p99"),
        }
    return out


def summarize_sink_compare(runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    return {
        f"sink_{impl}_us_per_delivery": median(
            [r[impl]["client_cpu_us_per_delivery"] for r in ok if impl in r]
        )
        for impl in ("lite", "websockets")
    }


def run_workers(target: Target, cfg: Config) -> dict:
    """``innovate serve`` with one worker and with two, both over the redis broker and allowed
    both CPUs (the load generator shares CPU 1 with them), at the saturation size; the server's
    CPU counts every worker."""
    out: dict[str, Any] = {"broker": cfg.workers_broker, "database": "postgresql"}
    for workers in (1, 2):

        def saturate(t: Target) -> dict:
            return traffic(t, cfg, mode="saturate", subscribers=cfg.sat_subscribers,
                           duration=cfg.sat_duration, warmup=cfg.sat_warmup)

        # Several processes share a PostgreSQL database (as a deployment with workers does): a
        # private one per run, like the votes scenario's.
        with private_postgres() as database_url:
            options = {**target.options, "workers": workers, "broker": cfg.workers_broker, "cpu": "0,1",
                       "database_url": database_url}
            try:
                r = with_server(target.name, options, saturate, cfg)
            except (LoadError, targets_mod.TargetError) as exc:
                out[f"workers_{workers}"] = {"error": str(exc)[-2000:]}
                continue
        out[f"workers_{workers}"] = {k: r.get(k) for k in (
            "deliveries_per_s", "server_cpu_pct", "client_cpu_pct", "lost", "duplicated", "drained", "contended",
            "server_runqueue_wait_pct", "client_runqueue_wait_pct", "latency_ms")}
    one, two = (out.get(f"workers_{w}", {}).get("deliveries_per_s") for w in (1, 2))
    out["ratio_workers_2_vs_1"] = round(two / one, 4) if one and two else None
    return out


def summarize_workers(runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    figures: dict[str, Any] = {"ratio_workers_2_vs_1": median([r.get("ratio_workers_2_vs_1") for r in ok])}
    for w in (1, 2):
        for key in ("deliveries_per_s", "server_cpu_pct", "client_cpu_pct"):
            figures[f"workers_{w}_{key}"] = median([(r.get(f"workers_{w}") or {}).get(key) for r in ok])
    return figures


@dataclass
class Scenario:
    name: str
    run: Callable[[Target, Config], dict]
    summarize: Callable[[list[dict]], dict]
    # Restrict to some targets (None: every target).
    targets: set[str] | None = None
    default: bool = True
    rounds_attr: str | None = None
    # True: run() gets an unstarted target and starts/stops servers itself.
    manages_server: bool = False
    # False: left out of a --quick run's default scenarios (its windows are too short for it).
    in_quick: bool = True


SCENARIOS: dict[str, Scenario] = {}


def register_scenario(s: Scenario) -> Scenario:
    SCENARIOS[s.name] = s
    return s


register_scenario(Scenario("saturation", run_saturation, summarize_saturation))
register_scenario(Scenario("one_poster", run_one_poster, summarize_one_poster,
                           targets={PRIMARY, REFERENCE_RAW, REFERENCE_NODE}))
for _name in ("1000x20", "5000x10"):
    _run, _sum = make_latency(_name)
    register_scenario(Scenario(f"latency_{_name}", _run, _sum))
register_scenario(
    Scenario("knee", run_knee, summarize_knee, rounds_attr="knee_rounds", manages_server=True)
)
register_scenario(Scenario("idle_memory", run_idle, summarize_idle, rounds_attr="idle_rounds"))
register_scenario(
    Scenario("votes", lambda target, cfg: run_votes(target, cfg, run_load), summarize_votes,
             targets={PRIMARY}, rounds_attr="votes_rounds", manages_server=True)
)
register_scenario(
    Scenario("workers", run_workers, summarize_workers, targets={PRIMARY}, in_quick=False,
             rounds_attr="workers_rounds", manages_server=True)
)
register_scenario(
    Scenario("sink_compare", run_sink_compare, summarize_sink_compare,
             targets={REFERENCE_RAW}, default=False)
)


# --------------------------------------------------------------------------- #
# Orchestration


def log(msg: str) -> None:
    print(f"[{dt.datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)


def brief(scenario: str, r: dict) -> str:
    if "error" in r:
        return "ERROR " + r["error"].splitlines()[0][:200]
    if scenario == "knee":
        return (f"knee={r['knee_clients']} first_over={r['first_over_clients']} "
                f"steps={[(s['subscribers'], s.get('p95_ms')) for s in r['steps']]}")
    if scenario == "idle_memory":
        return (f"KiB/conn={r['kib_per_idle_conn']} "
                f"rss={[(p['alive'], p['server_rss_kib']) for p in r['points']]}")
    if scenario in ("sink_compare", "workers"):
        return json.dumps(r)
    if scenario == "votes":
        v, b = r["votes"], r["bare_insert"]
        one = r.get("bare_insert_one_loop") or {}
        return (f"votes/s={v['per_s']} (ok {v['ok']}/{v['rows']}, statuses {v['statuses']}) "
                f"bare inserts/s={b['per_s']} ratio={r['ratio_votes_vs_insert']} "
                f"(one loop {one.get('per_s')}/s, ratio {r.get('ratio_votes_vs_one_insert_loop')}) "
                f"ceilings: healthz {ceiling_per_s(r, 'healthz')}/s, me {ceiling_per_s(r, 'me')}/s "
                f"(ratio {r.get('ratio_token_request_vs_insert')}) "
                f"tally frames/socket={r['tally_frames_per_socket']} "
                f"server_cpu={v['server_cpu_pct']}% client_cpu={v['client_cpu_pct']}%"
                f"{' CLIENT-BOUND' if r.get('client_bound') else ''}"
                f"{' CONTENDED' if r.get('contended') else ''}")
    lat = r.get("latency_ms") or {}
    return (f"deliveries/s={r.get('deliveries_per_s')} p50={lat.get('p50')} "
            f"p95={lat.get('p95')} p99={lat.get('p99')} lost={r.get('lost')} "
            f"dup={r.get('duplicated')} drained={r.get('drained')} "
            f"server_cpu={r.get('server_cpu_pct')}% client_cpu={r.get('client_cpu_pct')}%"
            f"{' CLIENT-BOUND' if r.get('client_bound') else ''}"
            f"{' CONTENDED (run-queue wait server ' + str(r.get('server_runqueue_wait_pct')) + '%, client ' + str(r.get('client_runqueue_wait_pct')) + '%)' if r.get('contended') else ''}"
            f"{' other-load ' + str(r.get('background_cpu_pct')) if r.get('machine_busy') else ''}"
            f"{' PUBLISH-ERRORS ' + str(r.get('publish_errors')) + ' ' + str(r.get('publish_failures') or '') if r.get('publish_errors') else ''}")


def run_all(cfg: Config, target_names: list[str], scenario_names: list[str],
            target_options: dict[str, dict]) -> dict:
    raw_results: dict[str, dict[str, list[dict]]] = {}
    t_start = time.monotonic()
    for sname in scenario_names:
        sc = SCENARIOS[sname]
        names = [t for t in target_names if sc.targets is None or t in sc.targets]
        rounds = getattr(cfg, sc.rounds_attr) if sc.rounds_attr else None
        rounds = rounds or cfg.rounds
        per_target = raw_results.setdefault(sname, {t: [] for t in names})
        for rnd in range(rounds):
            for tname in names:  # ABAB: same target order in every round
                t0 = time.monotonic()
                try:
                    if sc.manages_server:
                        r = sc.run(TARGETS[tname](**target_options.get(tname, {})), cfg)
                    else:
                        def run_on(t: Target, run: Callable[[Target, Config], dict] = sc.run) -> dict:
                            return run(t, cfg)

                        r = with_server(tname, target_options.get(tname, {}), run_on, cfg)
                except (LoadError, targets_mod.TargetError) as exc:
                    r = {"error": str(exc)[-4000:]}
                r["round"] = rnd + 1
                r["elapsed_s"] = round(time.monotonic() - t0, 1)
                per_target[tname].append(r)
                log(f"{sname} round {rnd + 1}/{rounds} {tname}: {brief(sname, r)}")
                time.sleep(cfg.pause_between_runs)
    log(f"all scenarios done in {time.monotonic() - t_start:.0f}s")
    return raw_results


def per_round_ratio(runs_a: list[dict], runs_b: list[dict], key: str, sub: str | None = None) -> float | None:
    """Median of the per-round ratios of ``run[key]`` (or ``run[key][sub]``) of two targets."""
    ratios = []
    for a, b in zip(runs_a, runs_b, strict=False):  # a target's failed round may be missing
        va, vb = a.get(key), b.get(key)
        if sub is not None:
            va, vb = (va or {}).get(sub), (vb or {}).get(sub)
        if va and vb:
            ratios.append(va / vb)
    m = median(ratios)
    return round(m, 4) if m is not None else None


def build_summary(cfg: Config, raw_results: dict, target_names: list[str],
                  started: dt.datetime, elapsed: float, machine: dict) -> dict:
    figures: dict[str, dict[str, Any]] = {t: {} for t in target_names}
    for sname, per_target in raw_results.items():
        sc = SCENARIOS[sname]
        for tname, runs in per_target.items():
            figures[tname].update(sc.summarize(runs))

    ratios: dict[str, float | None] = {}
    for scenario in ("saturation", "one_poster"):
        runs = raw_results.get(scenario, {})
        for a in target_names:
            for b in target_names:
                if a != b and a in runs and b in runs:
                    ratios[f"{scenario}_{a}_vs_{b}"] = per_round_ratio(runs[a], runs[b], "deliveries_per_s")

    notes: list[str] = []
    primary_ran = PRIMARY in target_names
    pf = figures.get(PRIMARY, {})
    headline = {
        "ratio_fanout_vs_raw": ratios.get(f"saturation_{PRIMARY}_vs_{REFERENCE_RAW}"),
        "ratio_fanout_vs_socketio": ratios.get(f"saturation_{PRIMARY}_vs_{REFERENCE_PEER}"),
        "p99_ms_1000x20": pf.get("p99_ms_1000x20"),
        "p99_ms_5000x10": pf.get("p99_ms_5000x10"),
        "knee_clients": pf.get("knee_clients"),
        "kib_per_idle_conn": pf.get("kib_per_idle_conn"),
        "ratio_votes_vs_insert": pf.get("ratio_votes_vs_insert"),
        # One member posting on one keep-alive connection, its POSTs pipelined, at saturation.
        "ratio_fanout_one_poster_vs_raw": ratios.get(f"one_poster_{PRIMARY}_vs_{REFERENCE_RAW}"),
        "ratio_fanout_vs_node_ws": ratios.get(f"saturation_{PRIMARY}_vs_{REFERENCE_NODE}"),
        "ratio_votes_vs_reference": pf.get("ratio_votes_vs_reference"),
        "ratio_me_vs_reference": pf.get("ratio_me_vs_reference"),
    }
    lat = raw_results.get("latency_1000x20", {})
    for pct in ("p99", "p50"):
        headline[f"ratio_{pct}_1000x20_vs_raw"] = (
            per_round_ratio(lat[PRIMARY], lat[REFERENCE_RAW], "latency_ms", pct)
            if PRIMARY in lat and REFERENCE_RAW in lat else None)
    missing = [k for k in HEADLINE_KEYS if headline.get(k) is None]
    if missing and primary_ran:
        notes.append("Headline keys left null because the scenario or reference they need did not run: "
                     + ", ".join(missing) + ".")
    if not primary_ran:
        notes.append(
            f"The application target ({PRIMARY!r}) was not run (not registered in "
            "bench/targets.py yet), so the headline figures that describe it are null: "
            + ", ".join(HEADLINE_KEYS) + ". Per-target figures for the reference servers "
            "are under 'targets'."
        )
    elif "ratio_votes_vs_insert" not in pf:
        notes.append("No votes scenario ran, so ratio_votes_vs_insert is null.")
    if cfg.quick:
        notes.append(
            "Quick run: scaled-down sizes (latency scenarios keep their names but use "
            f"{cfg.latency}), short durations; smoke test, not a measurement."
        )

    lost = 0
    dup = 0
    undrained = []
    for sname, per_target in raw_results.items():
        for tname, runs in per_target.items():
            for r in runs:
                if "error" in r:
                    notes.append(f"{sname}/{tname} round {r.get('round')} failed: "
                                 + r["error"].splitlines()[0][:300])
                    continue
                if sname == "knee":
                    for s in r.get("steps", []):
                        if s.get("drained") is False:
                            undrained.append(f"knee/{tname}@{s['subscribers']}")
                        elif s.get("lost"):
                            lost += s["lost"]
                    continue
                if "drained" in r:
                    if r["drained"]:
                        lost += r.get("lost") or 0
                    else:
                        undrained.append(f"{sname}/{tname} round {r.get('round')}")
                    dup += r.get("duplicated") or 0
    contended = []
    busy = 0
    for sname, per_target in raw_results.items():
        for tname, runs in per_target.items():
            for r in runs:
                steps = r.get("steps") if sname == "knee" else [r]
                for s in steps or []:
                    busy += bool(s.get("machine_busy"))
                    if s.get("contended"):
                        where = f"@{s['subscribers']}" if sname == "knee" else ""
                        contended.append(
                            f"{sname}/{tname}{where} round {r.get('round')} (server "
                            f"{s.get('server_runqueue_wait_pct')}%, client "
                            f"{s.get('client_runqueue_wait_pct')}%)")
    if contended:
        notes.append(
            "Other processes competed for the benchmark CPUs: in these runs the server or the "
            "load generator waited for a CPU (runnable, not running) for more than 5% of the "
            "measurement window, so their figures understate what the code can do (ABAB "
            "order spreads the disturbance over targets, but ratios are affected too): "
            + "; ".join(contended)
        )
    if busy:
        notes.append(f"{busy} run(s) had other processes using more than 10% of CPU 0 or "
                     "CPU 1 (background_cpu_pct in the runs).")
    if undrained:
        notes.append(
            "Not every message was delivered within the drain timeout (server overloaded: "
            "messages were still queued, so loss cannot be told from lateness; these runs "
            "are left out of 'lost' and their latency percentiles are lower bounds): "
            + ", ".join(undrained)
        )
    client_bound = sorted(
        f"{t}:{k[:-len('_client_bound')]}" for t, f in figures.items()
        for k, v in f.items() if k.endswith("client_bound") and v
    )
    if client_bound:
        notes.append(
            "The load generator used more than 90% of its core in: " + ", ".join(client_bound)
            + " (figures marked client_bound are limited by the client, not the server)."
        )

    return {
        **headline,
        "lost": lost,
        "duplicated": dup,
        "quick": cfg.quick,
        "primary_target": PRIMARY,
        "primary_target_ran": primary_ran,
        "targets_run": target_names,
        "ratios": ratios,
        "targets": figures,
        "notes": notes,
        "started_utc": started.isoformat(timespec="seconds"),
        "elapsed_s": round(elapsed, 1),
        "rounds": cfg.rounds,
        "order": "ABAB (every round runs the targets in the same order, fresh server each run)",
        "config": dataclasses.asdict(cfg),
        "machine": machine,
        "pinning": {"server_cpu": "0", "load_generator_cpu": LOAD_CPU},
        "runs": raw_results,
    }


# --------------------------------------------------------------------------- #
# RESULTS.md


def fmt(v: Any, digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dict):
        return " / ".join(f"{k} {fmt(x, 0)}" for k, x in v.items())
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.{digits}f}"
    return str(v)


def render_markdown(summary: dict, json_name: str) -> str:
    cfg = summary["config"]
    m = summary["machine"]
    tnames = summary["targets_run"]
    figs = summary["targets"]
    lat = cfg["latency"]
    label = {"raw": "A raw websockets", "socketio": "C python-socketio", REFERENCE_NODE: "D Node.js ws",
             PRIMARY: "B Innovate"}
    # (title, figure key, decimals, show ratios)
    rows: list[tuple[str, str, int, bool]] = [
        (f"Saturation: deliveries/s ({cfg['sat_subscribers']:,} subscribers)",
         "saturation_deliveries_per_s", 0, True),
        ("Saturation: server CPU %", "saturation_server_cpu_pct", 0, False),
        ("Saturation: client CPU %", "saturation_client_cpu_pct", 0, False),
        ("Saturation: client-bound", "saturation_client_bound", 0, False),
        ("Saturation: runs where server/client waited for a CPU > 5%",
         "saturation_contended_runs", 0, False),
        ("Saturation: server run-queue wait % (median)", "saturation_server_runqueue_wait_pct",
         1, False),
        (f"One poster (one member, POSTs pipelined on one keep-alive connection): deliveries/s "
         f"({cfg['sat_subscribers']:,} subscribers)", "one_poster_deliveries_per_s", 0, True),
        ("One poster: server CPU %", "one_poster_server_cpu_pct", 0, False),
        ("One poster: client CPU %", "one_poster_client_cpu_pct", 0, False),
        ("Saturation: other processes' CPU % (median)", "saturation_background_cpu_pct", 0,
         False),
    ]
    for name, (subs, rate) in lat.items():
        p = f"latency_{name}_"
        title = f"{subs:,} subs × {rate:g} msg/s"
        rows += [
            (f"{title}: p50 latency ms", p + "p50_ms", 1, True),
            (f"{title}: p95 latency ms", p + "p95_ms", 1, True),
            (f"{title}: p99 latency ms", p + "p99_ms", 1, True),
            (f"{title}: deliveries/s", p + "deliveries_per_s", 0, False),
            (f"{title}: server CPU %", p + "server_cpu_pct", 0, False),
            (f"{title}: client CPU %", p + "client_cpu_pct", 0, False),
            (f"{title}: latency is a lower bound (not drained)", p + "latency_lower_bound", 0,
             False),
            (f"{title}: client-bound", p + "client_bound", 0, False),
            (f"{title}: runs where server/client waited for a CPU > 5%", p + "contended_runs", 0,
             False),
            (f"{title}: other processes' CPU % (median)", p + "background_cpu_pct", 0, False),
        ]
    rows += [
        (f"Knee: clients with p95 ≤ {cfg['knee_p95_ms']:g} ms "
         f"({cfg['knee_publishers']} × {cfg['knee_rate']:g} msg/s)", "knee_clients", 0, True),
        ("Knee: first step over the limit", "knee_first_over_clients", 0, False),
        ("Knee: client-bound before the knee", "knee_client_bound", 0, False),
        ("Idle: server RSS KiB with 0 connections", "idle_rss_kib_0", 0, False),
    ]
    for n in cfg["idle_steps"]:
        rows.append((f"Idle: server RSS KiB at {n:,} connections", f"idle_rss_kib_{n}", 0, False))
    rows.append(("Idle: KiB per connection (linear fit)", "kib_per_idle_conn", 1, True))
    votes_title = (f"Votes ({cfg['votes_members']} members × {cfg['votes_ideas']} ideas, "
                   f"{cfg['votes_concurrency']} in flight, {cfg['votes_subscribers']} sockets, PostgreSQL)")
    rows += [
        (f"{votes_title}: votes/s through the endpoint", "votes_per_s", 0, False),
        ("Votes: bare INSERTs/s, same rows and concurrency", "bare_inserts_per_s", 0, False),
        ("Votes: endpoint / bare INSERT", "ratio_votes_vs_insert", 3, False),
        ("Votes: bare INSERTs/s, one loop on one connection (for scale)", "bare_inserts_one_loop_per_s", 0, False),
        ("Votes: endpoint / one INSERT loop (for scale)", "ratio_votes_vs_one_insert_loop", 3, False),
        ("Ceiling: GET /healthz per s, 20,000 requests at the same concurrency", "healthz_per_s", 0, False),
        ("Ceiling: GET /api/v1/me (token lookup only) per s", "me_per_s", 0, False),
        ("Ceiling: GET /api/v1/me / bare INSERT (bound on any authenticated endpoint)",
         "ratio_token_request_vs_insert", 3, False),
        ("Reference app (Starlette + SQLAlchemy + asyncpg, token lookup + upsert + tally): votes/s",
         "reference_votes_per_s", 0, False),
        ("Votes: endpoint / reference app", "ratio_votes_vs_reference", 3, False),
        ("Votes: server CPU ms per vote", "votes_server_cpu_ms_per_vote", 2, False),
        ("Reference app: server CPU ms per vote", "reference_server_cpu_ms_per_vote", 2, False),
        ("Reference app: GET /api/v1/me per s", "reference_me_per_s", 0, False),
        ("GET /api/v1/me: Innovate / reference app", "ratio_me_vs_reference", 3, False),
        ("GET /api/v1/me: server CPU ms per request", "me_server_cpu_ms_per_request", 2, False),
        ("Reference app: server CPU ms per GET /api/v1/me", "reference_server_cpu_ms_per_me", 2, False),
        ("Votes: server CPU %", "votes_server_cpu_pct", 0, False),
        (f"innovate serve, redis broker, both CPUs: deliveries/s with 1 worker ({cfg['sat_subscribers']:,} subscribers)",
         "workers_1_deliveries_per_s", 0, False),
        ("… its server CPU % (every process)", "workers_1_server_cpu_pct", 0, False),
        ("… deliveries/s with --workers 2", "workers_2_deliveries_per_s", 0, False),
        ("… its server CPU % (every process)", "workers_2_server_cpu_pct", 0, False),
        ("… 2 workers / 1 worker", "ratio_workers_2_vs_1", 3, False),
        ("Votes: client CPU %", "votes_client_cpu_pct", 0, False),
        ("Votes: rejected", "votes_rejected", 0, False),
        ("Votes: tally frames per socket", "votes_tally_frames_per_socket", 0, False),
        ("Votes: runs where server/client waited for a CPU > 5%", "votes_contended", 0, False),
    ]
    if any("sink_lite_us_per_delivery" in figs.get(t, {}) for t in tnames):
        rows += [
            ("Load generator CPU µs/delivery, LiteWS sink", "sink_lite_us_per_delivery", 1,
             False),
            ("Load generator CPU µs/delivery, websockets sink",
             "sink_websockets_us_per_delivery", 1, False),
        ]
    ratio_cols = [
        (a, b) for a in tnames for b in tnames
        if a != b and (a == PRIMARY or (a == REFERENCE_PEER and b == REFERENCE_RAW))
        and (b in (REFERENCE_RAW, REFERENCE_PEER, REFERENCE_NODE))
    ]
    head = "| Figure (median of rounds) | " + " | ".join(label.get(t, t) for t in tnames)
    head += "".join(f" | {a}/{b}" for a, b in ratio_cols) + " |"
    sep = "|---" * (1 + len(tnames) + len(ratio_cols)) + "|"
    lines = [head, sep]
    for title, key, digits, with_ratio in rows:
        vals = [figs.get(t, {}).get(key) for t in tnames]
        if all(v is None for v in vals):
            continue
        cells = [fmt(v, digits) for v in vals]
        if key == "knee_clients":
            cells = [
                ("≥ " if figs.get(t, {}).get("knee_reached_max_step") and v is not None else "")
                + fmt(v, digits)
                for t, v in zip(tnames, vals, strict=True)
            ]
        for a, b in ratio_cols:
            va, vb = figs.get(a, {}).get(key), figs.get(b, {}).get(key)
            r = None
            if not with_ratio:
                pass
            elif key in ("saturation_deliveries_per_s", "one_poster_deliveries_per_s"):
                r = summary["ratios"].get(f"{key.removesuffix('_deliveries_per_s')}_{a}_vs_{b}")
            elif isinstance(va, (int, float)) and isinstance(vb, (int, float)) and vb:
                r = va / vb
            cells.append(fmt(r, 3) if r is not None else "")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")

    pk = m["packages"]
    headline = "\n".join(
        f"| `{k}` | {fmt(summary.get(k), 3) if summary.get(k) is not None else 'null'} |"
        for k in (*HEADLINE_KEYS, "lost", "duplicated", "quick")
    )
    notes = "\n".join(f"- {n}" for n in summary["notes"]) or "- none"
    kind = "quick run (smoke test, scaled down)" if summary["quick"] else "full run"
    measured = contended = 0
    waits = []
    for sname, per_target in summary.get("runs", {}).items():
        for runs in per_target.values():
            for r in runs:
                for st in (r.get("steps") or []) if sname == "knee" else [r]:
                    if "contended" in st:
                        measured += 1
                        contended += bool(st["contended"])
                        if st.get("server_runqueue_wait_pct") is not None:
                            waits.append(st["server_runqueue_wait_pct"])
    warning = ""
    if contended:
        warning = (
            f"\n**Warning:** in {contended} of {measured} measurements other processes "
            "competed for the benchmark CPUs (median server run-queue wait "
            f"{median(waits) or 0:.0f}% of the window): absolute figures understate what the "
            "servers can do and ratios are distorted too.  See Notes.\n"
        )
    return f"""# Benchmark results

Generated by `bench/run.py` — {kind}, started {summary['started_utc']} UTC,
{summary['rounds']} rounds in ABAB order (fresh server per run), {summary['elapsed_s']:.0f} s.
Raw data: [`results/{json_name}`](results/{json_name}).  What the figures mean and how
they are measured: [README.md](README.md).
{warning}
## Machine

| | |
|---|---|
| CPU | {m['cpu_model']} |
| Cores | {m['cores']} (server pinned to CPU {summary['pinning']['server_cpu']}, load generator to CPU {summary['pinning']['load_generator_cpu']}) |
| Memory | {fmt((m['mem_total_kib'] or 0) // 1024)} MiB |
| Kernel | {m['kernel']} |
| Python | {m['python']} ({m['python_implementation']}) |
| Packages | {', '.join(f'{k} {v}' for k, v in pk.items() if v)} |
| Open files limit | {m['nofile_limit'][0]:,} |
| Innovate revision | {m.get('revision') or 'unknown'} |

## Figures

{chr(10).join(lines)}

Ratios are target/target; the saturation ratio is the median of per-round ratios.

## Headline keys (application target `{summary['primary_target']}`)

| Key | Value |
|---|---|
{headline}

## Notes

{notes}
"""


# --------------------------------------------------------------------------- #


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Run the fan-out benchmarks.")
    p.add_argument("--quick", action="store_true", help="a few hundred clients, < 2 minutes")
    p.add_argument("--targets", default=",".join(TARGETS),
                   help=f"comma-separated, from: {', '.join(TARGETS)}")
    default_scen = [s.name for s in SCENARIOS.values() if s.default]
    p.add_argument("--scenarios", default=None,
                   help=f"comma-separated, from: {', '.join(SCENARIOS)} (default: {', '.join(default_scen)}; "
                        "--quick leaves out workers)")
    p.add_argument("--rounds", type=int, help="rounds per scenario (default 3)")
    p.add_argument("--sat-subscribers", type=int)
    p.add_argument("--sat-duration", type=float)
    p.add_argument("--idle-steps", help="e.g. 1000,5000,10000")
    p.add_argument("--knee-steps", help="e.g. 500,1000,2000")
    p.add_argument("--sink-impl", choices=("lite", "websockets"))
    p.add_argument("--wait-quiet", type=float, metavar="SECONDS",
                   help="before each run, wait up to SECONDS for CPUs 0 and 1 to be "
                        "below 15%% busy (other processes)")
    p.add_argument("--no-markdown", action="store_true", help="do not rewrite RESULTS.md")
    p.add_argument("--output", help="JSON path (default bench/results/<UTC>.json)")
    p.add_argument("--render", metavar="JSON",
                   help="only rewrite RESULTS.md from an existing results file")
    return p.parse_args(argv)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.render:
        src = Path(args.render)
        RESULTS_MD.write_text(render_markdown(json.loads(src.read_text()), src.name))
        log(f"wrote {RESULTS_MD}")
        return 0
    # SIGTERM unwinds like Ctrl-C, so servers and load generators are stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    raise_nofile_limit()
    cfg = Config.quick_config() if args.quick else Config()
    if args.rounds:
        cfg.rounds = args.rounds
        if cfg.knee_rounds:
            cfg.knee_rounds = min(cfg.knee_rounds, args.rounds)
    if args.sat_subscribers:
        cfg.sat_subscribers = args.sat_subscribers
    if args.sat_duration:
        cfg.sat_duration = args.sat_duration
    if args.idle_steps:
        cfg.idle_steps = tuple(int(x) for x in args.idle_steps.split(","))
    if args.knee_steps:
        cfg.knee_steps = tuple(int(x) for x in args.knee_steps.split(","))
    if args.sink_impl:
        cfg.sink_impl = args.sink_impl
    if args.wait_quiet:
        cfg.wait_quiet = args.wait_quiet
    target_names = [t for t in args.targets.split(",") if t]
    if args.scenarios is None:
        scenario_names = [s.name for s in SCENARIOS.values() if s.default and (s.in_quick or not cfg.quick)]
    else:
        scenario_names = [s for s in args.scenarios.split(",") if s]
    for t in target_names:
        if t not in TARGETS:
            sys.exit(f"unknown target {t!r}; registered: {', '.join(TARGETS)}")
    for s in scenario_names:
        if s not in SCENARIOS:
            sys.exit(f"unknown scenario {s!r}; known: {', '.join(SCENARIOS)}")
    cpus = os.cpu_count()
    if cpus is not None and cpus < 2:
        sys.exit("needs at least 2 CPUs (server on CPU 0, load generator on CPU 1)")

    started = dt.datetime.now(dt.UTC)
    # Taken before the run: the revision is the code measured, whatever is committed meanwhile.
    machine = machine_info()
    log(f"targets={target_names} scenarios={scenario_names} rounds={cfg.rounds} quick={cfg.quick}")
    t0 = time.monotonic()
    raw = run_all(cfg, target_names, scenario_names, {})
    summary = build_summary(cfg, raw, target_names, started, time.monotonic() - t0, machine)

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = Path(args.output) if args.output else RESULTS_DIR / (
        started.strftime("%Y-%m-%dT%H-%M-%SZ") + ".json")
    out.write_text(json.dumps(summary, indent=1) + "\n")
    log(f"wrote {out}")
    if not args.no_markdown:
        RESULTS_MD.write_text(render_markdown(summary, out.name))
        log(f"wrote {RESULTS_MD}")
    print(json.dumps({k: summary[k] for k in (*HEADLINE_KEYS, "lost", "duplicated", "quick")},
                     indent=1))
    for n in summary["notes"]:
        log("note: " + n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
