"""Scheduled phase changes: a background task that moves rooms when their time comes, and
sends the reminders of review deadlines.

Every process may run it; the move is a conditional UPDATE on the phase it read, so two
processes never apply the same change twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from innovate.resources import Resources
from innovate.rooms.reviews.reminders import remind_due
from innovate.rooms.service import apply_due_phases

log = logging.getLogger("innovate.scheduler")


async def run_scheduler(resources: Resources, interval: float) -> None:
    while True:
        try:
            for slug, phase in await apply_due_phases(resources):
                log.info("room %s moved to %s on schedule", slug, phase)
            await remind_due(resources)
        except Exception:  # the next tick tries again; one bad tick must not stop the loop
            log.exception("scheduled phase changes failed")
        await asyncio.sleep(interval)


@asynccontextmanager
async def scheduler(resources: Resources) -> AsyncIterator[None]:
    interval = resources.settings.scheduler_interval_seconds
    if interval <= 0:
        yield
        return
    task = asyncio.create_task(run_scheduler(resources, interval), name="innovate-scheduler")
    try:
        yield
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
