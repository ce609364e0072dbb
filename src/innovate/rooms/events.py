"""The one write path's plumbing: a transaction that appends room events and publishes them
after commit, plus the append-only audit trail.

Every service function that changes state does::

    async with write(resources) as (db, outbox):
        ...rows...
        await append_event(db, outbox, room.id, "message.posted", {...})
    # committed; the outbox was published to the broker

Nothing else publishes. If the transaction fails, nothing is published.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from innovate import metrics
from innovate.db import utcnow
from innovate.resources import Resources
from innovate.rooms.models import AuditEntry, Event, Room


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


# Built once with a bind parameter: it runs for every stored event. A Core statement on the
# table: the ORM-enabled form costs twice as much, mostly in synchronising the session.
_rooms = Room.__table__
_NEXT_SEQ = (
    update(_rooms).where(_rooms.c.id == bindparam("room_id")).values(last_seq=_rooms.c.last_seq + 1)
    .returning(_rooms.c.last_seq)
)


async def next_seq(db: AsyncSession, room_id: int) -> int:
    # One conditional UPDATE: it also locks the room row until commit, so events become
    # visible in seq order and a reader never sees seq N+1 before N.
    seq = int((await db.execute(_NEXT_SEQ, {"room_id": room_id})).scalar_one())
    # The room this transaction loaded (if any) shows the new head, as the ORM form did.
    room = db.sync_session.identity_map.get(identity_key(Room, room_id))
    if room is not None:
        set_committed_value(room, "last_seq", seq)
    return seq


# Written at once as a Core INSERT, not added to the session for its flush at commit: the
# unit of work costs about three times the statement, on every stored event.
_INSERT_EVENT = insert(Event.__table__)


async def append_event(
    db: AsyncSession,
    outbox: Outbox,
    room_id: int,
    kind: str,
    data: dict[str, Any],
    *,
    audience: str = "all",
    actor_id: int | None = None,
) -> int:
    """Append a stored, sequenced event to the room's timeline inside the transaction; its seq."""
    seq = await next_seq(db, room_id)
    await db.execute(_INSERT_EVENT, {"room_id": room_id, "seq": seq, "kind": kind, "data": data,
                                      "audience": audience, "actor_id": actor_id, "created_at": utcnow()})
    outbox.add({"room": room_id, "seq": seq, "kind": kind})
    return seq


def signal(outbox: Outbox, room_id: int, kind: str, **data: Any) -> None:
    """Queue an unsequenced signal (e.g. ``tally`` for coalesced vote counts) for after commit."""
    outbox.add({"room": room_id, "kind": kind, **data})


async def audit(
    db: AsyncSession,
    actor_id: int | None,
    action: str,
    *,
    room_id: int | None = None,
    target_kind: str | None = None,
    target_id: int | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    db.add(AuditEntry(
        room_id=room_id, actor_id=actor_id, action=action, target_kind=target_kind,
        target_id=target_id, reason=reason, data=data or {},
    ))
