"""The package as it ships: a wheel built from pyproject.toml, setup.py, README.md and src/ (what the
Dockerfile's build stage copies), installed with its dependencies into a fresh virtualenv
that cannot see the source tree, migrates a database and serves pages with their CSS and
htmx."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from innovate.migrations import head_revision
from tests.servers import ServerProcess, serve

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = PROJECT_ROOT / "src" / "innovate"
# What the installed app needs beside its modules; every file in these folders must ship.
DATA_FOLDERS = ("templates", "static", "migrations", "locale")
# Variables that would let the virtualenv's Python find the source tree or another installation.
UNSET = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")

# Building the wheel and installing its dependencies take a while on a busy machine.
pytestmark = pytest.mark.timeout(600)


@dataclass
class Installed:
    venv: Path
    workdir: Path  # an empty directory: the cwd of every command, far from the source tree
    env: dict[str, str]

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    @property
    def innovate(self) -> str:
        return str(self.venv / "bin" / "innovate")

    def run(self, *argv: str) -> str:
        done = subprocess.run(argv, cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{argv} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return done.stdout


def _run(argv: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{argv} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"


def _shipped_files() -> set[str]:
    """The data files of the package in the source tree, as paths inside the wheel."""
    return {
        path.relative_to(PACKAGE.parent).as_posix()
        for folder in DATA_FOLDERS
        for path in (PACKAGE / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".mo")
    }


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per session, from a copy: a build in the working tree would leave build/ and
    an egg-info there, and setuptools reuses a stale build/lib."""
    source = tmp_path_factory.mktemp("wheel-source")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(PROJECT_ROOT / name, source / name)
    shutil.copytree(PROJECT_ROOT / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "*.mo"))
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(dist), str(source)],
         env={k: v for k, v in os.environ.items() if k not in UNSET})
    (built,) = dist.glob("innovate-*.whl")
    return built


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A virtualenv without pip (this interpreter's pip installs into it) and without the
    system site-packages, holding the wheel and its dependencies resolved from its metadata."""
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", "--clear", str(venv)])
    env = {k: v for k, v in os.environ.items() if k not in UNSET and not k.startswith(("INNOVATE_", "PROMETHEUS_"))}
    # --no-compile: the imports write what bytecode they need.
    _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-compile",
          "--disable-pip-version-check", str(wheel)], env=env)
    workdir = tmp_path_factory.mktemp("wheel-run")
    return Installed(venv=venv, workdir=workdir, env={**env, "INNOVATE_DATA_DIR": str(workdir / "data")})


def test_the_wheel_holds_every_template_static_file_and_migration(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    shipped = _shipped_files()
    assert {"innovate/templates/base.html", "innovate/static/vendor/htmx/htmx.min.js",
            "innovate/migrations/env.py"} <= shipped
    assert shipped - names == set(), "package data missing from the wheel (pyproject.toml [tool.setuptools.package-data])"
    assert "innovate/py.typed" in names
    # The build compiles each language's catalog (no .mo was copied into the source it built from).
    for language in ("de", "fr", "es"):
        assert f"innovate/locale/{language}/LC_MESSAGES/messages.mo" in names


def test_the_installed_wheel_migrates_and_serves_pages_with_their_static_files(installed: Installed) -> None:
    where = json.loads(installed.run(installed.python, "-c",
                                     "import json, sys, innovate; print(json.dumps([innovate.__file__, sys.path]))"))
    module, path = Path(where[0]), where[1]
    assert module.is_relative_to(installed.venv), f"innovate imported from {module}, not from the wheel"
    assert not [p for p in path if p and Path(p).resolve().is_relative_to(PROJECT_ROOT)], path

    upgraded = installed.run(installed.innovate, "db", "upgrade")
    assert f"database is at revision {head_revision()}" in upgraded

    server: ServerProcess = serve(installed.workdir, {"INNOVATE_DATA_DIR": installed.env["INNOVATE_DATA_DIR"]},
                                  name="wheel", program=installed.innovate, unset=UNSET)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            login = http.get("/login")
            assert login.status_code == 200 and "<form" in login.text
            german = http.get("/login", headers={"Accept-Language": "de"})
            assert '<html lang="de">' in german.text and "Anmelden" in german.text
            assets = set(re.findall(r'(?:href|src)="(/static/[^"?]+)', login.text))
            assert any(a.endswith(".css") for a in assets), assets
            assert "/static/vendor/htmx/htmx.min.js" in assets
            for asset in sorted(assets):
                served = http.get(asset)
                assert served.status_code == 200, asset
                assert served.content == (PACKAGE / asset.removeprefix("/")).read_bytes(), asset
    finally:
        assert server.stop() in ServerProcess.CLEAN_EXITS, server.logs()
