"""``bench.run``: what a run's results say about the run itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common, run  # noqa: E402


def test_the_revision_is_the_one_measured_not_one_committed_during_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full run takes over an hour; a commit made meanwhile must not be named as the code
    the run measured."""
    revision = ["aaaaaaaaaaaa"]
    monkeypatch.setattr(common, "source_revision", lambda: revision[0])

    def run_all(*args: Any) -> dict:
        revision[0] = "bbbbbbbbbbbb"  # committed while the scenarios ran
        return {}

    monkeypatch.setattr(run, "run_all", run_all)
    monkeypatch.setattr(run, "RESULTS_MD", tmp_path / "RESULTS.md")
    out = tmp_path / "run.json"
    assert run.main(["--targets", "innovate", "--scenarios", "idle_memory", "--output", str(out)]) == 0
    assert json.loads(out.read_text())["machine"]["revision"] == "aaaaaaaaaaaa"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_results_and_notes_of_earlier_runs_do_not_count_as_changes_to_the_measured_code(tmp_path: Path) -> None:
    """A results file left by the last run, or a note written while one runs, is not code:
    the revision stays clean until the measured code changes."""
    for name in ("src/app.py", "bench/run.py", "bench/README.md", "bench/RESULTS.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("one\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "one")
    (tmp_path / "bench/results").mkdir()
    (tmp_path / "bench/results/2026-01-01T00-00-00Z.json").write_text("{}")
    (tmp_path / "bench/README.md").write_text("two\n")
    (tmp_path / "bench/RESULTS.md").write_text("two\n")
    clean = common.source_revision(tmp_path)
    assert clean is not None and not clean.endswith("+changes")
    (tmp_path / "bench/run.py").write_text("two\n")
    assert common.source_revision(tmp_path) == f"{clean}+changes"
    (tmp_path / "bench/run.py").write_text("one\n")
    (tmp_path / "src/app.py").write_text("two\n")
    assert common.source_revision(tmp_path) == f"{clean}+changes"
