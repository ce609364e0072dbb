"""compose.yaml, the env example, the Dockerfile and the nginx config, read as a sysadmin's
tools would read them (there is no container engine here), and the nginx config run for real
in front of two app servers when nginx is installed."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from innovate.settings import Settings
from tests.databases import in_ci
from tests.servers import ServerProcess, serve

PROJECT_ROOT = Path(__file__).resolve().parents[1]
COMPOSE = PROJECT_ROOT / "compose.yaml"
ENV_EXAMPLE = PROJECT_ROOT / "deploy" / "innovate.env.example"
NGINX_CONF = PROJECT_ROOT / "deploy" / "nginx.conf"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
APP_PORT = 8000


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _env_file_lines(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"{path.name}: not NAME=value: {line!r}"
            values[name.strip()] = value.strip()
    return values


def _app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items()
            if list(s.get("command") or [])[:2] == ["innovate", "serve"]}


def _setting_names() -> set[str]:
    return {f"INNOVATE_{name.upper()}" for name in Settings.model_fields}


# compose.yaml ------------------------------------------------------------------------------


def test_the_stack_has_its_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "proxy"} <= set(services)
    apps = _app_services(compose)
    replicas = sum(int((s.get("deploy") or {}).get("replicas", 1)) for s in apps.values())
    assert replicas >= 2, "two or more app servers"
    assert services["postgres"]["image"].startswith("postgres:")
    assert "healthcheck" in services["postgres"]
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    assert services["redis"]["image"].startswith("redis:")
    assert services["proxy"]["image"].startswith("nginx:")
    assert len(services["proxy"]["ports"]) == 1, "one public port"
    for name, service in services.items():
        if name != "proxy":
            assert not service.get("ports"), f"{name} must not be reachable from outside"


def test_migrations_run_before_the_app_servers(compose: dict[str, Any]) -> None:
    migrate = compose["services"]["migrate"]
    assert migrate["command"] == ["innovate", "db", "upgrade"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert str(migrate.get("restart", "no")) == "no"
    for name, app in _app_services(compose).items():
        assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        assert app["depends_on"]["redis"]["condition"] == "service_healthy", name
        broker = _environment(app).get("INNOVATE_BROKER", "")
        assert broker == "postgres" or broker.startswith("redis://redis:"), name
        command = app["command"]
        assert "--forwarded-allow-ips=*" in command, "behind nginx the app must see client addresses"
        assert str(APP_PORT) in command
        graceful = int(command[command.index("--graceful-timeout") + 1])
        assert int(str(app["stop_grace_period"]).rstrip("s")) > graceful, "Docker must not SIGKILL mid-shutdown"


def test_secrets_come_from_the_env_file(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name in ("postgres", "migrate") or name in _app_services(compose):
            assert "deploy/innovate.env" in service["env_file"], name
        for key, value in _environment(service).items():
            assert not re.search(r"SECRET|PASSWORD|TOKEN", key), f"{name} sets {key} inline; use the env file"
            assert "@" not in value, f"{name}: credentials in {key}"
    gitignore = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert "deploy/innovate.env" in gitignore


def test_every_innovate_variable_is_a_real_setting(compose: dict[str, Any]) -> None:
    known = _setting_names()
    used: set[str] = set()
    for service in compose["services"].values():
        used |= {k for k in _environment(service) if k.startswith("INNOVATE_")}
    example = _env_file_lines(ENV_EXAMPLE)
    used |= {k for k in example if k.startswith("INNOVATE_")}
    assert used, "no settings found"
    assert not used - known, f"not settings: {sorted(used - known)}"
    assert {"INNOVATE_DATABASE_URL", "INNOVATE_SECRET_KEY", "INNOVATE_PUBLIC_URL",
            "INNOVATE_METRICS_TOKEN", "INNOVATE_LOG_FORMAT"} <= set(example)


def test_env_example_refuses_to_run_unedited() -> None:
    """The placeholders must stop the app rather than become real secrets."""
    from innovate.settings import SettingsError, load_settings

    example = _env_file_lines(ENV_EXAMPLE)
    assert "CHANGE-ME" in example["INNOVATE_SECRET_KEY"]
    overrides = {k.removeprefix("INNOVATE_").lower(): v for k, v in example.items() if k.startswith("INNOVATE_")}
    with pytest.raises(SettingsError, match="INNOVATE_SECRET_KEY"):
        load_settings(**overrides)
    assert example["POSTGRES_PASSWORD"] in example["INNOVATE_DATABASE_URL"]


def test_readme_documents_deploying() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "## Deploying" in readme
    for phrase in ("cp deploy/innovate.env.example deploy/innovate.env", "docker compose up",
                   "--forwarded-allow-ips", "INNOVATE_METRICS_TOKEN", "innovate db backup",
                   "innovate db restore", "pg_dump", "pg_restore", "--workers"):
        assert phrase in readme, phrase
    for name in _setting_names():
        if name in ("INNOVATE_METRICS_TOKEN", "INNOVATE_METRICS_PORT", "INNOVATE_LOG_FORMAT"):
            assert f"`{name}`" in readme, f"{name} missing from the configuration table"


# Dockerfile --------------------------------------------------------------------------------


def _dockerfile_stages(text: str) -> list[list[tuple[str, str]]]:
    """(INSTRUCTION, arguments) of each stage; continuation lines are left out."""
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        if not line or line.startswith((" ", "#")):
            continue
        name, _, rest = line.partition(" ")
        if name.upper() == "FROM":
            stages.append([])
        stages[-1].append((name.upper(), rest.strip()))
    return stages


def test_dockerfile_builds_the_wheel_and_the_image_installs_only_the_wheel() -> None:
    text = DOCKERFILE.read_text()
    stages = _dockerfile_stages(text)
    assert len(stages) == 2, "a stage that builds the wheel, and the image that installs it"
    build, runtime = stages
    assert re.fullmatch(r"python:3\.11-slim\S* AS build", build[0][1])
    assert runtime[0][1].startswith("python:3.11-slim")

    build_copied = {source for name, rest in build if name == "COPY" for source in rest.split()[:-1]}
    assert build_copied == {"pyproject.toml", "setup.py", "README.md", "src"}, "tests/test_wheel.py builds from the same"
    assert any(name == "RUN" and "pip wheel" in rest for name, rest in build)

    # The runtime stage copies only what the build stage made: no source tree in the image.
    assert all(rest.startswith("--from=build ") for name, rest in runtime if name in ("COPY", "ADD"))
    runtime_text = text[text.index(f"FROM {runtime[0][1]}"):]
    assert re.search(r"pip install --no-deps /tmp/dist/innovate-\*\.whl", runtime_text)
    assert "pip check" in runtime_text
    assert not re.search(r"pip install[^\n]*(\s-e\s|--editable)", text), "no editable install"

    by_name: dict[str, list[str]] = {}
    for name, rest in runtime:
        by_name.setdefault(name, []).append(rest)
    assert by_name["USER"][-1] not in ("root", "0")
    assert "/healthz" in runtime_text.split("HEALTHCHECK", 1)[1]
    command = json.loads(by_name["CMD"][-1])
    assert command[:2] == ["innovate", "serve"] and "0.0.0.0" in command


def _dockerignore_excludes(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves ``path`` (relative to the context) out of the build context: the
    last pattern matching the path or one of its parent directories decides; ``!`` re-includes."""
    parents = ["/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 2)]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.removeprefix("!").strip("/")
        regex = ""
        i = 0
        while i < len(glob):
            if glob.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif glob.startswith("**", i):
                regex, i = regex + ".*", i + 2
            else:
                regex += {"*": "[^/]*", "?": "[^/]"}.get(glob[i], re.escape(glob[i]))
                i += 1
        if any(re.fullmatch(regex, parent) for parent in parents):
            excluded = not negated
    return excluded


def test_the_build_context_is_what_the_build_copies_and_never_a_secret() -> None:
    patterns = [line.strip() for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    package = [p.relative_to(PROJECT_ROOT).as_posix() for p in (PROJECT_ROOT / "src").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p)]
    assert "src/innovate/templates/base.html" in package
    for path in ["pyproject.toml", "README.md", *package]:
        assert not _dockerignore_excludes(path, patterns), path
    others = [name for name in os.listdir(PROJECT_ROOT) if name not in ("pyproject.toml", "README.md", "src")]
    for path in [*others, ".git/config", ".venv/bin/python", "deploy/innovate.env", ".env", "data/innovate.db",
                 "tests/conftest.py", "src/innovate/__pycache__/app.cpython-311.pyc", "src/innovate.egg-info/PKG-INFO"]:
        assert _dockerignore_excludes(path, patterns), path


# nginx -------------------------------------------------------------------------------------


def _directives(conf: str) -> list[tuple[str, list[str], tuple[str, ...]]]:
    """(name, args, enclosing blocks) for each directive of an nginx config."""
    tokens = re.findall(r"'[^']*'|\"[^\"]*\"|[{};]|[^\s{};]+", re.sub(r"#[^\n]*", "", conf))
    found: list[tuple[str, list[str], tuple[str, ...]]] = []
    stack: list[str] = []
    current: list[str] = []
    for token in tokens:
        if token == "{":
            stack.append(" ".join(current))
            current = []
        elif token == "}":
            stack.pop()
        elif token == ";":
            found.append((current[0], current[1:], tuple(stack)))
            current = []
        else:
            current.append(token)
    assert not stack, "unbalanced braces"
    return found


def test_proxy_forwards_websocket_upgrades_to_every_app(compose: dict[str, Any]) -> None:
    proxy = compose["services"]["proxy"]
    mounted = [v for v in proxy["volumes"] if v.startswith("./deploy/nginx.conf:")]
    assert mounted and mounted[0].split(":")[1].startswith("/etc/nginx/conf.d/")
    directives = _directives(NGINX_CONF.read_text())

    upgrade_map = [(name, args) for name, args, blocks in directives
                   if blocks == ("map $http_upgrade $connection_upgrade",)]
    assert ("default", ["upgrade"]) in upgrade_map

    upstream_servers = {args[0] for name, args, blocks in directives if name == "server" and blocks
                        and blocks[0].startswith("upstream")}
    expected = {f"{name}:{APP_PORT}" for name in _app_services(compose)}
    assert upstream_servers == expected

    location = [(name, args) for name, args, blocks in directives if blocks[-1:] == ("location /",)]
    assert ("proxy_pass", ["http://innovate"]) in location
    assert ("proxy_http_version", ["1.1"]) in location
    assert ("proxy_set_header", ["Upgrade", "$http_upgrade"]) in location
    assert ("proxy_set_header", ["Connection", "$connection_upgrade"]) in location
    assert ("proxy_set_header", ["X-Forwarded-For", "$remote_addr"]) in location
    assert ("proxy_set_header", ["X-Forwarded-For", "$proxy_add_x_forwarded_for"]) not in location
    read_timeout = dict(location)["proxy_read_timeout"][0]
    assert read_timeout.endswith("h") or int(read_timeout.rstrip("s")) >= 300, "live sockets outlive 60s"


# The nginx config, for real ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _nginx_for(tmp: Path, listen: int, apps: list[ServerProcess]) -> Path:
    """deploy/nginx.conf with the compose host names pointed at local servers, inside a
    minimal main config like the nginx image's."""
    conf = NGINX_CONF.read_text()
    for i, app in enumerate(apps, start=1):
        conf = conf.replace(f"app{i}:{APP_PORT}", f"127.0.0.1:{app.port}")
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    conf = conf.replace("/var/log/nginx/", f"{tmp}/")
    (tmp / "default.conf").write_text(conf)
    main = tmp / "nginx.conf"
    temp = " ".join(f"{kind}_temp_path {tmp}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main.write_text(
        f"daemon off; worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/error.log;\n"
        f"events {{ worker_connections 256; }}\n"
        f"http {{ {temp} include {tmp}/default.conf; }}\n"
    )
    return main


def _websocket_handshake(port: int, path: str) -> int:
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


def _nginx() -> str:
    """The nginx binary (Debian puts it in /usr/sbin, outside a user's PATH). Without it the
    test skips on a developer's machine; CI must run it (scripts/install-test-deps installs it)."""
    found = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    if found is None:
        if in_ci():
            pytest.fail("CI requires nginx (apt-get install nginx-light)")
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    return found


def test_nginx_config_balances_forwards_upgrades_and_hides_metrics(tmp_path: Path) -> None:
    nginx_binary = _nginx()
    database = tmp_path / "shared.db"
    env = {
        "INNOVATE_DATABASE_URL": f"sqlite:///{database}",
        "INNOVATE_DATA_DIR": str(tmp_path / "data"),
        "INNOVATE_SECRET_KEY": "nginx-test-secret-" + "k" * 32,
        "INNOVATE_LOG_FORMAT": "json",
        "INNOVATE_METRICS_TOKEN": "metrics-" + "t" * 32,
    }
    apps: list[ServerProcess] = []
    nginx: subprocess.Popen[bytes] | None = None
    try:
        for name in ("app1", "app2"):
            (tmp_path / name).mkdir()
            apps.append(serve(tmp_path / name, env, "--forwarded-allow-ips=*", name=name))
        listen = _free_port()
        nginx_dir = tmp_path / "nginx"
        nginx_dir.mkdir()
        config = _nginx_for(nginx_dir, listen, apps)
        nginx = subprocess.Popen([nginx_binary, "-c", str(config), "-p", str(nginx_dir)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{listen}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert nginx.poll() is None and time.monotonic() < deadline, (nginx.stderr.read() if nginx.stderr else b"")
            time.sleep(0.05)

        with httpx.Client(base_url=base) as http:
            made = http.get("/healthz")
            assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
            kept = http.get("/healthz", headers={"X-Request-ID": "through-nginx-0001"})
            assert kept.headers["x-request-id"] == "through-nginx-0001"
            for _ in range(6):
                assert http.get("/login", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 200
            token = env["INNOVATE_METRICS_TOKEN"]
            assert http.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 404
        # The app answers a WebSocket handshake on an HTTP-only path with 403; without the
        # Upgrade/Connection headers it would have answered the plain GET with 200.
        assert _websocket_handshake(listen, "/healthz") == 403

        for app in apps:
            access = [json.loads(line) for line in app.stdout.read_text().splitlines() if line.startswith("{")]
            logins = [e for e in access if e.get("http", {}).get("path") == "/login"]
            assert logins, "round robin reaches every replica"
            assert all(e["http"]["client"].startswith("127.0.0.1") for e in logins), "forged X-Forwarded-For ignored"
            assert "203.0.113.9" not in app.logs()

        # A replica that stops: nginx sends everything to the other one.
        assert apps[0].stop(signal.SIGTERM) in ServerProcess.CLEAN_EXITS
        with httpx.Client(base_url=base) as http:
            assert all(http.get("/healthz").status_code == 200 for _ in range(6))
    finally:
        if nginx is not None and nginx.poll() is None:
            nginx.send_signal(signal.SIGQUIT)
            try:
                nginx.wait(15)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait(5)
        for app in apps:
            app.stop()


def test_forwarded_headers_count_only_from_configured_proxies(tmp_path: Path) -> None:
    """`--forwarded-allow-ips` decides whose X-Forwarded-For becomes the client address
    (what the sign-in and invite throttles key on)."""
    env = {"INNOVATE_DATA_DIR": str(tmp_path / "data"), "INNOVATE_LOG_FORMAT": "json",
           "INNOVATE_SECRET_KEY": "forwarded-test-secret-" + "k" * 32}
    seen: dict[str, set[str]] = {}
    for name, args in (("trusted", ["--forwarded-allow-ips", "127.0.0.1"]), ("untrusted", [])):
        (tmp_path / name).mkdir()
        server = serve(tmp_path / name, env, *args, name=name)
        try:
            reply = httpx.get(f"{server.url}/login", headers={"X-Forwarded-For": "198.51.100.7"})
            assert reply.status_code == 200
        finally:
            assert server.stop() in ServerProcess.CLEAN_EXITS
        access = [json.loads(line) for line in server.stdout.read_text().splitlines() if line.startswith("{")]
        seen[name] = {e["http"]["client"].rsplit(":", 1)[0] for e in access if e["http"]["path"] == "/login"}
    assert seen == {"trusted": {"198.51.100.7"}, "untrusted": {"127.0.0.1"}}
