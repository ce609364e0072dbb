"""``bench.run``: what a run's results say about the run itself."""

from __future__ import annotations

import json
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
