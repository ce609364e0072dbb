"""The background work that must happen once per deployment: turning waiting notifications
into mail, digests, telling guests their access ends soon, and sending the outbox.

Every process runs :func:`worker`; only the holder of the sender lock (``mail/sender.py``)
does the work, and another process takes over when it stops. Everything it writes is also
guarded by conditional updates, so even two at once would not send a mail twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from innovate.background import running_beside
from innovate.mail import digest, gather, sender
from innovate.notifications.service import notify_access_ending
from innovate.resources import Resources

log = logging.getLogger("innovate.mail")

ACCESS_NOTICES_EVERY = 600.0
COUNT_EVERY = 30.0
WAKE = "mail_wake"


def wake(resources: Resources) -> None:
    """Look at the outbox now (this process's worker; the others look within a poll)."""
    event = resources.extras.get(WAKE)
    if isinstance(event, asyncio.Event):
        event.set()


class Worker:
    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.settings = resources.settings
        self.last: dict[str, float] = {}
        self.wakeup = resources.extras.setdefault(WAKE, asyncio.Event())

    def _every(self, name: str, seconds: float) -> bool:
        now = time.monotonic()
        if now - self.last.get(name, -1e9) >= seconds:
            self.last[name] = now
            return True
        return False

    async def tick(self) -> None:
        """One round of everything that is due."""
        resources = self.resources
        if self._every("access", ACCESS_NOTICES_EVERY):
            await notify_access_ending(resources)
        if not self.settings.mail_enabled:
            return
        if self._every("schedule", digest.SCHEDULE_EVERY.total_seconds()):
            await digest.schedule_everyone(resources)
        await gather.gather_due(resources)
        await digest.digests_due(resources)
        await sender.send_due(resources)
        if self._every("count", COUNT_EVERY):
            await sender.count_states(resources)

    async def run(self) -> None:
        poll = self.settings.mail_poll_seconds
        while True:
            lock = sender.sender_lock(self.resources)
            try:
                got = await lock.acquire()
            except Exception:
                log.exception("could not ask for the mail sender lock")
                got = False
            if not got:
                await asyncio.sleep(poll * 2)
                continue
            try:
                await sender.recover(self.resources)
                while await lock.held():
                    try:
                        await self.tick()
                    except Exception:  # the next round tries again; one bad round must not stop it
                        log.exception("the mail and notification worker failed a round")
                    self.wakeup.clear()
                    try:
                        await asyncio.wait_for(self.wakeup.wait(), poll)
                    except TimeoutError:
                        pass
            finally:
                await lock.release()


@asynccontextmanager
async def running(resources: Resources) -> AsyncIterator[None]:
    async with running_beside(Worker(resources).run(), "innovate-mail-worker"):
        yield
