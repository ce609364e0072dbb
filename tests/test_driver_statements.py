"""Statements on the driver's connection hand over exactly what SQLAlchemy's ORM loads: the
same values of the same types, through the columns' own result processors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy import TypeDecorator, bindparam, inspect, select, text, update
from sqlalchemy.types import Boolean, Float, Integer, String

from innovate.accounts.models import User
from innovate.db import UTCDateTime
from innovate.driver_statements import DriverStatement, ModelColumns
from innovate.rooms.models import Idea, Membership, Room
from tests.factories import join, make_idea, make_room

_MODELS = ModelColumns(Idea, User, Room, Membership)
_FOUR = DriverStatement(
    select(*_MODELS.columns).select_from(Idea).join(Room, Room.id == Idea.room_id)
    .outerjoin(User, User.id == Idea.author_id)
    .outerjoin(Membership, (Membership.room_id == Room.id) & (Membership.user_id == bindparam("user_id")))
    .where(Idea.id == bindparam("idea_id"))
)


class Tagged(TypeDecorator[str]):
    """Stored without its tag, read back with it: shows that both processors ran."""

    impl = String()
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else value.removeprefix("tag:")

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else f"tag:{value}"


_ECHO = DriverStatement(text(
    "SELECT :stamp AS stamp, :n AS n, :ratio AS ratio, :word AS word, CAST(:word AS text) = 'vote' AS stored"
).bindparams(
    bindparam("stamp", type_=UTCDateTime()), bindparam("n", type_=Integer()), bindparam("ratio", type_=Float()),
    bindparam("word", type_=Tagged()),
).columns(stamp=UTCDateTime(), n=Integer(), ratio=Float(), word=Tagged(), stored=Boolean()))


def _columns(instance: Any) -> dict[str, Any]:
    return {attr.key: getattr(instance, attr.key) for attr in inspect(type(instance)).column_attrs}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_sqlite_has_no_driver_statements(resources) -> None:
    with pytest.raises(RuntimeError, match="PostgreSQL"):
        async with resources.db.driver():
            pass


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_row_of_four_models_is_what_the_orm_loads(make_user, resources) -> None:
    moderator = await make_user("mod@example.com", name="Mo Derator", is_moderator=True)
    member = await make_user("member@example.com", name="Mem Ber")
    room = await make_room(resources, moderator, slug="driver", title="Driver", votes_in_open=True,
                           voting_mode="budget", budget=5)
    await join(resources, room, member)
    idea = await make_idea(resources, moderator, room)
    muted = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    async with resources.db.begin() as db:
        await db.execute(update(Membership).where(Membership.user_id == member.id).values(muted_until=muted))
        await db.execute(update(Idea).where(Idea.id == idea.id).values(rank_top=0.625))
    async with resources.db() as db:
        loaded = (await db.execute(select(Idea, User, Room, Membership).join(Room, Room.id == Idea.room_id)
                                   .outerjoin(User, User.id == Idea.author_id)
                                   .outerjoin(Membership, (Membership.room_id == Room.id)
                                              & (Membership.user_id == member.id))
                                   .where(Idea.id == idea.id))).one()
    stamp = datetime(2030, 1, 2, 3, 4, 5, 7, tzinfo=UTC)
    async with resources.db.driver() as driver:
        row = await driver.row(_FOUR, {"idea_id": idea.id, "user_id": member.id})
        nobody = await driver.row(_FOUR, {"idea_id": idea.id, "user_id": 0})
        missing = await driver.row(_FOUR, {"idea_id": 0, "user_id": member.id})
        # Parameters go through their types' bind processors too.
        assert await driver.row(_ECHO, {"stamp": stamp, "n": 3, "ratio": 0.5, "word": "tag:vote"}) == (
            stamp, 3, 0.5, "tag:vote", True)
        with pytest.raises(ValueError, match="naive datetime"):  # UTCDateTime's own check
            await driver.row(_ECHO, {"stamp": stamp.replace(tzinfo=None), "n": 3, "ratio": 0.5, "word": "x"})
    assert row is not None and nobody is not None and missing is None
    built = _MODELS.instances(row)
    for orm, snapshot in zip(loaded, built, strict=True):
        assert type(snapshot) is type(orm)
        values = _columns(snapshot)
        assert values == _columns(orm)
        assert [type(v) for v in values.values()] == [type(v) for v in _columns(orm).values()]
    membership = built[3]
    assert membership.muted_until == muted and membership.muted_until.tzinfo is not None
    assert isinstance(built[0].rank_top, float) and built[0].rank_top == 0.625
    assert _MODELS.instances(nobody)[3] is None  # no membership: the outer join found nothing
    assert inspect(built[2]).session is None  # a snapshot no session knows


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_refused_statement_keeps_the_connection_and_a_cancelled_one_closes_it(resources) -> None:
    divide = DriverStatement(text("SELECT 1 / CAST(:zero AS integer) AS x").bindparams(
        bindparam("zero", type_=Integer())).columns(x=Integer()))
    sleep = DriverStatement(text("SELECT CAST(pg_sleep(30) AS text) AS slept").columns(slept=String()))
    async with resources.db.driver() as driver:
        with pytest.raises(asyncpg.DivisionByZeroError):
            await driver.row(divide, {"zero": 0})
        assert await driver.row(divide, {"zero": 1}) == (1,)  # still usable
        refused = driver.connection
    assert not driver.broken and not refused.is_closed()  # back in the pool

    async with resources.db.driver() as driver:
        cancelled = driver.connection
        started = asyncio.get_running_loop().create_task(driver.row(sleep, {}))
        while await _active(resources, cancelled.get_server_pid()) != "active":
            pass  # polled through another connection until the server runs it
        started.cancel()
        with pytest.raises(asyncio.CancelledError):
            await started
    assert driver.broken and cancelled.is_closed()  # closed, never handed out again


async def _active(resources: Any, pid: int) -> str | None:
    async with resources.db.lookup() as db:
        return (await db.execute(text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})).scalar()
