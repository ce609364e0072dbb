"""A real OpenID Connect provider for tests (oidc-provider 9.x on Node, see tests/oidc/server.mjs).

Usage::

    from tests.oidc_provider import OidcProvider, complete_login

    clients = [{
        "client_id": "innovate",
        "client_secret": "s3cret",
        "redirect_uris": ["http://127.0.0.1:8000/auth/oidc/callback"],
        "token_endpoint_auth_method": "client_secret_post",  # or "client_secret_basic"
    }]
    accounts = {"alice": {"email": "alice@example.com", "email_verified": True,
                          "name": "Alice", "tid": "tenant-1"}}

    with OidcProvider(clients=clients, accounts=accounts) as op:   # or: async with
        op.issuer            # "http://127.0.0.1:PORT"
        op.discovery_url     # issuer + "/.well-known/openid-configuration"
        ...
        async with httpx.AsyncClient() as http:                   # a real network client
            callback_url = await complete_login(http, authorize_url, "alice")
        # callback_url is the provider's redirect to the client's redirect_uri
        # (?code=..&state=..&iss=..); hand it to the app's callback.

The account id is the ``sub``. Scopes: openid -> sub, tid; email -> email, email_verified;
profile -> name (and the other standard profile claims the account has). Scope claims are also put
into the id_token, which carries the request's ``nonce``. PKCE accepts S256 only; it is required
for public clients (``token_endpoint_auth_method: "none"``) or for all clients with
``require_pkce=True``.

Needs ``node`` on PATH; installs tests/oidc/node_modules with ``npm ci`` on first use.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import termios
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
SERVER_SCRIPT = OIDC_DIR / "server.mjs"
STARTUP_TIMEOUT = 25.0
# A silent start is retried this often (see OidcProvider.start).
START_ATTEMPTS = 3

__all__ = ["OidcProvider", "OidcProviderError", "OidcProviderStartWarning", "complete_login", "ensure_node_modules"]


class OidcProviderError(RuntimeError):
    """The test provider could not be installed, started, or driven through a login."""


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_node_modules() -> None:
    """Run ``npm ci`` in tests/oidc unless ``node_modules/oidc-provider`` already exists.

    Guarded by a lock file in the temp dir so parallel test workers install only once.
    """
    marker = OIDC_DIR / "node_modules" / "oidc-provider" / "package.json"
    if marker.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise OidcProviderError("npm is not on PATH; it is needed to install tests/oidc (oidc-provider)")
    digest = hashlib.sha256(str(OIDC_DIR).encode()).hexdigest()[:16]
    lock = Path(tempfile.gettempdir()) / f"innovate-oidc-npm-{digest}.lock"
    with _file_lock(lock):
        if marker.exists():
            return
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=OIDC_DIR,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0 or not marker.exists():
            raise OidcProviderError(
                f"`npm ci` in {OIDC_DIR} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
            )


class OidcProviderStartWarning(UserWarning):
    """A provider start stayed silent and was retried; the message says what node was doing."""


def _silent_start_report(process: subprocess.Popen[str], report_dir: Path, stdout_reader: threading.Thread,
                         waited: float) -> str:
    """What a provider that has not reported ready is doing, read from /proc and from node itself.

    Tells apart a node that is stuck (its state and kernel wait channel, its JavaScript stack from
    a diagnostic report) from a ready line that was written but not read here (bytes left in the
    pipe, a reader thread that is gone).
    """
    facts = [f"no ready line after {waited:.0f} s", f"pid {process.pid}", f"exit status {process.poll()}"]
    proc = Path(f"/proc/{process.pid}")
    with contextlib.suppress(OSError, IndexError):
        state = (proc / "stat").read_text().rpartition(")")[2].split()[0]
        wchan = (proc / "wchan").read_text().strip()
        facts.append(f"state {state}, waits in {wchan if wchan not in ('', '0') else '(nothing: running)'}")
    with contextlib.suppress(OSError):
        waits = sorted({(task / "wchan").read_text().strip() for task in (proc / "task").iterdir()})
        facts.append(f"threads wait in: {', '.join(waits)}")
    assert process.stdout is not None
    with contextlib.suppress(OSError, ValueError):
        unread = array.array("i", [0])
        fcntl.ioctl(process.stdout.fileno(), termios.FIONREAD, unread)
        facts.append(f"unread bytes on stdout: {unread[0]}")
    facts.append(f"stdout reader alive: {stdout_reader.is_alive()}")
    if process.poll() is None:
        with contextlib.suppress(OSError):
            os.kill(process.pid, signal.SIGUSR2)
            facts.append(f"node report: {_node_report(report_dir)}")
    return "; ".join(facts)


def _node_report(report_dir: Path, wait: float = 3.0) -> str:
    """The JavaScript stack from the report node writes on SIGUSR2, if it writes one in time."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for path in report_dir.glob("*.json"):
            with contextlib.suppress(OSError, ValueError):
                stack = json.loads(path.read_text()).get("javascriptStack", {})
                frames = [frame.strip() for frame in stack.get("stack", []) if frame.strip()]
                where = " | ".join([stack.get("message", "").strip(), *frames[:8]]).strip(" |")
                return where or "no JavaScript running (idle in the event loop)"
        time.sleep(0.1)
    return "none within 3 s (the main thread did not get to it)"


