"""Votes: cast votes per second through the real endpoint, against a bare INSERT loop.

Orchestrator side (``run_votes``, called by ``bench/run.py``): create a private
PostgreSQL database ``innovate_bench_<random>`` on the local server, start the
``innovate`` target on it (migrations, accounts, a room and its members), let the
moderator submit the ideas through the API, then run this file as the load
process pinned to CPU 1.  The database is dropped afterwards.

Load side (``python bench/votes.py ...``):

1. open ``--subscribers`` live sockets to the room (the tallies are broadcast to them);
2. every member votes once on every idea (``PUT /api/v1/ideas/{id}/vote``, a
   member's own bearer token), in shuffled order, ``--concurrency`` requests in
   flight on as many keep-alive connections;
3. the same number of rows goes into a copy of the ``votes`` table
   (``CREATE TABLE … (LIKE votes INCLUDING ALL)``: same columns, unique index and
   defaults, no foreign keys) with one autocommitted INSERT per row over
   ``--concurrency`` asyncpg connections: the bare cost of the row.

``ratio_votes_vs_insert`` = endpoint votes/s ÷ bare inserts/s, same run, same database.
For scale the rows also go in once more over a single connection, one INSERT after the
other (``ratio_votes_vs_one_insert_loop``): the cost of a durable row with nothing else in
flight. The headline ratio stays the one against the same concurrency.

Between the votes and the INSERTs the same server answers as many ``GET /healthz`` and
``GET /api/v1/me`` (a token lookup and nothing else) at the same concurrency: the ceiling of
any request, and of any request that checks a token, on this core.
``ratio_token_request_vs_insert`` puts the second against the bare INSERTs: the most that
any authenticated endpoint, one that wrote nothing at all, could reach in this comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import random
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import registry, targets, wsclient  # noqa: E402
from bench.common import CpuMeter, PostgresCpuMeter, WaitMeter, median, raise_nofile_limit  # noqa: E402
from bench.httpclient import HttpConn  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Requests per app for the GET /healthz and GET /api/v1/me figures: several seconds of each at
# these apps' rates, so one moment of contention on the shared cores does not decide a round.
CEILING_REQUESTS = 20_000


# --------------------------------------------------------------------------- #
# Load side


TALLY = '"kind":"tally.changed"'


class TallyCounter:
    """A subscribed socket that counts the tally frames it receives."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.frames = 0
        ws.callback_mode(self.on_message)

    def on_message(self, msg: str | bytes) -> None:
        if TALLY in (msg if isinstance(msg, str) else msg.decode()):
            self.frames += 1


async def open_sockets(target, count: int) -> list[TallyCounter]:
    socks = []
    for i in range(count):
        ws = await wsclient.connect(target.subscriber_url(i), target.subscriber_headers(i))
        ws.set_keepalive(target.keepalive)
        socks.append(TallyCounter(ws))
    return socks


async def drive(target, requests: list[tuple[str, str, bytes, str | None]], concurrency: int) -> dict:
    """Send ``(method, path, body, token or None)`` requests, ``concurrency`` in flight on as many
    keep-alive connections; count the answers by status."""
    queue = iter(requests)
    statuses: dict[int, int] = {}

    async def worker() -> None:
        conn = await HttpConn.open(target.host, target.port)
        try:
            for method, path, body, token in queue:
                status, _ = await conn.request(method, path, body,
                                               {"Authorization": f"Bearer {token}"} if token else None)
                statuses[status] = statuses.get(status, 0) + 1
                if not conn.reusable:
                    conn.close()
                    conn = await HttpConn.open(target.host, target.port)
        finally:
            conn.close()

    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - t0
    ok = statuses.get(200, 0)
    return {"rows": len(requests), "ok": ok, "statuses": {str(k): v for k, v in statuses.items()},
            "elapsed_s": round(elapsed, 3), "per_s": round(ok / elapsed, 1) if elapsed else None}


def vote_requests(target, ideas: list[int]) -> list[tuple[str, str, bytes, str | None]]:
    tokens = target.options["member_tokens"]
    work = [(tokens[m], idea) for m in range(len(tokens)) for idea in ideas]
    random.Random(1).shuffle(work)
    return [("PUT", f"/api/v1/ideas/{idea}/vote", b'{"value": 1}', token) for token, idea in work]


async def measure_me(target, concurrency: int, server_pid: str) -> dict:
    """``CEILING_REQUESTS`` authenticated ``GET /api/v1/me`` over the members' tokens, with the
    server's CPU over them: the same measurement for Innovate and for the reference app."""
    tokens = target.options["member_tokens"]
    server_cpu = CpuMeter(server_pid, time.monotonic)
    me = await drive(target, [("GET", "/api/v1/me", b"", tokens[i % len(tokens)]) for i in range(CEILING_REQUESTS)],
                     concurrency)
    me["server_cpu_pct"] = round(server_cpu.percent(), 1)
    return me


