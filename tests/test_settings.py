"""Settings: validated once, one clear line on a bad value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from innovate.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"INNOVATE_PUBLIC_URL": "innovate.example.com"}, "INNOVATE_PUBLIC_URL: expected an http(s) URL"),
        ({"INNOVATE_DATABASE_URL": "mysql://x"}, "INNOVATE_DATABASE_URL: expected sqlite:///PATH"),
        ({"INNOVATE_BROKER": "kafka"}, "INNOVATE_BROKER: expected memory, postgres, a redis://"),
        ({"INNOVATE_SECRET_KEY": "short"}, "INNOVATE_SECRET_KEY: expected at least 32 characters"),
        ({"INNOVATE_SESSION_LIFETIME_HOURS": "soon"}, "INNOVATE_SESSION_LIFETIME_HOURS:"),
        ({"INNOVATE_LOG_LEVEL": "loud"}, "INNOVATE_LOG_LEVEL:"),
        ({"INNOVATE_PUBLIC_URL": "https://x.example.com"}, "INNOVATE_SECRET_KEY: required when"),
    ],
)
def test_bad_setting_names_the_setting(env: dict[str, str], expected: str, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)


def test_generated_secret_is_kept_in_the_data_dir(tmp_path: Path) -> None:
    first = load_settings(data_dir=tmp_path)
    second = load_settings(data_dir=tmp_path)
    assert len(first.secret_key) >= 32 and first.secret_key == second.secret_key
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_env_file_is_read(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("INNOVATE_PUBLIC_URL=http://innovate.local:9000\n")
    assert load_settings().public_url == "http://innovate.local:9000"


def test_cli_prints_one_line_and_exits_non_zero(tmp_path: Path) -> None:
    env = {**os.environ, "INNOVATE_BROKER": "kafka", "INNOVATE_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "innovate", "db", "upgrade"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["innovate: INNOVATE_BROKER: expected memory, postgres, a redis://host:port/db URL or redis-cluster://host:port,…"]


def test_public_url_follows_serve_port_unless_set(tmp_path: Path, monkeypatch) -> None:
    from innovate.cli import _default_public_url

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INNOVATE_PUBLIC_URL", raising=False)
    settings = load_settings(data_dir=tmp_path)
    assert _default_public_url(settings, "0.0.0.0", 9001).public_url == "http://127.0.0.1:9001"
    assert os.environ["INNOVATE_PUBLIC_URL"] == "http://127.0.0.1:9001"
    explicit = load_settings(data_dir=tmp_path, public_url="https://innovate.example.com", secret_key="k" * 40)
    assert _default_public_url(explicit, "127.0.0.1", 9001).public_url == "https://innovate.example.com"
