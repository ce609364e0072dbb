"""A room's timeline: appending a stored, sequenced event inside a write transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from innovate.accounts.models import User
from innovate.db import utcnow
from innovate.inline_statements import InlineStatement, insert_row
from innovate.kinds import Kind
from innovate.rooms.models import Event, Message, Room
from innovate.rooms.timeline import Written
from innovate.writes import Appended, Outbox

# Built once with bind parameters: they run for every stored event, straight on SQLite's
# connection (innovate.inline_statements).
_rooms = cast(Table, Room.__table__)  # a mapped class's __table__, typed as any FromClause
_NEXT_SEQ = InlineStatement(
    update(_rooms).where(_rooms.c.id == bindparam("room_id")).values(last_seq=_rooms.c.last_seq + 1)
    .returning(_rooms.c.last_seq)
)


async def next_seq(db: AsyncSession, room_id: int) -> int:
    # One conditional UPDATE: it also locks the room row until commit, so events become
    # visible in seq order and a reader never sees seq N+1 before N.
    row = await _NEXT_SEQ.row(db, {"room_id": room_id})
    if row is None:
        raise LookupError(f"no room {room_id}")
    seq = int(row[0])
    # The room this transaction loaded (if any) shows the new head, as the ORM form did.
    room = db.sync_session.identity_map.get(identity_key(Room, room_id))
    if room is not None:
        set_committed_value(room, "last_seq", seq)
    return seq


_INSERT_EVENT = InlineStatement(insert_row(cast(Table, Event.__table__)))


async def append_event(
    db: AsyncSession,
    outbox: Outbox,
    room_id: int,
    kind: Kind,
    data: dict[str, Any],
    *,
    audience: str = "all",
    actor_id: int | None = None,
) -> int:
    """Append a stored, sequenced event to the room's timeline inside the transaction; its seq."""
    if not kind.stored:
        raise ValueError(f"{kind.name} is state, not history: signal it instead")
    seq = await next_seq(db, room_id)
    now = utcnow()
    await _INSERT_EVENT.row(db, {"room_id": room_id, "seq": seq, "kind": kind.name, "data": data,
                                 "audience": audience, "actor_id": actor_id, "created_at": now})
    outbox.add({"room": room_id, "seq": seq, "kind": kind.name})
    outbox.events.append(Appended(room_id, seq, kind.name, data, audience, actor_id, now))
    return seq


def show_as_written(outbox: Outbox, room: Room, *, messages: Sequence[Message] = (), users: Sequence[User] = ()) -> None:
    """Hand the event just appended to this process's live pump with the rows its frame shows
    (as this transaction read and wrote them), so the pump need not read it back. The pump
    still reads it when these do not cover what the event points at, or a seq is missing.
    Nothing is built where nothing would take it (``Outbox.keeps_written``)."""
    if not outbox.keeps_written:
        return
    appended = outbox.events[-1]
    event = Event(room_id=appended.room_id, seq=appended.seq, kind=appended.kind, data=appended.data,
                  audience=appended.audience, actor_id=appended.actor_id, created_at=appended.created_at)
    outbox.written.append((appended.room_id, appended.seq,
                           Written(event=event, room=room, messages=tuple(messages), users=tuple(users))))
