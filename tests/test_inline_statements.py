"""Statements run straight on SQLite's connection hand over exactly what SQLAlchemy would:
the same values of the same types, in the same transaction, after the session's pending
changes; and rows taken into the session behave as loaded ones."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy import Table, bindparam, inspect, select, update

from innovate import inline_statements
from innovate.driver_statements import ModelColumns
from innovate.inline_statements import InlineStatement, as_loaded, insert_row
from innovate.rooms.access import room_access
from innovate.rooms.models import Event, Membership, Message, Room
from tests.factories import join, make_room
from tests.sql_log import recorded_statements

_ROOM_AND_MEMBERSHIP = ModelColumns(Room, Membership)
_LOAD = InlineStatement(
    select(*_ROOM_AND_MEMBERSHIP.columns)
    .outerjoin(Membership, (Membership.room_id == Room.id) & (Membership.user_id == bindparam("user_id")))
    .where(Room.id == bindparam("room_id"))
)
_rooms = cast(Table, Room.__table__)
_BUMP = InlineStatement(
    update(_rooms).where(_rooms.c.id == bindparam("room_id")).values(last_seq=_rooms.c.last_seq + 5)
    .returning(_rooms.c.last_seq)
)
_events = cast(Table, Event.__table__)
_INSERT_EVENT = InlineStatement(insert_row(_events).returning(*_events.c))
_MESSAGE = ModelColumns(Message)
_INSERT_MESSAGE = InlineStatement(insert_row(cast(Table, Message.__table__)).returning(*_MESSAGE.columns))


def _columns(instance: Any) -> dict[str, Any]:
    return {attr.key: getattr(instance, attr.key) for attr in inspect(type(instance)).column_attrs}


async def test_a_row_is_what_the_orm_loads(make_user, resources) -> None:
    moderator = await make_user("mod@example.com", name="Mo Derator", is_moderator=True)
    member = await make_user("member@example.com", name="Mem Ber")
    room = await make_room(resources, moderator, slug="inline", title="Inline", votes_in_open=True)
    await join(resources, room, member)
    muted = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    async with resources.db.begin() as db:
        await db.execute(update(Membership).where(Membership.user_id == member.id).values(muted_until=muted))
    async with resources.db() as db:
        loaded_room, loaded_membership = (await db.execute(
            select(Room, Membership).outerjoin(Membership, (Membership.room_id == Room.id)
                                               & (Membership.user_id == member.id))
            .where(Room.id == room.id))).one()
    async with resources.db() as db:
        row = await _LOAD.row(db, {"room_id": room.id, "user_id": member.id})
    assert row is not None
    inline_room, inline_membership = _ROOM_AND_MEMBERSHIP.instances(row)
    assert _columns(inline_room) == _columns(loaded_room)
    assert _columns(inline_membership) == _columns(loaded_membership)
    assert inline_membership.muted_until == muted and inline_room.created_at.tzinfo is not None
    async with resources.db() as db:
        row = await _LOAD.row(db, {"room_id": room.id, "user_id": moderator.id + member.id + 1000})
        assert row is not None and _ROOM_AND_MEMBERSHIP.instances(row)[1] is None, "outer join: no membership"
        assert await _LOAD.row(db, {"room_id": room.id + 1000, "user_id": member.id}) is None


async def test_a_written_row_holds_what_was_sent(make_user, resources) -> None:
    """JSON, the time stamp with its zone, NULLs and the statement's own values (``+ 5``) go in
    and come back as SQLAlchemy sends and reads them; it is all one transaction."""
    moderator = await make_user("mod@example.com", name="Mo Derator", is_moderator=True)
    room = await make_room(resources, moderator, slug="written", title="Written")
    stamp = datetime(2030, 1, 2, 3, 4, 5, 7, tzinfo=UTC)
    data = {"message_id": 7, "nested": {"list": [1, "two", None]}, "text": "é ✓"}
    async with resources.db.begin() as db:
        before = (await db.execute(select(Room.last_seq).where(Room.id == room.id))).scalar_one()
        bumped = await _BUMP.row(db, {"room_id": room.id})
        written = await _INSERT_EVENT.row(db, {"room_id": room.id, "seq": 10_000, "kind": "test.inline", "data": data,
                                               "audience": "all", "actor_id": None, "created_at": stamp})
    assert bumped == (before + 5,)
    assert written is not None and written[1:] == (room.id, 10_000, "test.inline", "all", None, data, stamp)
    async with resources.db() as db:
        stored = (await db.execute(select(Event).where(Event.room_id == room.id, Event.seq == 10_000))).scalar_one()
        assert (stored.id, stored.data, stored.created_at, stored.actor_id) == (written[0], data, stamp, None)
        assert (await db.execute(select(Room.last_seq).where(Room.id == room.id))).scalar_one() == before + 5


async def test_a_failed_transaction_keeps_nothing_it_wrote(make_user, resources) -> None:
    moderator = await make_user("mod@example.com", name="Mo Derator", is_moderator=True)
    room = await make_room(resources, moderator, slug="rolled", title="Rolled back")
    async with resources.db() as db:
        before = (await db.execute(select(Room.last_seq).where(Room.id == room.id))).scalar_one()
    try:
        async with resources.db.begin() as db:
            await _BUMP.row(db, {"room_id": room.id})
            raise RuntimeError("refused after the write")
    except RuntimeError:
        pass
    async with resources.db() as db:
        assert (await db.execute(select(Room.last_seq).where(Room.id == room.id))).scalar_one() == before


async def test_pending_changes_are_not_flushed_by_a_statement(make_user, resources) -> None:
    """As with any Core statement through the session: an object added and not yet complete
    (its required columns set after the statement) is not written by it."""
    moderator = await make_user("mod@example.com", name="Mo Derator", is_moderator=True)
    room = await make_room(resources, moderator, slug="pending", title="Pending")
    async with resources.db.begin() as db:
        message = Message(room_id=room.id, author_id=moderator.id)  # body and body_html come later
        db.add(message)
        assert await _BUMP.row(db, {"room_id": room.id}) is not None
        message.body, message.body_html = "Complete now", "<p>Complete now</p>"
    async with resources.db() as db:
        assert (await db.execute(select(Message.body).where(Message.room_id == room.id))).scalars().all() == [
            "Complete now"]


async def test_room_access_sees_a_membership_added_in_the_transaction(make_user, resources) -> None:
    moderator = await make_user("mod@example.com", name="Mo Derator", is_moderator=True)
    member = await make_user("member@example.com", name="Mem Ber")
    room = await make_room(resources, moderator, slug="joined-now", title="Joined now")
    async with resources.db.begin() as db:
        db.add(Membership(room_id=room.id, user_id=member.id, role="member", state="active"))
        access = await room_access(db, member, "joined-now")
        assert access.membership is not None and access.membership.role == "member"
        assert access.room is await db.get(Room, room.id)


async def _insert_message(db: Any, room_id: int, author_id: int, body: str) -> Message:
    row = await _INSERT_MESSAGE.row(db, {
        "room_id": room_id, "idea_id": None, "reply_to_id": None, "author_id": author_id, "body": body,
        "body_html": f"<p>{body}</p>", "state": "visible", "state_reason": None, "pinned": False,
        "created_at": datetime(2030, 1, 2, tzinfo=UTC), "edited_at": None})
    assert row is not None
    return _MESSAGE.instances(row)[0]


async def test_a_row_taken_into_the_session_is_as_if_loaded(make_user, resources) -> None:
    moderator = await make_user("mod@example.com", name="Mo Derator", is_moderator=True)
    room = await make_room(resources, moderator, slug="taken", title="Taken")
    async with resources.db.begin() as db:
        message = as_loaded(db, await _insert_message(db, room.id, moderator.id, "Hello"))
        with recorded_statements(resources) as seen:
            assert await db.get(Message, message.id) is message, "found in the session, not read again"
            await db.flush()
        assert seen == [], "nothing read, and nothing to write: it is clean"
        message.body = "Changed after"
        with recorded_statements(resources) as seen:
            await db.flush()
        assert [sql.split()[0] for sql in seen] == ["UPDATE"], seen
        # A row the session already holds: its own instance, as a query would give.
        second = as_loaded(db, await _insert_message(db, room.id, moderator.id, "Second"))
        snapshot = _MESSAGE.instances([getattr(second, attr.key) for attr in inspect(Message).column_attrs])[0]
        assert snapshot is not second and as_loaded(db, snapshot) is second
    async with resources.db() as db:
        stored = await db.get(Message, message.id)
        assert stored is not None and stored.body == "Changed after"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_statement_that_meets_a_lock_runs_the_way_that_waits_for_it(make_user, resources,
                                                                           monkeypatch) -> None:
    """Straight on the connection a lock would be waited for by sleeping on the loop's thread:
    a statement that meets one (it did nothing) runs again through SQLAlchemy, whose waits
    let the loop run (tests/test_sqlite_driver.py). Other errors are the caller's."""
    moderator = await make_user("mod@example.com", name="Mo Derator", is_moderator=True)
    room = await make_room(resources, moderator, slug="locked", title="Locked")
    straight = inline_statements.execute
    met: list[str] = []

    def locked_once(connection: Any, sql: str, args: list[Any]) -> Any:
        if not met:
            met.append(sql)
            raise sqlite3.OperationalError("database is locked")
        return straight(connection, sql, args)

    monkeypatch.setattr(inline_statements, "execute", locked_once)
    async with resources.db() as db:
        with recorded_statements(resources) as seen:
            row = await _LOAD.row(db, {"room_id": room.id, "user_id": moderator.id})
    assert row is not None and _ROOM_AND_MEMBERSHIP.instances(row)[0].title == "Locked"
    assert len(met) == 1 and [sql for sql in seen if "FROM rooms" in sql] == [" ".join(met[0].split())], \
        "run again, by SQLAlchemy"

    def broken(connection: Any, sql: str, args: list[Any]) -> Any:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(inline_statements, "execute", broken)
    async with resources.db() as db:
        with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
            await _LOAD.row(db, {"room_id": room.id, "user_id": moderator.id})
