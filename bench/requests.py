"""Server CPU per request of one kind, through the whole application but without the network.

    python -m bench.requests vote 3000             # PUT /api/v1/ideas/{id}/vote, PostgreSQL
    python -m bench.requests me 3000 --in-flight 50
    python -m bench.requests post 3000 --sqlite    # POST /api/v1/rooms/{slug}/messages

A database is prepared as the votes scenario prepares it (``innovate serve`` on a private
PostgreSQL database ``innovate_bench_<random>``, dropped afterwards; or a SQLite file with
``--sqlite``): accounts, a room with 50 members, 20 ideas. Then the ASGI application runs in
this process, on uvloop and with the server's garbage-collector settings, and is called
directly, N times, with ``--in-flight`` requests at a time: what it prints is the process's
CPU time per request (``time.process_time()``) and, on PostgreSQL, the CPU time of every
``postgres`` process on the machine over the same window, per request (the database's work,
on a machine where nothing else uses PostgreSQL; a backend that exits within the window takes
its CPU time with it, so the figure is only whole when the pool opens and closes nothing).

With ``--timed module:Function,module.function`` it also prints the CPU spent inside each
named coroutine function per request (it replaces the module attribute, so name it where it
is called from; measured one request at a time only, else the others' work is counted too).
Run it pinned (``taskset -c 0``) on a quiet machine; one figure moves by about 10 % between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import functools
import importlib
import os
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import orjson

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import postgres_cpu_seconds  # noqa: E402
from bench.innovate_target import InnovateTarget, api, bench_env  # noqa: E402
from bench.votes import private_postgres  # noqa: E402

IDEAS = 20
WARM_UP = 200


def prepare(database_url: str | None) -> tuple[InnovateTarget, list[int]]:
    """The server's database (SQLite when ``database_url`` is None), populated; the server stopped."""
    options: dict[str, Any] = {"database_url": database_url, "members": 50} if database_url else {}
    target = InnovateTarget(host="127.0.0.1", cpu="0", **options)
    target.start()
    slug, moderator = target.options["slug"], target.options["moderator_token"]
    ideas = [api(target.port, "POST", f"/rooms/{slug}/ideas", moderator,
                 {"title": f"Idea number {i}", "body": "Something worth voting for."})["id"] for i in range(IDEAS)]
    target.stop_server_keep_data()
    return target, ideas


def request_for(kind: str, i: int, target: InnovateTarget, ideas: list[int]) -> tuple[str, str, bytes, str]:
    members = target.options["member_tokens"]
    if kind == "vote":  # every member up, then down, then up... so each vote changes the tally
        value = 1 if (i // len(ideas)) % 2 == 0 else -1
        return "PUT", f"/api/v1/ideas/{ideas[i % len(ideas)]}/vote", orjson.dumps({"value": value}), members[i % len(members)]
    if kind == "me":
        return "GET", "/api/v1/me", b"", members[i % len(members)]
    return ("POST", f"/api/v1/rooms/{target.options['slug']}/messages",
            orjson.dumps({"body": f"Message number {i}"}), target.options["moderator_token"])


def time_each(specs: str, spent: dict[str, float]) -> None:
    for spec in specs.split(","):
        module_name, _, path = spec.partition(":") if ":" in spec else spec.rpartition(".")
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        original = getattr(owner, name)

        @functools.wraps(original)
        async def timed(*args: Any, __original: Any = original, __name: str = spec, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return await __original(*args, **kwargs)
            finally:
                spent[__name] += time.thread_time() - started

        setattr(owner, name, timed)


async def measure(args: argparse.Namespace, target: InnovateTarget, ideas: list[int]) -> None:
    data_dir = target.data_dir
    database_url = target.options.get("database_url") or f"sqlite:///{data_dir}/innovate.db"
    os.environ.update(bench_env(database_url, data_dir, 1))
    from innovate.app import app_from_env

    if args.reference:
        from bench.servers.reference_app import make_app
        from bench.votes import admin_in

        await admin_in(database_url.replace("+asyncpg", ""), "CREATE TABLE ref_votes (LIKE votes INCLUDING ALL)")
        app = make_app(database_url)
    else:
        app = app_from_env()  # with the server's garbage-collector settings
    spent: dict[str, float] = collections.defaultdict(float)  # seconds per function
    if args.timed:
        time_each(args.timed, spent)

    async def call(method: str, path: str, body: bytes, token: str) -> int:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode()),
                        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80), "state": {},
        }
        received = False
        status: list[int] = []

        async def receive() -> dict[str, Any]:
            nonlocal received
            if not received:
                received = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # no disconnect while the request runs
            raise AssertionError

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(scope, receive, send)
        return status[0]

    async with app.router.lifespan_context(app):
        for i in range(WARM_UP):
            status = await call(*request_for(args.kind, i, target, ideas))
            if status >= 400:
                raise SystemExit(f"{args.kind}: HTTP {status} while warming up")
        spent.clear()
        failures = 0

        async def caller(first: int) -> None:
            nonlocal failures
            for i in range(first, args.count, args.in_flight):
                if await call(*request_for(args.kind, WARM_UP + i, target, ideas)) >= 400:
                    failures += 1

        started, database_started = time.process_time(), postgres_cpu_seconds()
        await asyncio.gather(*(caller(k) for k in range(args.in_flight)))
        cpu = time.process_time() - started
        database_cpu = postgres_cpu_seconds() - database_started
    print(f"{args.kind}: {1000 * cpu / args.count:.3f} ms of CPU per request "
          f"({args.count} requests, {args.in_flight} in flight, {failures} failed)")
    if not args.sqlite:
        print(f"  PostgreSQL: {1000 * database_cpu / args.count:.3f} ms of CPU per request (every postgres process)")
    for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {name}: {1e6 * seconds / args.count:.0f} µs per request")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("vote", "me", "post"))
    parser.add_argument("count", type=int)
    parser.add_argument("--in-flight", type=int, default=1)
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    parser.add_argument("--timed", help="coroutine functions to time, comma-separated")
    parser.add_argument("--reference", action="store_true",
                        help="the votes scenario's reference app (bench/servers/reference_app.py) instead of "
                             "Innovate, on the same data (vote and me only, PostgreSQL only)")
    args = parser.parse_args(argv)
    if args.reference and (args.sqlite or args.kind == "post"):
        parser.error("the reference app answers vote and me, on PostgreSQL")
    import uvloop

    with contextlib.nullcontext(None) if args.sqlite else private_postgres() as database_url:
        target, ideas = prepare(database_url)
        try:
            uvloop.run(measure(args, target, ideas))
        finally:
            target.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
