"""``bench.post_timeline``: the functions its shim wraps exist, and a message's steps are
measured between the right stamps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import post_timeline  # noqa: E402


def test_the_shim_wraps_functions_that_exist() -> None:
    # Everything the shim does before it hands over to the CLI: a rename fails here.
    setup = post_timeline.SHIM.split("from innovate.cli import main")[0]
    done = subprocess.run([sys.executable, "-c", setup], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_steps_of_one_message() -> None:
    def at(ms: float) -> list[float]:
        return [ms / 1000]

    stamps = {"post.start": [0.0] * post_timeline.SKIP, "request.start": [], "announce.start": [],
              "catch_up.start": [], "batch.start": [], "batch.end": [], "frames.start": [], "frames.end": [],
              "fan_out.start": [], "fan_out.end": []}
    # Twenty messages to skip, then one: request 100, post 101, notice 103, catch-up 103.5,
    # read 103.6 to 105 with frames 104.8 to 104.9, first write 105.1, last 110 (ms).
    stamps["post.start"] = [0.0] * post_timeline.SKIP + at(101)
    stamps["request.start"] = at(100)
    for key, ms in (("announce.start", 103), ("catch_up.start", 103.5), ("batch.start", 103.6), ("batch.end", 105),
                    ("frames.start", 104.8), ("frames.end", 104.9), ("fan_out.start", 105.1), ("fan_out.end", 110)):
        stamps[key] = at(ms)
    steps = {name: [round(x, 3) for x in xs] for name, xs in post_timeline.steps(stamps).items()}
    assert steps == {"request": [1.0], "store": [2.0], "wake": [0.5], "read": [1.3], "frames": [0.1],
                     "fan-out": [4.9], "POST to first write": [5.1], "POST to last write": [10.0]}
