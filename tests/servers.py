"""Real ``innovate serve`` processes for tests: started on port 0, found by their startup log
line, stopped with SIGTERM the way a process manager does."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

INNOVATE = str(Path(sys.executable).with_name("innovate"))
_RUNNING = re.compile(r"Uvicorn running on https?://[^:\s]+:(\d+)")


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    port: int = 0
    env: dict[str, str] = field(default_factory=dict)

    # uvicorn finishes its graceful shutdown, then re-raises the signal it caught.
    CLEAN_EXITS = (0, -signal.SIGTERM, -signal.SIGINT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return int(self.process.returncode)


def serve(tmp: Path, env: dict[str, str], *args: str, name: str = "server", timeout: float = 60.0,
          program: str = INNOVATE, unset: Sequence[str] = ()) -> ServerProcess:
    """Start ``innovate serve --port 0 ARGS`` with ``env`` on top of a clean INNOVATE_* environment
    (without the variables named in ``unset``), and wait until it answers ``/healthz``.
    ``program`` is another installation's ``innovate`` command."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("INNOVATE_", "PROMETHEUS_")) and k not in unset}
    full_env = {**base, "INNOVATE_LOG_LEVEL": "info", **env}
    stdout, stderr = tmp / f"{name}.out", tmp / f"{name}.err"
    process = subprocess.Popen(
        [program, "serve", "--host", "127.0.0.1", "--port", "0", *args],
        env=full_env, cwd=tmp, stdin=subprocess.DEVNULL,
        stdout=stdout.open("wb"), stderr=stderr.open("wb"),
    )
    server = ServerProcess(process, stdout, stderr, env=full_env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"innovate serve exited with {process.returncode}:\n{server.logs()}")
        match = _RUNNING.search(server.logs())
        if match:
            server.port = int(match.group(1))
            if _healthy(server.url):
                return server
        time.sleep(0.05)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"innovate serve did not come up within {timeout}s:\n{server.logs()}")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