class OidcProvider:
    """Runs ``node tests/oidc/server.mjs`` on 127.0.0.1 (a free port unless ``port`` is given).

    Use as a (sync or async) context manager, or call :meth:`start` / :meth:`stop` yourself.
    ``startup_timeout`` is the wait for the first start's ready line, ``retry_timeout`` (by
    default the same) the wait of each start after a silent one.
    """

    def __init__(
        self,
        clients: Sequence[Mapping[str, Any]],
        accounts: Mapping[str, Mapping[str, Any]],
        *,
        port: int = 0,
        require_pkce: bool = False,
        claims: Mapping[str, Sequence[str]] | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
        retry_timeout: float | None = None,
        start_attempts: int = START_ATTEMPTS,
        script: Path = SERVER_SCRIPT,
    ) -> None:
        self.clients = [dict(client) for client in clients]
        self.accounts = {account_id: dict(claims_) for account_id, claims_ in accounts.items()}
        self.requested_port = port
        self.require_pkce = require_pkce
        self.claims = {scope: list(names) for scope, names in (claims or {}).items()}
        self.startup_timeout = startup_timeout
        self.retry_timeout = startup_timeout if retry_timeout is None else retry_timeout
        self.start_attempts = start_attempts
        self.script = script
        self._issuer: str | None = None
        self._port: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._config_path: Path | None = None
        self._stderr: list[str] = []
        self._stderr_thread: threading.Thread | None = None
        self._stdout_thread: threading.Thread | None = None

    @property
    def issuer(self) -> str:
        if self._issuer is None:
            raise OidcProviderError("the provider is not running")
        return self._issuer

    @property
    def port(self) -> int:
        if self._port is None:
            raise OidcProviderError("the provider is not running")
        return self._port

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def stderr(self) -> str:
        """What the provider wrote on stderr so far (warnings, unknown-account notices, errors)."""
        return "".join(self._stderr)

    def start(self) -> Self:
        """Start the provider; a start that stays silent is diagnosed, killed and tried again.

        A healthy start takes about a second. On a loaded CI machine a node process has stayed
        silent for a whole 90 s wait while the next start in the same run was fine, so one silent
        start must not fail a whole test module. Every silent start is reported as a warning with what the
        process was doing, so a pattern shows in the CI log even when a retry saves the run.
        """
        if self._process is not None:
            raise OidcProviderError("the provider is already running")
        node = shutil.which("node")
        if node is None:
            raise OidcProviderError("node is not on PATH; it is needed to run tests/oidc/server.mjs")
        ensure_node_modules()
        reports: list[str] = []
        for attempt in range(1, self.start_attempts + 1):
            report = self._start_once(node, self.startup_timeout if attempt == 1 else self.retry_timeout)
            if report is None:
                return self
            reports.append(f"attempt {attempt}: {report}")
            warnings.warn(f"the OIDC provider stayed silent; {reports[-1]}", OidcProviderStartWarning, stacklevel=2)
        raise OidcProviderError(
            f"the OIDC provider did not report ready in {self.start_attempts} attempts:\n" + "\n".join(reports)
        )

    def _start_once(self, node: str, timeout: float) -> str | None:
        """One start: None once ready, or a report of a start that stayed silent (and was stopped).

        A provider that exits or prints something unexpected fails at once: that is a real error,
        not something a retry should hide.
        """
        config = {
            "clients": self.clients,
            "accounts": self.accounts,
            "require_pkce": self.require_pkce,
            "claims": self.claims,
        }
        fd, name = tempfile.mkstemp(prefix="innovate-oidc-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump(config, handle)
        self._config_path = Path(name)
        report_dir = Path(tempfile.mkdtemp(prefix="innovate-oidc-report-"))

        self._stderr = []
        process = subprocess.Popen(
            [node, "--report-on-signal", "--report-signal=SIGUSR2", f"--report-directory={report_dir}",
             str(self.script), name, str(self.requested_port)],
            cwd=OIDC_DIR,
            stdin=subprocess.PIPE,  # closed on stop (or when this process dies): the server exits
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "OIDC_EXIT_ON_STDIN_EOF": "1"},
        )
        self._process = process
        assert process.stdout is not None and process.stderr is not None

        lines: queue.Queue[str | None] = queue.Queue()

        def read_stdout() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.put(line)
            lines.put(None)

        def read_stderr() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                self._stderr.append(line)

        self._stdout_thread = threading.Thread(target=read_stdout, name="oidc-stdout", daemon=True)
        self._stderr_thread = threading.Thread(target=read_stderr, name="oidc-stderr", daemon=True)
        self._stdout_thread.start()
        self._stderr_thread.start()

        try:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                report = _silent_start_report(process, report_dir, self._stdout_thread, timeout)
                self.stop()
                return f"{report}; stderr: {self.stderr.strip() or '(nothing)'}"
        finally:
            shutil.rmtree(report_dir, ignore_errors=True)
        if line is None:
            code = process.wait(timeout=5)
            self.stop()
            raise OidcProviderError(f"the OIDC provider exited with code {code} before ready; stderr:\n{self.stderr}")
        try:
            ready = json.loads(line)
            self._issuer = str(ready["issuer"])
            self._port = int(ready["port"])
        except (ValueError, KeyError, TypeError) as exc:
            self.stop()
            raise OidcProviderError(f"unexpected ready line {line!r}; stderr:\n{self.stderr}") from exc
        return None

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(OSError):
                if process.stdin is not None:
                    process.stdin.close()
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
            for thread in (self._stdout_thread, self._stderr_thread):
                if thread is not None:
                    thread.join(timeout=5)
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()
        if self._config_path is not None:
            self._config_path.unlink(missing_ok=True)
            self._config_path = None
        self._issuer = None
        self._port = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        import asyncio

        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        import asyncio

        await asyncio.to_thread(self.stop)


