"""The suite's own teardown: a session a test leaves inside a transaction must not hang the
next step (it once held a CI run for pytest-timeout's 120 s with nothing to say why)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from innovate.resources import Resources
from tests import databases
from tests.conftest import within


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_emptying_the_tables_ends_a_session_left_in_a_transaction(resources: Resources) -> None:
    leaked = await resources.engine.connect()
    await leaked.begin()
    await leaked.execute(text("SELECT count(*) AS left_open FROM users"))  # holds a lock until the end
    with pytest.warns(UserWarning, match="left_open"):
        await databases.empty_all_tables(resources.engine)
    await leaked.invalidate()


async def test_a_teardown_step_that_hangs_names_what_is_waiting() -> None:
    never = asyncio.Event()

    async def stuck_worker() -> None:
        await never.wait()

    worker = asyncio.create_task(stuck_worker(), name="stuck-worker")
    with pytest.raises(AssertionError, match="stuck_worker"):
        await within(0.2, "stopping", asyncio.shield(worker))
    worker.cancel()
