"""The session kinds of the SessionFactory."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, text
from sqlalchemy.pool import AsyncAdaptedQueuePool

from innovate import db as db_module
from innovate.realtime.brokers import asyncpg_dsn
from innovate.resources import Resources


async def driver_of(db: Any) -> Any:
    """The asyncpg connection under a session's connection."""
    driver = (await (await db.connection()).get_raw_connection()).driver_connection
    assert driver is not None
    return driver


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_lookup_on_postgres_runs_without_begin_and_rollback(resources: Resources) -> None:
    async with resources.db.lookup() as db:
        assert (await db.execute(text("SELECT 1"))).scalar_one() == 1
        driver = await driver_of(db)
        assert not driver.is_in_transaction()  # autocommit: the statement was its own transaction
    async with resources.db() as db:
        await db.execute(text("SELECT 1"))
        driver = await driver_of(db)
        assert driver.is_in_transaction()  # an ordinary read session keeps one snapshot


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_burst_on_postgres_waits_for_the_pools_connections_instead_of_opening_more(
        resources: Resources) -> None:
    """More requests at once than the pool holds: they take turns on its connections. An
    overflow pool opened extra connections and closed them again as soon as enough were idle,
    a new database backend each time under a steady burst."""
    pool = resources.engine.pool
    assert isinstance(pool, AsyncAdaptedQueuePool) and pool.size() == resources.settings.database_pool_size
    engine = db_module.create_engine(resources.settings.resolved_database_url, pool_size=3)
    opened = 0

    @event.listens_for(engine.sync_engine, "connect")
    def count_opened(*_: object) -> None:
        nonlocal opened
        opened += 1

    factory = db_module.create_session_factory(engine)

    async def lookups() -> None:
        for _ in range(20):
            async with factory.lookup() as db:
                assert (await db.execute(text("SELECT 1"))).scalar_one() == 1
            await asyncio.sleep(0)

    try:
        await asyncio.gather(*(lookups() for _ in range(10)))
    finally:
        await engine.dispose()
    assert opened == 3


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_pool_size_setting_is_postgresqls(resources: Resources) -> None:
    """SQLite's connections are files in the process: its pool keeps the engine's default."""
    pool = resources.engine.pool
    assert isinstance(pool, AsyncAdaptedQueuePool)
    assert pool.size() == 10 != resources.settings.database_pool_size


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_writes_still_commit_after_lookups_shared_the_pool(resources: Resources) -> None:
    """The lookup engine shares the pool: a connection it used comes back to a write with
    transactions (and rollback) as before."""
    for _ in range(3):
        async with resources.db.lookup() as db:
            await db.execute(text("SELECT 1"))
    with pytest.raises(RuntimeError):
        async with resources.db.begin() as db:
            await db.execute(text("CREATE TEMP TABLE IF NOT EXISTS lookup_probe (n int) ON COMMIT PRESERVE ROWS"))
            await db.execute(text("INSERT INTO lookup_probe VALUES (1)"))
            driver = await driver_of(db)
            assert driver.is_in_transaction()
            raise RuntimeError("roll back")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
async def test_a_write_session_runs_on_the_write_engine_and_a_read_session_does_not(resources: Resources) -> None:
    # On SQLite the write engine's transactions BEGIN IMMEDIATE (innovate.db._configure_sqlite).
    async with resources.db.begin() as db:
        assert db.in_transaction()
        assert db.get_bind().get_execution_options().get(db_module.WRITE_OPTION) is True
    assert not db.in_transaction()  # committed and closed on the way out
    async with resources.db() as db:
        assert not db.get_bind().get_execution_options().get(db_module.WRITE_OPTION)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_lookup_on_sqlite_reads(resources: Resources) -> None:
    async with resources.db.lookup() as db:
        assert (await db.execute(text("SELECT 1"))).scalar_one() == 1


# Connection checks (PostgreSQL): live connections without a ping per checkout -------------


async def _backend_pids(resources: Resources, count: int) -> set[int]:
    """Check out ``count`` pooled connections at once and name their server processes."""
    gate = asyncio.Barrier(count)

    async def one() -> int:
        async with resources.db.lookup() as db:
            pid = (await db.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await gate.wait()  # hold this connection until all are out of the pool
            return int(pid)

    return set(await asyncio.gather(*(one() for _ in range(count))))


async def _terminate(resources: Resources, pids: set[int]) -> None:
    """Kill those server processes, as a restart or an idle timeout would, and wait until gone."""
    admin = await asyncpg.connect(asyncpg_dsn(resources.settings.database_url))
    try:
        await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", list(pids))
        async with asyncio.timeout(10):
            while await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])",
                                       list(pids)):
                await asyncio.sleep(0.02)
    finally:
        await admin.close()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_connections_the_server_closed_are_replaced_without_a_failed_request(resources: Resources) -> None:
    old = await _backend_pids(resources, 4)
    await _terminate(resources, old)
    # Every pooled connection is dead now; each checkout must notice and hand out a fresh one.
    new = await _backend_pids(resources, 4)
    assert not new & old
    async with resources.db.begin() as db:
        assert (await db.execute(text("SELECT 1"))).scalar_one() == 1


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_only_a_connection_idle_for_a_while_is_pinged(resources: Resources,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    pings = 0
    dialect = resources.engine.sync_engine.dialect
    real_ping = dialect.do_ping

    def counting_ping(dbapi_connection: Any) -> bool:
        nonlocal pings
        pings += 1
        return real_ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counting_ping)
    await _backend_pids(resources, 1)
    for _ in range(5):
        await _backend_pids(resources, 1)
    assert pings == 0  # in steady use: no round trip before the statement

    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)  # every connection counts as idle
    await _backend_pids(resources, 1)
    assert pings == 1