async def request_ceilings(target, concurrency: int, server_pid: str) -> dict:
    """The fastest this server answers anything, ``CEILING_REQUESTS`` of each at the votes'
    concurrency: an anonymous ``GET /healthz`` (HTTP and middleware only) and ``GET /api/v1/me``
    (plus the token lookup, which every vote also does). No endpoint that checks a token can beat
    the second figure, whatever it writes, so it bounds the votes figure from above."""
    healthz = await drive(target, [("GET", "/healthz", b"", None)] * CEILING_REQUESTS, concurrency)
    return {"healthz": healthz, "me": await measure_me(target, concurrency, server_pid)}


async def bare_inserts(dsn: str, ideas: list[int], members: int, concurrency: int) -> dict:
    """The same rows over ``concurrency`` connections (1: one loop, one INSERT after another)."""
    import asyncpg

    table = f"bench_bare_votes_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f"CREATE TABLE {table} (LIKE votes INCLUDING ALL)")
    room_id = await admin.fetchval("SELECT room_id FROM ideas WHERE id = $1", ideas[0])
    conns = [await asyncpg.connect(dsn) for _ in range(concurrency)]
    work = [(m + 2, idea) for m in range(members) for idea in ideas]
    random.Random(1).shuffle(work)
    queue = iter(work)
    sql = (f"INSERT INTO {table} (room_id, idea_id, user_id, value, created_at, updated_at) "
           "VALUES ($1, $2, $3, 1, $4, $4)")
    done = 0

    async def worker(conn) -> None:
        nonlocal done
        for user_id, idea in queue:
            await conn.execute(sql, room_id, idea, user_id, dt.datetime.now(dt.UTC))
            done += 1

    try:
        t0 = time.monotonic()
        await asyncio.gather(*(worker(c) for c in conns))
        elapsed = time.monotonic() - t0
    finally:
        for c in conns:
            await c.close()
        await admin.execute(f"DROP TABLE {table}")
        await admin.close()
    return {"rows": done, "elapsed_s": round(elapsed, 3), "per_s": round(done / elapsed, 1)}


async def reference_main(target, ideas: list[int], concurrency: int, server_pid: str) -> dict:
    """The same votes and ``GET /api/v1/me`` against the reference app (``target.port`` is its
    port): what the least app on the same stack answers on the same core."""
    server_cpu, client_cpu = CpuMeter(server_pid, time.monotonic), CpuMeter("self", time.monotonic)
    server_wait, database_cpu = WaitMeter(server_pid, time.monotonic), PostgresCpuMeter(time.monotonic)
    votes = await drive(target, vote_requests(target, ideas), concurrency)
    votes.update(server_cpu_pct=round(server_cpu.percent(), 1), client_cpu_pct=round(client_cpu.percent(), 1),
                 database_cpu_pct=round(database_cpu.percent(), 1),
                 server_runqueue_wait_pct=round(server_wait.percent(), 1))
    return {"votes": votes, "me": await measure_me(target, concurrency, server_pid)}


def cpu_ms_per_answer(run: dict) -> float | None:
    """Server CPU per answer of a ``drive()`` result that carries its server CPU %."""
    if not run.get("per_s") or run.get("server_cpu_pct") is None:
        return None
    return round(run["server_cpu_pct"] / 100 / run["per_s"] * 1000, 3)


