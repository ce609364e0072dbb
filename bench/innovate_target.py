"""B: Innovate itself, run as an operator runs it.

``innovate serve`` (pinned like the other servers) on a fresh database with a
real room and real members:

* the moderator is created with ``innovate user create --moderator`` (password
  on stdin) and gets a token from ``innovate token create``;
* members are created with the functions those two commands call
  (``create_local_user``, ``create_token``), in one process: on this machine one
  CLI call takes about 7 s of interpreter start-up, so 50 of them would take
  minutes per run;
* the room is created with ``POST /api/v1/rooms`` and every member joins with
  ``POST /api/v1/rooms/{slug}/join`` using their own bearer token.

Subscribers open ``/rooms/{slug}/live?format=json`` with a member's token (the
app allows several sockets per member, so sockets share the members' tokens).
Publishers are the room's moderator posting ``POST /api/v1/rooms/{slug}/messages``
whose body is the probe payload; each message is stored, appended to the room's
event log, published through the broker and rendered by the live layer.

On SQLite the populated database is built once per orchestrator process and
copied for every server start (each run still gets its own file).  With
``database_url`` (PostgreSQL, the votes scenario) the caller owns the database
and every start populates it.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, ClassVar

import orjson

from bench.httpclient import HttpPool, Pipeline
from bench.targets import Target, TargetError, register

INNOVATE_BIN = str(Path(sys.executable).with_name("innovate"))
MODERATOR_EMAIL = "moderator@bench.test"
MODERATOR_PASSWORD = "bench-moderator-password"
ROOM_SLUG = "bench-kickoff"
DEFAULT_MEMBERS = 50
# Publishers keep at most this many POSTs in flight each (saturation keeps a window of
# messages in flight; awaiting each answer would make the publisher round trip the limit).
PUBLISH_INFLIGHT = 32
# One secret for every database of this orchestrator process: token hashes are keyed by it.
SECRET_KEY = secrets.token_urlsafe(48)


def bench_env(database_url: str, data_dir: str, port: int) -> dict[str, str]:
    """Settings for a benchmark server: quiet logs, no limits on the bench's own publishers
    and voters, a send queue deep enough for saturation, sockets never idled out."""
    return {
        "INNOVATE_DATABASE_URL": database_url,
        "INNOVATE_DATA_DIR": data_dir,
        "INNOVATE_SECRET_KEY": SECRET_KEY,
        "INNOVATE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "INNOVATE_LOG_LEVEL": "warning",
        "INNOVATE_BROKER": "memory",
        "INNOVATE_POSTS_PER_MINUTE": "1000000",
        "INNOVATE_VOTES_PER_MINUTE": "1000000",
        "INNOVATE_IDEAS_PER_HOUR": "1000000",
        "INNOVATE_WS_QUEUE_SIZE": "4096",
        "INNOVATE_WS_IDLE_TIMEOUT_SECONDS": "86400",
        "INNOVATE_SCHEDULER_INTERVAL_SECONDS": "0",
    }


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    proc = subprocess.run(
        [INNOVATE_BIN, *args], input=stdin, env={**os.environ, **env},
        capture_output=True, text=True, timeout=180,
    )
    if proc.returncode != 0:
        raise TargetError(f"innovate {' '.join(args[:2])} failed: {proc.stderr[-2000:]}")
    return proc.stdout


async def _create_members(env: dict[str, str], count: int) -> list[str]:
    from innovate.accounts.local import create_local_user
    from innovate.accounts.tokens import create_token
    from innovate.app import open_resources
    from innovate.settings import load_settings

    settings = load_settings(
        database_url=env["INNOVATE_DATABASE_URL"], data_dir=Path(env["INNOVATE_DATA_DIR"]),
        secret_key=env["INNOVATE_SECRET_KEY"], log_level="warning",
    )
    resources = await open_resources(settings)
    tokens = []
    try:
        for i in range(count):
            # No password: members only ever use their token (like `user create --no-password`).
            user = await create_local_user(resources, f"member{i}@bench.test", None, name=f"Member {i}")
            tokens.append((await create_token(resources, user, "bench"))[1])
    finally:
        await resources.engine.dispose()
    return tokens


def create_accounts(env: dict[str, str], members: int) -> tuple[str, list[str]]:
    """The moderator through the CLI, the members through the same service functions."""
    cli(["user", "create", MODERATOR_EMAIL, "--moderator", "--name", "Bench Moderator"], env,
        stdin=MODERATOR_PASSWORD + "\n")
    moderator = cli(["token", "create", MODERATOR_EMAIL, "--name", "bench"], env).split()[-1]
    return moderator, asyncio.run(_create_members(env, members))


def api(port: int, method: str, path: str, token: str, payload: Any = None) -> Any:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}", method=method,
        data=orjson.dumps(payload) if payload is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:
        raise TargetError(f"{method} {path}: HTTP {exc.code} {exc.read()[:500]!r}") from None
    return orjson.loads(body) if body else None


def create_room(port: int, moderator: str, members: list[str]) -> str:
    api(port, "POST", "/rooms", moderator, {
        "slug": ROOM_SLUG, "title": "Benchmark kick-off", "phase": "open",
        "brief": "A live room for the fan-out benchmark.",
    })
    for token in members:
        api(port, "POST", f"/rooms/{ROOM_SLUG}/join", token)
    return ROOM_SLUG


@register
class InnovateTarget(Target):
    """B: ``innovate serve`` with a real room, members and bearer tokens."""

    name = "innovate"
    # Stored events (message.posted) start so; presence frames start with {"kind".
    message_prefix = b'{"seq":'

    # SQLite template per member count: (directory, moderator token, member tokens).
    _templates: ClassVar[dict[int, tuple[str, str, list[str]]]] = {}

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        super().__init__(host, port, **options)
        self._pools: list[HttpPool] = []
        self._pipes: list[Pipeline] = []
        self._inflight: list[asyncio.Semaphore] = []
        self._tasks: set[asyncio.Task] = set()
        self.failed_publishes = 0
        self.publish_failures: list[str] = []  # the first few, as "status: body" or the exception

    # -- orchestrator side -----------------------------------------------------

    def server_command(self, port: int, ready_file: str) -> list[str]:
        # `innovate serve` has no ready file: start() waits for /healthz instead.
        workers = int(self.options.get("workers", 1))
        return [INNOVATE_BIN, "serve", "--host", self.host, "--port", str(port),
                *(["--workers", str(workers)] if workers > 1 else [])]

    @property
    def members(self) -> int:
        return int(self.options.get("members", DEFAULT_MEMBERS))

    def start(self, timeout: float = 90.0) -> None:
        if self._proc is not None:
            raise TargetError(f"{self.name}: already started")
        self._tmpdir = tempfile.TemporaryDirectory(prefix="bench-innovate-")
        data_dir = self._tmpdir.name
        port = self.port or free_port(self.host)
        database_url = self.options.get("database_url")
        if database_url:  # the caller's (PostgreSQL) database: migrate and populate it
            env = bench_env(database_url, data_dir, port)
            cli(["db", "upgrade"], env)
            moderator, members = create_accounts(env, self.members)
            self._spawn(port, env, timeout)
            create_room(port, moderator, members)
        else:
            template, moderator, members = self._template()
            for f in os.listdir(template):
                if f.startswith("innovate.db"):
                    shutil.copy2(os.path.join(template, f), data_dir)
            env = bench_env(f"sqlite:///{data_dir}/innovate.db", data_dir, port)
            self._spawn(port, env, timeout)
        self.options.update(slug=ROOM_SLUG, moderator_token=moderator, member_tokens=members)

    def _spawn(self, port: int, env: dict[str, str], timeout: float) -> None:
        assert self._tmpdir is not None, "the data directory is made before the server starts"
        self._log_path = Path(self._tmpdir.name) / "server.log"
        argv = ["taskset", "-c", self.cpu, *self.server_command(port, "")]
        # The workers scenario runs several processes over the redis broker.
        broker = {"INNOVATE_BROKER": self.options["broker"]} if self.options.get("broker") else {}
        with open(self._log_path, "wb") as log:
            self._proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **env, **broker},
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://{self.host}:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        self.port = port
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        output = self.server_log()
        self.stop()
        raise TargetError(f"{self.name}: server did not become ready\n{output}")

    def _template(self) -> tuple[str, str, list[str]]:
        """A populated SQLite database (accounts, room, members), built once."""
        cached = self._templates.get(self.members)
        if cached is not None:
            return cached
        directory = tempfile.mkdtemp(prefix="bench-innovate-template-")
        atexit.register(shutil.rmtree, directory, True)
        builder = InnovateTarget(host=self.host, cpu=self.cpu)
        builder._tmpdir = None
        port = free_port(self.host)
        env = bench_env(f"sqlite:///{directory}/innovate.db", directory, port)
        moderator, members = create_accounts(env, self.members)
        builder._tmpdir = _KeepDir(directory)
        builder._spawn(port, env, 90.0)
        try:
            create_room(port, moderator, members)
        finally:
            builder.stop_server_keep_data()
        self._templates[self.members] = (directory, moderator, members)
        return directory, moderator, members

    @property
    def data_dir(self) -> str:
        assert self._tmpdir is not None, "started"
        return self._tmpdir.name

    def stop_server_keep_data(self) -> None:
        """Stop the server process; its database stays until ``stop()``."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    # -- load-generator side ---------------------------------------------------

    def subscriber_url(self, i: int) -> str:
        return f"{self.base_ws}/rooms/{self.options['slug']}/live?format=json"

    def subscriber_headers(self, i: int) -> dict[str, str]:
        tokens = self.options["member_tokens"]
        return {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}

    async def open_publishers(self, k: int) -> None:
        auth = {"Authorization": f"Bearer {self.options['moderator_token']}"}
        self._path = f"/api/v1/rooms/{self.options['slug']}/messages"
        self._inflight = [asyncio.Semaphore(PUBLISH_INFLIGHT) for _ in range(k)]
        if self.options.get("publish_mode") == "pipelined":
            # The one_poster scenario: each publisher is one member posting on one keep-alive
            # connection, its POSTs pipelined (uvicorn answers them one after another).
            self._pipes = [await Pipeline.open(self.host, self.port, auth) for _ in range(k)]
        else:
            self._pools = [HttpPool(self.host, self.port, auth) for _ in range(k)]

    async def publish(self, payload: bytes | str, publisher: int = 0) -> None:
        """Start the POST and return once it is under way.

        A failed POST stores nothing, so its message shows up as lost; the next
        ``publish`` on that publisher also raises, so ``publish_errors`` sees it.
        """
        if isinstance(payload, bytes):
            payload = payload.decode()
        if self.failed_publishes:
            self.failed_publishes -= 1
            raise RuntimeError("an earlier message POST failed")
        sem = self._inflight[publisher]
        await sem.acquire()
        body = orjson.dumps({"body": payload})
        if self._pipes:
            answer = self._pipes[publisher].send("POST", self._path, body)
            answer.add_done_callback(lambda done: self._answered(done, sem))
            return
        task = asyncio.create_task(self._post(self._pools[publisher], body, sem))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, pool: HttpPool, body: bytes, sem: asyncio.Semaphore) -> None:
        try:
            self._check(*await pool.request("POST", self._path, body))
        except Exception as exc:
            self._failed(repr(exc))
        finally:
            sem.release()

    def _answered(self, answer: asyncio.Future[tuple[int, bytes]], sem: asyncio.Semaphore) -> None:
        sem.release()
        if answer.cancelled():
            self._failed("cancelled")
        elif answer.exception() is not None:
            self._failed(repr(answer.exception()))
        else:
            self._check(*answer.result())

    def _check(self, status: int, answer: bytes) -> None:
        if status != 201 and status != 200:
            self._failed(f"{status}: {answer[:300].decode(errors='replace')}")

    def _failed(self, why: str) -> None:
        self.failed_publishes += 1
        if len(self.publish_failures) < 5:
            self.publish_failures.append(why)

    async def close_publishers(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        for pool in self._pools:
            pool.close()
        self._pools = []
        for pipe in self._pipes:
            await pipe.drained()
            pipe.close()
        self._pipes = []

    def decode(self, frame: str | bytes) -> dict | None:
        try:
            event = orjson.loads(frame)
        except orjson.JSONDecodeError:
            return None
        if event.get("kind") != "message.posted":
            return None
        try:
            return orjson.loads(event["data"]["message"]["body"])
        except (KeyError, TypeError, orjson.JSONDecodeError):
            return None


class _KeepDir:
    """Stands in for a TemporaryDirectory whose directory outlives the server."""

    def __init__(self, name: str) -> None:
        self.name = name

    def cleanup(self) -> None:
        pass

