"""Writes in flight in this process: what the live pump waits for to send several events in
one go when the room is busy.

Every ``write()`` transaction counts itself from its first statement until its outbox has
been published. A pump whose last fan-out was expensive (thousands of sockets, each a
``send()``) lets the writes already under way land before it reads the next batch, for at
most about as long as that fan-out took: under a burst each socket then gets several events
in one write, and an idle room never waits.
"""

from __future__ import annotations

import asyncio


class WritesInFlight:
    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def begin(self) -> None:
        self.count += 1
        self._idle.clear()

    def end(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def settle(self, timeout: float) -> None:
        """Return once no write is in flight, or after ``timeout`` seconds."""
        if self.count == 0 or timeout <= 0:
            return
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            pass
