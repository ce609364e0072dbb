"""The one write path's plumbing: a transaction whose outbox is published after commit.

Every service function that changes state does::

    async with write(resources) as (db, outbox):
        ...rows...
        await append_event(db, outbox, room.id, kinds.MESSAGE_POSTED, {...})  # rooms/events.py
        access_changed(outbox, user_id=...)                                     # unsequenced
    # committed; the outbox was published to the broker

Nothing else publishes. If the transaction fails, nothing is published.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from innovate import metrics
from innovate.driver_statements import Driver
from innovate.kinds import Kind
from innovate.resources import Resources


@dataclass(frozen=True)
class Appended:
    """A room event appended in this transaction, as the hooks that run before commit see it."""

    room_id: int
    seq: int
    kind: str
    data: dict[str, Any]
    audience: str
    actor_id: int | None
    created_at: datetime


@dataclass
class Outbox:
    """Broker messages to publish once the transaction has committed, the room events
    appended in it (for the hooks that write what follows from them in the same transaction),
    and events as written with the rows their frames show (``written``: room, seq, the feed's
    object), for this process's live pump to render without reading them back."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[Appended] = field(default_factory=list)
    written: list[tuple[int, int, object]] = field(default_factory=list)
    keeps_written: bool = False  # whether ``written`` is handed over (else nothing is put in it)

    def add(self, message: dict[str, Any]) -> None:
        self.messages.append(message)


# Runs inside the transaction, after the service's own writes and before commit, with every
# event the service appended: what follows from events (notifications) is written in the
# same transaction as the change that caused it, or not at all.
BeforeCommit = Callable[[AsyncSession, Outbox], Awaitable[None]]


@asynccontextmanager
async def write(resources: Resources) -> AsyncIterator[tuple[AsyncSession, Outbox]]:
    """A write transaction and its outbox."""
    # Events as written go to this process's live pump only on SQLite: there a write
    # transaction holds the database's write lock from its first statement, so the room and
    # the rows it read are the current ones when it commits. On PostgreSQL a change to the
    # room could commit between this transaction's read of it and its event; the pump reads
    # the event back instead.
    outbox = Outbox(keeps_written=resources.hub is not None and resources.settings.is_sqlite)
    resources.writes.begin()
    try:
        async with resources.db.begin() as db:
            yield db, outbox
            if outbox.events:
                for hook in resources.before_commit:
                    await hook(db, outbox)
        await _publish(resources, outbox)
    finally:
        resources.writes.end()


@asynccontextmanager
async def write_one_statement(resources: Resources) -> AsyncIterator[tuple[Driver, Outbox]]:
    """PostgreSQL: a change that is a single statement, atomic on its own, run with the reads
    that decide whether to run it on the driver's connection in autocommit
    (:mod:`innovate.driver_statements`): no BEGIN and no COMMIT, and no ORM session. The reads
    see committed rows, as they would in a transaction at READ COMMITTED. Its outbox takes
    signals only: events need the transaction their hooks write in."""
    outbox = Outbox()
    resources.writes.begin()
    try:
        async with resources.db.driver() as driver:
            yield driver, outbox
        await _publish(resources, outbox)
    finally:
        resources.writes.end()


async def _publish(resources: Resources, outbox: Outbox) -> None:
    hub = resources.hub
    if hub is not None:
        for room_id, seq, written in outbox.written:
            hub.written(room_id, seq, written)
    for message in outbox.messages:
        for hook in resources.notice_hooks:
            hook(message)
        await resources.broker.publish(message)
        if message.get("seq") is not None:  # stored events; rate() of this is events per second
            metrics.EVENTS_PUBLISHED.labels(message["kind"]).inc()


# The item of a state signal about every item of the room (every idea's tally at once: the
# reveal of a secret ballot).
EVERY_ITEM = 0


def state_changed(outbox: Outbox, room_id: int, kind: Kind, item_id: int, *, user_id: int | None = None) -> None:
    """Queue a state signal for after commit: the room's sockets get the current state of
    ``item_id`` (a tally; :data:`EVERY_ITEM`: all of them), or only ``user_id``'s sockets
    (their own vote), coalesced."""
    if kind.stored:
        raise ValueError(f"{kind.name} is history, not state: append it as an event")
    message: dict[str, Any] = {"room": room_id, "kind": "state", "name": kind.name, "item": item_id}
    if user_id is not None:
        message["user_id"] = user_id
    outbox.add(message)


def access_changed(outbox: Outbox, *, room_id: int | None = None, user_id: int | None = None) -> None:
    """Queue a re-check of live sockets for after commit: of ``user_id`` in ``room_id``, of the
    whole room, or of the user everywhere. Those whose access is gone close; the others get
    their new standing (moderator, muted)."""
    message: dict[str, Any] = {"kind": "access"}
    if room_id is not None:
        message["room"] = room_id
    if user_id is not None:
        message["user_id"] = user_id
    outbox.add(message)


def to_user(outbox: Outbox, user_id: int, frame: dict[str, Any]) -> None:
    """Queue a frame for every live socket of one user, in any room or none (their unread
    count, say), for after commit. Never stored: a reconnecting page asks for it again."""
    outbox.add({"kind": "user", "user_id": user_id, "frame": frame})
