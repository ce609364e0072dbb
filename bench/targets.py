"""Drivers for the servers under test.

A target is used from two processes:

* the orchestrator (``bench/run.py``) calls ``start()``/``stop()`` and reads
  ``pid``; the server runs in its own process pinned to CPU 0;
* the load generator (``bench/load.py``, pinned to CPU 1) rebuilds the target
  from ``spec()`` with ``from_spec()`` and uses the client-side methods.

Targets are registered by their ``name`` in ``TARGETS`` with ``@register``;
``run.py --targets`` selects them by that name.
"""

from __future__ import annotations

import abc
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Protocol

from bench import wsclient

BENCH_DIR = Path(__file__).resolve().parent
SERVERS_DIR = BENCH_DIR / "servers"

try:  # orjson is a project dependency; json is the fallback.
    import orjson

    _loads: Callable[[str | bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover
    _loads = json.loads

TARGETS: dict[str, type[Target]] = {}


class ServerDir(Protocol):
    """Where a server keeps its files: a TemporaryDirectory, or one that outlives the server."""

    name: str

    def cleanup(self) -> None: ...


def register(cls: type[Target]) -> type[Target]:
    TARGETS[cls.name] = cls
    return cls


def from_spec(spec: dict[str, Any]) -> Target:
    """Rebuild a started target in another process (client side only)."""
    cls = TARGETS[spec["name"]]
    return cls(host=spec["host"], port=spec["port"], **spec.get("options", {}))


class TargetError(RuntimeError):
    pass


class Target(abc.ABC):
    """A server under test and how clients talk to it.

    A new target (one subclass, decorated with ``@register``) must provide:

    * ``name``: registry key, used on the command line and in results;
    * ``server_command(port, ready_file) -> list[str]``: argv that starts the
      server; it must bind ``127.0.0.1:port`` (an ephemeral port when 0) and
      write the bound port to ``ready_file`` once it accepts connections.
      ``start()`` runs it under ``taskset -c 0``.  Override ``start()`` /
      ``stop()`` (calling ``super()``) for setup such as creating a database,
      a room and bearer tokens;
    * ``subscriber_url(i)`` and, when needed, ``subscriber_headers(i)`` (e.g.
      ``{"Authorization": "Bearer ..."}``) for subscriber number ``i``;
    * ``subscribe_handshake(ws)``: what a subscriber does after the WebSocket
      opens, returning once it is subscribed (``ws`` has ``await send()`` and
      ``await recv()``);
    * ``open_publishers(k)``, ``publish(payload, publisher=0)`` and
      ``close_publishers()``: how a message is published (a WebSocket frame,
      an HTTP POST, ...);
    * ``decode(frame)``: the publisher's payload (a dict with ``t``, ``n`` and
      ``p``) extracted from a received frame, or ``None`` if the frame is not a
      published message;
    * ``keepalive``: text frames the client must answer (application pings)
      mapped to the reply; they are not counted as deliveries;
    * ``message_prefix``: the bytes every frame carrying a published message
      starts with, if the server also sends other data frames (presence,
      history...): sinks count only frames with that prefix.

    Everything the client side needs (tokens, room slug, ...) must be in
    ``options`` so that ``spec()`` carries it to the load-generator process.
    """

    name: ClassVar[str]
    keepalive: ClassVar[dict[str, str]] = {}
    message_prefix: ClassVar[bytes | None] = None

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        self.host = host
        self.port = port
        self.options = options
        self.cpu = str(options.get("cpu", "0"))
        self._proc: subprocess.Popen | None = None
        self._tmpdir: ServerDir | None = None
        self._log_path: Path | None = None
        self._publishers: list = []

    # -- orchestrator side -----------------------------------------------------

    @abc.abstractmethod
    def server_command(self, port: int, ready_file: str) -> list[str]:
        """argv of the server process (without the ``taskset`` prefix)."""

    def start(self, timeout: float = 30.0) -> None:
        """Start the server pinned to ``self.cpu`` and wait until it listens."""
        if self._proc is not None:
            raise TargetError(f"{self.name}: already started")
        self._tmpdir = tempfile.TemporaryDirectory(prefix=f"bench-{self.name}-")
        ready = os.path.join(self._tmpdir.name, "ready")
        self._log_path = Path(self._tmpdir.name) / "server.log"
        argv = ["taskset", "-c", self.cpu, *self.server_command(self.port, ready)]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self._log_path, "wb") as log:
            self._proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(ready):
                with open(ready) as f:
                    written = f.read().strip()
                if written:  # a server that wrote the file in place may not have finished
                    self.port = int(written)
                    return
            if self._proc.poll() is not None:
                break
            time.sleep(0.02)
        output = self.server_log()
        self.stop()
        raise TargetError(f"{self.name}: server did not become ready\n{output}")

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None
        self.port = 0

    def server_log(self, limit: int = 4000) -> str:
        if self._log_path is None:
            return ""
        try:
            return self._log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    @property
    def pid(self) -> int | None:
        """Server process id (for /proc CPU and RSS readings)."""
        return self._proc.pid if self._proc is not None else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "host": self.host, "port": self.port, "options": self.options}

    def __enter__(self) -> Target:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- load-generator side ---------------------------------------------------

    @property
    def base_ws(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @abc.abstractmethod
    def subscriber_url(self, i: int) -> str:
        """WebSocket URL for subscriber number ``i``."""

    def subscriber_headers(self, i: int) -> dict[str, str]:
        return {}

    async def subscribe_handshake(self, ws) -> None:  # noqa: B027 - an optional hook: most targets need none
        """Sent/awaited after a subscriber's WebSocket opens (default: nothing)."""

    @abc.abstractmethod
    async def open_publishers(self, k: int) -> None:
        """Prepare ``k`` independent publishers (connections, HTTP clients...)."""

    @abc.abstractmethod
    async def publish(self, payload: bytes | str, publisher: int = 0) -> None:
        """Publish one message (the JSON text of the probe payload)."""

    async def close_publishers(self) -> None:
        for p in self._publishers:
            try:
                p.abort()
            except Exception:
                pass
        self._publishers = []

    @abc.abstractmethod
    def decode(self, frame: str | bytes) -> dict | None:
        """Probe payload ``{"t": ns, "n": seq, "p": publisher}`` or ``None``."""


@register
class RawTarget(Target):
    """A: ``websockets.broadcast()`` with nothing around it."""

    name = "raw"

    def server_command(self, port: int, ready_file: str) -> list[str]:
        return [
            sys.executable,
            str(SERVERS_DIR / "raw_websockets.py"),
            "--host", self.host,
            "--port", str(port),
            "--ready-file", ready_file,
            "--loop", self.options.get("loop", "auto"),
        ]

    def subscriber_url(self, i: int) -> str:
        return f"{self.base_ws}/sub"

    async def open_publishers(self, k: int) -> None:
        for _ in range(k):
            self._publishers.append(await wsclient.connect(f"{self.base_ws}/pub"))

    async def publish(self, payload: bytes | str, publisher: int = 0) -> None:
        if isinstance(payload, bytes):
            payload = payload.decode()
        self._publishers[publisher].send_nowait(payload)

    def decode(self, frame: str | bytes) -> dict | None:
        try:
            return _loads(frame)
        except ValueError:
            return None


@register
class NodeWsTarget(RawTarget):
    """D: Node.js ``ws`` with the documented ``clients.forEach(send)`` loop; same protocol as A.
    Its package is installed from ``bench/servers/node/package-lock.json`` (``make bench-deps``)."""

    name = "node_ws"

    def server_command(self, port: int, ready_file: str) -> list[str]:
        script = SERVERS_DIR / "node" / "ws_server.mjs"
        if not (script.parent / "node_modules" / "ws").is_dir():
            raise TargetError("node_ws: run `make bench-deps` (npm ci in bench/servers/node) first")
        return ["node", str(script), "--host", self.host, "--port", str(port), "--ready-file", ready_file]


@register
class SocketIOTarget(Target):
    """C: python-socketio (ASGI) on uvicorn; clients speak Engine.IO v4 directly."""

    name = "socketio"
    # Engine.IO ping ("2") / pong ("3").
    keepalive = {"2": "3"}
    message_prefix = b'42["msg",'
    ROOM = "bench"

    def server_command(self, port: int, ready_file: str) -> list[str]:
        return [
            sys.executable,
            str(SERVERS_DIR / "socketio_server.py"),
            "--host", self.host,
            "--port", str(port),
            "--ready-file", ready_file,
            "--loop", self.options.get("loop", "auto"),
        ]

    def subscriber_url(self, i: int) -> str:
        return f"{self.base_ws}/socket.io/?EIO=4&transport=websocket"

    async def _connect_namespace(self, ws, auth: dict | None) -> None:
        opening = await ws.recv()  # Engine.IO OPEN: 0{"sid":...,"pingInterval":...}
        if not isinstance(opening, str) or not opening.startswith("0"):
            raise wsclient.HandshakeError(f"unexpected Engine.IO open packet {opening!r}")
        await ws.send("40" + (json.dumps(auth, separators=(",", ":")) if auth else ""))
        while True:  # Socket.IO CONNECT ack: 40{"sid":...}
            msg = await ws.recv()
            if msg == "2":
                await ws.send("3")
            elif isinstance(msg, str) and msg.startswith("40"):
                return
            elif isinstance(msg, str) and msg.startswith("44"):
                raise wsclient.HandshakeError(f"namespace connect refused: {msg}")

    async def subscribe_handshake(self, ws) -> None:
        await self._connect_namespace(ws, {"room": self.ROOM})

    async def open_publishers(self, k: int) -> None:
        for _ in range(k):
            ws = await wsclient.connect(self.subscriber_url(-1))
            ws.set_keepalive(self.keepalive)
            await self._connect_namespace(ws, None)
            ws.count_mode()  # publishers ignore what they receive
            self._publishers.append(ws)

    async def publish(self, payload: bytes | str, publisher: int = 0) -> None:
        if isinstance(payload, bytes):
            payload = payload.decode()
        self._publishers[publisher].send_nowait('42["pub",' + payload + "]")

    def decode(self, frame: str | bytes) -> dict | None:
        if not (frame.startswith("42") if isinstance(frame, str) else frame.startswith(b"42")):
            return None
        try:
            event = _loads(frame[2:])
        except ValueError:
            return None
        if event and event[0] == "msg" and len(event) > 1:
            return event[1]
        return None
