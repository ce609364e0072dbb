"""SQLite's WAL is checkpointed by a thread of the server's, not inside a commit on the event
loop (innovate.sqlite_checkpoints)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from innovate.db import create_engine, create_session_factory
from innovate.sqlite_checkpoints import FOREGROUND_PAGES, database_file, wal_checkpoints

# SQLite's own default for wal_autocheckpoint: a commit past it used to checkpoint.
SQLITE_DEFAULT_PAGES = 1000


@pytest.fixture
async def engine(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'wal.db'}", pool_size=2)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
    yield engine
    await engine.dispose()


async def _write(engine, count: int, size: int = 3000) -> None:
    factory = create_session_factory(engine)
    for _ in range(count):  # one transaction each, as posts are
        async with factory.begin() as db:
            await db.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": "x" * size})


def _file(engine) -> str:
    path = database_file(engine)
    assert path is not None
    return path


def _wal_frames(path: str) -> tuple[int, int]:
    """(frames in the WAL, of them checkpointed), as a PASSIVE checkpoint finds them."""
    with sqlite3.connect(path) as other:
        _, frames, copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return frames, copied


async def test_commits_do_not_checkpoint_at_sqlites_default_threshold(engine) -> None:
    async with engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == FOREGROUND_PAGES
    await _write(engine, 1200)
    frames, _ = _wal_frames(_file(engine))
    # Had a commit checkpointed at 1,000 frames, the WAL would have started over after it.
    assert frames > SQLITE_DEFAULT_PAGES


async def test_the_thread_copies_the_wal_into_the_database_file(engine, tmp_path: Path) -> None:
    async with wal_checkpoints(engine, interval=0.01) as checkpointer:
        assert checkpointer is not None
        await _write(engine, 50)
        copy = tmp_path / "copy.db"
        async with asyncio.timeout(10):
            while True:
                # The database file alone, without its WAL: what a checkpoint has copied.
                shutil.copyfile(_file(engine), copy)
                with sqlite3.connect(copy) as alone:
                    if alone.execute("SELECT count(*) FROM notes").fetchone()[0] == 50:
                        break
                await asyncio.sleep(0.01)
        assert checkpointer.last is not None and not checkpointer.last.busy


async def test_a_checkpoint_that_fails_is_tried_again(engine, monkeypatch) -> None:
    async with wal_checkpoints(engine, interval=0.01) as checkpointer:
        assert checkpointer is not None
        calls = 0
        real = checkpointer._checkpoint

        def flaky():
            nonlocal calls
            calls += 1
            if calls == 1:
                raise sqlite3.OperationalError("disk I/O error")
            return real()

        monkeypatch.setattr(checkpointer, "_checkpoint", flaky)
        await _write(engine, 5)
        async with asyncio.timeout(10):
            while checkpointer.last is None:
                await asyncio.sleep(0.01)
        assert calls >= 2


async def test_no_thread_on_postgresql() -> None:
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1/test")
    try:
        assert database_file(engine) is None
        async with wal_checkpoints(engine) as checkpointer:
            assert checkpointer is None
    finally:
        await engine.dispose()
