"""The count of writes in flight that a busy room's pump waits on."""

from __future__ import annotations

import asyncio

import pytest

from innovate.realtime.inflight import WritesInFlight
from innovate.resources import Resources
from innovate.writes import write


async def test_settle_returns_at_once_when_nothing_is_in_flight() -> None:
    writes = WritesInFlight()
    await asyncio.wait_for(writes.settle(30.0), 1.0)


async def test_settle_waits_for_the_last_write_to_end() -> None:
    writes = WritesInFlight()
    writes.begin()
    writes.begin()
    waiter = asyncio.create_task(writes.settle(30.0))
    writes.end()
    await asyncio.sleep(0.05)
    assert not waiter.done()  # one is still in flight
    writes.end()
    await asyncio.wait_for(waiter, 1.0)


async def test_settle_gives_up_after_its_timeout() -> None:
    writes = WritesInFlight()
    writes.begin()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await writes.settle(0.05)
    assert loop.time() - started < 5.0
    assert writes.count == 1


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_write_counts_itself_until_published_even_when_it_fails(resources: Resources) -> None:
    async with write(resources):
        assert resources.writes.count == 1
    assert resources.writes.count == 0
    with pytest.raises(RuntimeError):
        async with write(resources):
            raise RuntimeError("rolled back")
    assert resources.writes.count == 0