async def load_main(args: argparse.Namespace) -> dict:
    raise_nofile_limit()
    target = registry.from_spec(json.loads(args.target_spec))
    ideas = [int(x) for x in args.ideas.split(",")]
    if args.reference:
        return await reference_main(target, ideas, args.concurrency, args.server_pid)
    socks = await open_sockets(target, args.subscribers)
    await asyncio.sleep(args.settle)
    base = [s.frames for s in socks]

    server_cpu, client_cpu = CpuMeter(args.server_pid, time.monotonic), CpuMeter("self", time.monotonic)
    server_wait, client_wait = WaitMeter(args.server_pid, time.monotonic), WaitMeter("self", time.monotonic)
    database_cpu = PostgresCpuMeter(time.monotonic)
    votes = await drive(target, vote_requests(target, ideas), args.concurrency)
    votes.update(server_cpu_pct=round(server_cpu.percent(), 1), client_cpu_pct=round(client_cpu.percent(), 1),
                 database_cpu_pct=round(database_cpu.percent(), 1),
                 server_runqueue_wait_pct=round(server_wait.percent(), 1),
                 client_runqueue_wait_pct=round(client_wait.percent(), 1))

    # Tallies are coalesced: wait until the sockets stop receiving, then count.
    last, quiet_since = -1, time.monotonic()
    deadline = quiet_since + args.drain_timeout
    while time.monotonic() - quiet_since < 1.0 and time.monotonic() < deadline:
        now = sum(s.frames for s in socks)
        if now != last:
            last, quiet_since = now, time.monotonic()
        await asyncio.sleep(0.2)
    frames = [s.frames - b for s, b in zip(socks, base, strict=True)]
    alive = sum(1 for s in socks if not s.ws.closed.done())
    for s in socks:
        s.ws.abort()

    ceilings = await request_ceilings(target, args.concurrency, args.server_pid)
    client_cpu.start()
    bare = await bare_inserts(args.dsn, ideas, len(target.options["member_tokens"]), args.concurrency)
    bare["client_cpu_pct"] = round(client_cpu.percent(), 1)
    # For scale: the database's cost of one durable row at a time (a commit per INSERT
    # with nothing else in flight), which the endpoint's concurrency can beat.
    single = await bare_inserts(args.dsn, ideas, len(target.options["member_tokens"]), 1)
    ratio = votes["per_s"] / bare["per_s"] if votes["per_s"] and bare["per_s"] else None
    ratio_single = votes["per_s"] / single["per_s"] if votes["per_s"] and single["per_s"] else None
    me = ceilings["me"]["per_s"]
    ratio_ceiling = me / bare["per_s"] if me and bare["per_s"] else None
    return {
        "votes": votes,
        "bare_insert": bare,
        "bare_insert_one_loop": single,
        "ratio_votes_vs_insert": round(ratio, 4) if ratio else None,
        "ratio_votes_vs_one_insert_loop": round(ratio_single, 4) if ratio_single else None,
        "request_ceilings": ceilings,
        "ratio_token_request_vs_insert": round(ratio_ceiling, 4) if ratio_ceiling else None,
        "subscribers": args.subscribers,
        "subscribers_alive": alive,
        "tally_frames_per_socket": median(frames),
        "concurrency": args.concurrency,
        "server_runqueue_wait_pct": votes["server_runqueue_wait_pct"],
        "client_runqueue_wait_pct": votes["client_runqueue_wait_pct"],
        "client_bound": votes["client_cpu_pct"] > 90,
        "contended": max(votes["server_runqueue_wait_pct"], votes["client_runqueue_wait_pct"]) > 5,
    }


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target-spec", required=True)
    p.add_argument("--server-pid", required=True)
    p.add_argument("--dsn", required=True, help="asyncpg DSN of the benchmark database")
    p.add_argument("--ideas", required=True, help="comma-separated idea ids")
    p.add_argument("--subscribers", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--settle", type=float, default=1.0)
    p.add_argument("--drain-timeout", type=float, default=10.0)
    p.add_argument("--reference", action="store_true",
                   help="the server is the reference app: votes and GET /api/v1/me only")
    p.add_argument("--out", required=True)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(load_main(args))
    Path(args.out).write_text(json.dumps(result))
    return 0


# --------------------------------------------------------------------------- #
# Orchestrator side


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class ReferenceApp(targets.Target):
    """The minimal Starlette + SQLAlchemy + asyncpg app (``bench/servers/reference_app.py``) on
    the round's database; clients use the Innovate target's tokens (its ``options``)."""

    name = "reference"

    def server_command(self, port: int, ready_file: str) -> list[str]:
        return [sys.executable, str(BENCH_DIR / "servers" / "reference_app.py"), "--dsn", self.options["dsn"],
                "--host", self.host, "--port", str(port), "--ready-file", ready_file]

    def spec(self) -> dict:
        # The load side speaks to it as to Innovate: same routes, same tokens.
        return {"name": "innovate", "host": self.host, "port": self.port,
                "options": {k: v for k, v in self.options.items() if k != "dsn"}}

    def subscriber_url(self, i: int) -> str:
        raise NotImplementedError("the reference app has no sockets")

    async def open_publishers(self, k: int) -> None:
        raise NotImplementedError

    async def publish(self, payload: bytes | str, publisher: int = 0) -> None:
        raise NotImplementedError

    def decode(self, frame: str | bytes) -> dict | None:
        return None


def run_reference(server, dsn: str, ideas: list[int], cfg, run_load) -> dict:
    """The same votes and ``GET /api/v1/me`` against the reference app, on the same core, right
    after Innovate's turn in the same round (Innovate's server is stopped by then)."""
    asyncio.run(admin_in(dsn, "CREATE TABLE ref_votes (LIKE votes INCLUDING ALL)"))
    ref = ReferenceApp(host=server.host, dsn=dsn.replace("postgresql://", "postgresql+asyncpg://"),
                       **{k: v for k, v in server.options.items() if k in ("member_tokens", "moderator_token", "slug")})
    ref.start()
    try:
        return run_load(ref, ["--reference", "--dsn", dsn, "--ideas", ",".join(map(str, ideas)),
                              "--concurrency", str(cfg.votes_concurrency)], timeout=600, script=Path(__file__))
    finally:
        ref.stop()


async def admin_in(dsn: str, sql: str) -> None:
    """Run one statement as the database's owner (the reference app's table, made per round)."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def private_postgres() -> Iterator[str]:
    """A database ``innovate_bench_<random>`` on the local server for one run, dropped after."""
    name = f"innovate_bench_{secrets.token_hex(6)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run_votes(target, cfg, run_load) -> dict:
    """One round: private database, server, ideas, load process, then the reference app on the
    same database; always drops the database."""
    from bench.innovate_target import api

    with private_postgres() as url:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        server = type(target)(host=target.host, database_url=url, members=cfg.votes_members)
        server.start()
        try:
            moderator, slug = server.options["moderator_token"], server.options["slug"]
            ideas = [
                api(server.port, "POST", f"/rooms/{slug}/ideas", moderator,
                    {"title": f"Idea number {i}", "body": "Something worth voting for."})["id"]
                for i in range(cfg.votes_ideas)
            ]
            result = run_load(server, [
                "--dsn", dsn,
                "--ideas", ",".join(map(str, ideas)),
                "--subscribers", str(cfg.votes_subscribers),
                "--concurrency", str(cfg.votes_concurrency),
            ], timeout=600, script=Path(__file__))
            if not server.alive():
                result["server_died"] = True
                result["server_log"] = server.server_log()
        finally:
            server.stop()
        result["reference"] = ref = run_reference(server, dsn, ideas, cfg, run_load)
        mine, theirs = result["votes"]["per_s"], ref["votes"]["per_s"]
        result["ratio_votes_vs_reference"] = round(mine / theirs, 4) if mine and theirs else None
        mine, theirs = result["request_ceilings"]["me"]["per_s"], ref["me"]["per_s"]
        result["ratio_me_vs_reference"] = round(mine / theirs, 4) if mine and theirs else None
        return result


def ceiling_per_s(run: dict, request: str) -> float | None:
    """Answers per second of one of a votes run's ``request_ceilings`` (``healthz``, ``me``)."""
    return ((run.get("request_ceilings") or {}).get(request) or {}).get("per_s")


def summarize_votes(runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    return {
        "ratio_votes_vs_insert": median([r.get("ratio_votes_vs_insert") for r in ok]),
        "votes_per_s": median([r["votes"]["per_s"] for r in ok]),
        "bare_inserts_per_s": median([r["bare_insert"]["per_s"] for r in ok]),
        "bare_inserts_one_loop_per_s": median([(r.get("bare_insert_one_loop") or {}).get("per_s") for r in ok]),
        "ratio_votes_vs_one_insert_loop": median([r.get("ratio_votes_vs_one_insert_loop") for r in ok]),
        "healthz_per_s": median([ceiling_per_s(r, "healthz") for r in ok]),
        "me_per_s": median([ceiling_per_s(r, "me") for r in ok]),
        "ratio_token_request_vs_insert": median([r.get("ratio_token_request_vs_insert") for r in ok]),
        "ratio_votes_vs_reference": median([r.get("ratio_votes_vs_reference") for r in ok]),
        "ratio_me_vs_reference": median([r.get("ratio_me_vs_reference") for r in ok]),
        "reference_votes_per_s": median([(r.get("reference") or {}).get("votes", {}).get("per_s") for r in ok]),
        "reference_me_per_s": median([(r.get("reference") or {}).get("me", {}).get("per_s") for r in ok]),
        "votes_server_cpu_ms_per_vote": median([cpu_ms_per_answer(r["votes"]) for r in ok]),
        "reference_server_cpu_ms_per_vote": median(
            [cpu_ms_per_answer((r.get("reference") or {}).get("votes") or {}) for r in ok]),
        "me_server_cpu_ms_per_request": median(
            [cpu_ms_per_answer((r.get("request_ceilings") or {}).get("me") or {}) for r in ok]),
        "reference_server_cpu_ms_per_me": median(
            [cpu_ms_per_answer((r.get("reference") or {}).get("me") or {}) for r in ok]),
        "votes_server_cpu_pct": median([r["votes"]["server_cpu_pct"] for r in ok]),
        "votes_client_cpu_pct": median([r["votes"]["client_cpu_pct"] for r in ok]),
        "votes_rejected": sum(r["votes"]["rows"] - r["votes"]["ok"] for r in ok),
        "votes_tally_frames_per_socket": median([r.get("tally_frames_per_socket") for r in ok]),
        "votes_client_bound": any(r.get("client_bound") for r in ok) if ok else None,
        "votes_contended": any(r.get("contended") for r in ok) if ok else None,
        "votes_failed_runs": len(runs) - len(ok),
    }


if __name__ == "__main__":
    sys.exit(main())
