"""Scheduled phase changes, reminders of review deadlines, and guest access that runs out: a
background task that moves rooms, sends the reminders and ends guests' access when their time
comes.

Every process may run it; the move is a conditional UPDATE on the phase it read, and an end of
access re-reads the membership under its row lock, so two processes never apply a change twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from innovate.background import running_beside
from innovate.resources import Resources
from innovate.rooms.guests import end_due_guest_access
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
        try:
            for room_id, user_id in await end_due_guest_access(resources):
                log.info("guest %s lost room %s: their access ended", user_id, room_id)
        except Exception:
            log.exception("ending guest access on schedule failed")
        await asyncio.sleep(interval)


@asynccontextmanager
async def scheduler(resources: Resources) -> AsyncIterator[None]:
    interval = resources.settings.scheduler_interval_seconds
    if interval <= 0:
        yield
        return
    async with running_beside(run_scheduler(resources, interval), "innovate-scheduler"):
        yield
