"""``running_beside``: the task runs while the block does and is over when it ends."""

from __future__ import annotations

import asyncio

import pytest

from innovate.background import running_beside


async def test_the_task_runs_during_the_block_and_is_cancelled_after() -> None:
    started = asyncio.Event()
    stopped: list[bool] = []

    async def work() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            stopped.append(True)

    async with running_beside(work(), "test-work"):
        async with asyncio.timeout(5):
            await started.wait()
        assert [t for t in asyncio.all_tasks() if t.get_name() == "test-work"]
    assert stopped == [True]
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "test-work"]


async def test_the_task_ends_when_the_block_raises() -> None:
    stopped: list[bool] = []

    async def work() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.append(True)

    with pytest.raises(RuntimeError, match="the block failed"):
        async with running_beside(work(), "test-work"):
            await asyncio.sleep(0)
            raise RuntimeError("the block failed")
    assert stopped == [True]
