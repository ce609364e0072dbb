"""SQLite statements run on the event loop's thread, and a wait for another process's lock
never holds up the loop (innovate.sqlite_driver)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from innovate import sqlite_driver
from innovate.db import create_engine, create_session_factory


@pytest.fixture
async def database(tmp_path: Path):
    path = tmp_path / "driver.db"
    engine = create_engine(f"sqlite:///{path}", pool_size=2)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
    yield path, engine, create_session_factory(engine)
    await engine.dispose()


def _other_process_holds_the_write_lock(path: Path) -> sqlite3.Connection:
    # Another connection of its own, as the CLI or a second worker would have.
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO notes (body) VALUES ('theirs')")
    return other


async def _ticks_while(task: asyncio.Task, ticks: list[int]) -> None:
    while not task.done():
        ticks.append(1)
        await asyncio.sleep(0.005)


async def test_a_write_waits_for_another_writers_lock_without_blocking_the_loop(database) -> None:
    path, _, factory = database
    other = _other_process_holds_the_write_lock(path)

    async def write() -> None:
        async with factory.begin() as db:
            await db.execute(text("INSERT INTO notes (body) VALUES ('ours')"))

    task = asyncio.create_task(write())
    ticks: list[int] = []
    ticker = asyncio.create_task(_ticks_while(task, ticks))
    async with asyncio.timeout(5):
        while len(ticks) < 10:  # the loop runs other work while the write waits
            await asyncio.sleep(0.005)
    assert not task.done()

    other.execute("COMMIT")
    other.close()
    async with asyncio.timeout(5):
        await task
    await ticker
    async with factory() as db:
        bodies = (await db.execute(text("SELECT body FROM notes ORDER BY id"))).scalars().all()
    assert bodies == ["theirs", "ours"]


async def test_a_lock_held_past_the_busy_timeout_fails_the_write(database, monkeypatch) -> None:
    path, _, factory = database
    monkeypatch.setattr(sqlite_driver, "BUSY_TIMEOUT_SECONDS", 0.2)
    other = _other_process_holds_the_write_lock(path)
    try:
        with pytest.raises(Exception, match="database is locked"):
            async with factory.begin() as db:
                await db.execute(text("INSERT INTO notes (body) VALUES ('ours')"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    async with factory() as db:
        assert (await db.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 0


async def test_a_write_on_a_stale_read_snapshot_fails_at_once(database) -> None:
    # Waiting cannot help a read transaction whose snapshot another writer made stale.
    path, _, factory = database
    async with factory() as db:
        await db.execute(text("SELECT count(*) FROM notes"))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("INSERT INTO notes (body) VALUES ('theirs')")
        other.close()
        async with asyncio.timeout(2):  # not the 30 s a lock may be waited for
            with pytest.raises(Exception, match="database is locked"):
                await db.execute(text("INSERT INTO notes (body) VALUES ('ours')"))


async def test_rows_can_be_read_after_the_session_gave_the_connection_back(database) -> None:
    _, _, factory = database
    async with factory.begin() as db:
        await db.execute(text("INSERT INTO notes (body) VALUES ('a'), ('b'), ('c')"))
    async with factory() as db:
        result = await db.execute(text("SELECT body FROM notes ORDER BY id"))
    assert result.fetchone() == ("a",)
    assert result.fetchall() == [("b",), ("c",)]


async def test_statements_run_on_the_loops_thread(database) -> None:
    _, engine, _ = database
    seen: list[int] = []

    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()

        def whose_thread() -> int:
            seen.append(threading.get_ident())
            return 1

        raw.driver_connection.create_function("whose_thread", 0, whose_thread)
        assert (await conn.execute(text("SELECT whose_thread()"))).scalar_one() == 1
    assert seen == [threading.get_ident()]
