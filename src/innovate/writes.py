"""The one write path's plumbing: a transaction whose outbox is published after commit.

Every service function that changes state does::

    async with write(resources) as (db, outbox):
        ...rows...
        await append_event(db, outbox, room.id, kinds.MESSAGE_POSTED, {...})  # rooms/events.py
        signal(outbox, signals.ACCESS, user_id=...)                            # unsequenced
    # committed; the outbox was published to the broker

Nothing else publishes. If the transaction fails, nothing is published.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from innovate import metrics
from innovate.resources import Resources


@dataclass
class Outbox:
    """Broker messages to publish once the transaction has committed."""

    messages: list[dict[str, Any]] = field(default_factory=list)

    def add(self, message: dict[str, Any]) -> None:
        self.messages.append(message)


@asynccontextmanager
async def write(resources: Resources) -> AsyncIterator[tuple[AsyncSession, Outbox]]:
    outbox = Outbox()
    resources.writes.begin()
    try:
        async with resources.db.begin() as db:
            yield db, outbox
        for message in outbox.messages:
            await resources.broker.publish(message)
            if message.get("seq") is not None:  # stored events; rate() of this is events per second
                metrics.EVENTS_PUBLISHED.labels(message["kind"]).inc()
    finally:
        resources.writes.end()


def signal(outbox: Outbox, room_id: int, kind: str, **data: Any) -> None:
    """Queue an unsequenced signal (e.g. ``tally`` for coalesced vote counts) for after commit."""
    outbox.add({"room": room_id, "kind": kind, **data})
