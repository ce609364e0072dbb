"""SQLite for the asyncio engine, run on the event loop's own thread.

A SQLite statement of this application takes microseconds (a point lookup ~10 µs, an
insert ~20 µs): it is a function call into a local file, not a network round trip. The
usual asyncio driver, aiosqlite, hands every call to a thread of its own connection and
back, and that hand-off costs far more than the statement: two thread wake-ups and a
GIL hand-over per call, 0.15 ms on one core and about 0.9 ms across two on a small VM,
several calls per statement. A posted message runs about eight statements, and the live
pump reads each batch back before it renders it, so most of the time between a post and
its frame leaving the server was spent waking threads.

Here SQLAlchemy's own ``sqlite3`` dialect runs under the async engine, so statements run
inline, in the greenlet SQLAlchemy already uses for every async call. The one thing that
must not block the loop is waiting for another writer's lock (another process: the CLI, a
backup, a second worker; writers of this process already queue on the session factory's
gate). So SQLite's own busy handler, which sleeps in the thread, is off (``timeout=0``):
a statement that meets a lock raises at once, and the cursor waits for it with
``asyncio.sleep`` in between attempts, letting the loop (and the lock holder, if it is
this process) run, for up to ``BUSY_TIMEOUT_SECONDS`` before the error surfaces as it did
with the busy handler. A statement that met a lock did nothing and is safe to run again.

The price: a statement that is slow in itself holds up the loop for as long as it runs.
Everything this application runs on SQLite is indexed (full text through FTS5); an
installation whose data outgrows that is one that should be on PostgreSQL anyway.

What the driver needs of SQLAlchemy beyond its public API (the greenlet it runs in, a hook
its cursors must have) comes from ``innovate.sqlalchemy_internals``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, make_url

from innovate.sqlalchemy_internals import PrefetchedCursor, await_, in_greenlet

# As long as SQLite's busy timeout was: past it a write would fail anyway.
BUSY_TIMEOUT_SECONDS = 30.0
FIRST_WAIT_SECONDS = 0.001
LONGEST_WAIT_SECONDS = 0.05
# A read transaction that tries to write after another connection committed: its snapshot
# is stale for good, so waiting cannot help (the transaction has to start over).
SQLITE_BUSY_SNAPSHOT = 517

T = TypeVar("T")


def locked(exc: sqlite3.OperationalError) -> bool:
    """Would the statement succeed once another connection lets go of its lock?"""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code != SQLITE_BUSY_SNAPSHOT and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "database is locked" in str(exc)


def _pause(seconds: float) -> None:
    """Wait without holding up the event loop when called from SQLAlchemy's async layer."""
    if in_greenlet():
        await_(asyncio.sleep(seconds))
    else:  # a plain synchronous caller (none in the server): nothing else to let run
        time.sleep(seconds)


async def _nothing() -> None:
    return None


def _until_unlocked(call: Callable[[], T]) -> T:
    if in_greenlet():
        # Core's AsyncConnection.execute() insists that the driver awaited something: one
        # await of a coroutine that returns at once (a greenlet switch, no loop iteration).
        await_(_nothing())
    started = time.monotonic()
    wait = FIRST_WAIT_SECONDS
    while True:
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if not locked(exc) or time.monotonic() - started >= BUSY_TIMEOUT_SECONDS:
                raise
        _pause(wait)
        wait = min(wait * 2, LONGEST_WAIT_SECONDS)


class Cursor(sqlite3.Cursor, PrefetchedCursor):
    """Rows are read in full by ``execute``, as SQLAlchemy's async drivers do: a result may
    be read after its session has given the connection back (and rolled it back)."""

    _rows: deque[Any] | None = None

    def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        _until_unlocked(lambda: sqlite3.Cursor.execute(self, sql, parameters))
        self._rows = deque(sqlite3.Cursor.fetchall(self)) if self.description is not None else None
        return self

    def executemany(self, sql: str, seq_of_parameters: Any) -> Cursor:
        params = list(seq_of_parameters)  # may be run again: not a one-shot iterator
        _until_unlocked(lambda: sqlite3.Cursor.executemany(self, sql, params))
        self._rows = None
        return self

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = self._rows
        if not rows:
            return []
        count = min(len(rows), self.arraysize if size is None else size)
        return [rows.popleft() for _ in range(count)]

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, None
        return list(rows) if rows else []


class Connection(sqlite3.Connection):
    def cursor(self, factory: Any = Cursor) -> Any:
        return super().cursor(factory)

    def commit(self) -> None:
        _until_unlocked(super().commit)


class _Module:
    """``sqlite3`` as the DBAPI module, with connections that wait for locks as above."""

    def __getattr__(self, name: str) -> Any:
        return getattr(sqlite3, name)

    @staticmethod
    def connect(*args: Any, **kwargs: Any) -> Connection:
        kwargs.update(factory=Connection, timeout=0, check_same_thread=False)
        return sqlite3.connect(*args, **kwargs)


class SQLiteDialect_inline(SQLiteDialect_pysqlite):  # noqa: N801 - SQLAlchemy's naming
    driver = "inline"
    is_async = True
    has_terminate = True
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        return _Module()

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        # An in-memory database lives as long as its one connection: every session shares it.
        return pool.AsyncAdaptedQueuePool if file_database(url) else pool.StaticPool

    def do_terminate(self, dbapi_connection: Any) -> None:
        dbapi_connection.close()


def file_database(url: URL) -> bool:
    """Is this a database in a file, rather than in memory (``sqlite://``, ``:memory:``,
    ``file:name?mode=memory&uri=true``)?"""
    return bool(url.database) and url.database != ":memory:" and url.query.get("mode") != "memory"


registry.register("sqlite.inline", __name__, "SQLiteDialect_inline")


def inline_url(url: str | URL) -> URL:
    """The same database through this driver (``sqlite:///``, ``sqlite+aiosqlite:///``)."""
    return make_url(url).set(drivername="sqlite+inline")