class _Form:
    def __init__(self, action: str | None, method: str) -> None:
        self.action = action
        self.method = method
        self.fields: dict[str, str] = {}


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self._current: _Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._current = _Form(attributes.get("action"), attributes.get("method", "get").lower())
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and attributes.get("name"):
            self._current.fields[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


async def complete_login(
    http: httpx.AsyncClient,
    authorize_url: str,
    account_id: str,
    *,
    password: str = "any",
    max_steps: int = 20,
) -> httpx.URL:
    """Log ``account_id`` in at the test provider and consent, starting from ``authorize_url``.

    Follows the provider's redirects itself, posts the dev login form (``prompt=login``,
    ``login=account_id``, ``password``) and the consent form (``prompt=consent``), and returns the
    first redirect that leaves the provider's origin, i.e. ``{redirect_uri}?code=..&state=..&iss=..``
    (or ``?error=..`` if the provider refused). ``http`` must reach the provider over the network
    (a plain ``httpx.AsyncClient()``, not one bound to the app's ASGI transport); it keeps the
    provider's interaction cookies, so use one client per login.
    """
    provider = _origin(httpx.URL(authorize_url))
    method, url, data = "GET", httpx.URL(authorize_url), None
    logins = 0
    for _ in range(max_steps):
        response = await http.request(method, url, data=data, follow_redirects=False)
        if response.is_redirect:
            location = url.join(response.headers["location"])
            if _origin(location) != provider:
                return location
            method, url, data = "GET", location, None
            continue
        if response.status_code != 200:
            hint = f" (after login={account_id!r}: is it one of the provider's accounts?)" if logins else ""
            raise OidcProviderError(
                f"provider answered {response.status_code} to {method} {url}{hint}: {response.text[:2000]}"
            )
        parser = _FormParser()
        parser.feed(response.text)
        form = next((f for f in parser.forms if "prompt" in f.fields), None)
        if form is None:
            raise OidcProviderError(f"no login/consent form at {url}: {response.text[:2000]}")
        fields = dict(form.fields)
        prompt = fields["prompt"]
        if prompt == "login":
            logins += 1
            if logins > 1:
                raise OidcProviderError(
                    f"the provider asked to log in again after login={account_id!r}; is it one of the accounts?"
                )
            fields["login"] = account_id
            fields["password"] = password
        elif prompt != "consent":
            raise OidcProviderError(f"unexpected interaction prompt {prompt!r} at {url}")
        method = "POST" if form.method == "post" else "GET"
        url, data = url.join(form.action or str(url)), fields
        if method == "GET":
            url, data = url.copy_merge_params(fields), None
    raise OidcProviderError(f"login did not reach the client's redirect_uri within {max_steps} steps")
