"""The session kinds of the SessionFactory."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from innovate.resources import Resources


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_lookup_on_postgres_runs_without_begin_and_rollback(resources: Resources) -> None:
    async with resources.db.lookup() as db:
        assert (await db.execute(text("SELECT 1"))).scalar_one() == 1
        driver = (await (await db.connection()).get_raw_connection()).driver_connection
        assert not driver.is_in_transaction()  # autocommit: the statement was its own transaction
    async with resources.db() as db:
        await db.execute(text("SELECT 1"))
        driver = (await (await db.connection()).get_raw_connection()).driver_connection
        assert driver.is_in_transaction()  # an ordinary read session keeps one snapshot


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
            driver = (await (await db.connection()).get_raw_connection()).driver_connection
            assert driver.is_in_transaction()
            raise RuntimeError("roll back")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_lookup_on_sqlite_reads(resources: Resources) -> None:
    async with resources.db.lookup() as db:
        assert (await db.execute(text("SELECT 1"))).scalar_one() == 1
