"""Engine, session factory and the few dialect differences the service code needs."""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import DateTime, MetaData, TypeDecorator, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from innovate.driver_statements import Driver
from innovate.sqlite_checkpoints import FOREGROUND_PAGES
from innovate.sqlite_driver import inline_url

# Named constraints keep Alembic's batch mode (SQLite) and PostgreSQL in agreement.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use innovate.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


def utcnow() -> datetime:
    return datetime.now(UTC)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy own transactions so every write transaction can BEGIN IMMEDIATE:
        # a deferred transaction that reads and then writes fails with SQLITE_BUSY under
        # concurrency instead of waiting for the lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # No busy_timeout: SQLite's busy handler would sleep on the event loop's thread.
        # innovate.sqlite_driver waits for locks with asyncio.sleep instead.
        cursor.execute("PRAGMA synchronous=NORMAL")
        # The server checkpoints the WAL in a thread (innovate.sqlite_checkpoints): a commit
        # does it only past this many pages, not on the loop every thousand.
        cursor.execute(f"PRAGMA wal_autocheckpoint={FOREGROUND_PAGES}")
        try:
            cursor.execute("SELECT sqrt(1.0)")
        except Exception:
            # SQLite built without its math functions: ranking SQL (Wilson bound) needs sqrt.
            dbapi_connection.create_function("sqrt", 1, math.sqrt, deterministic=True)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Reads take no lock in WAL mode; writes take the write lock up front.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN")


# A pooled connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 5.0
_RETURNED_AT = "innovate_returned_at"


def _check_connections(engine: AsyncEngine) -> None:
    """Hand out only live connections, without a round trip for the ones in steady use.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout, and on asyncpg a ping is three
    round trips (BEGIN, an empty query, ROLLBACK): about 0.3 ms of CPU per checkout, more than
    the statement a token lookup then runs. Instead:

    - a connection whose server end has gone (a restart, ``pg_terminate_backend``, an idle
      timeout) is known to asyncpg as closed as soon as its socket reports it, at no cost;
    - a connection idle for over ``PING_AFTER_IDLE_SECONDS`` may sit on a dead network path
      that never reported anything: that one is pinged.

    Raising ``DisconnectionError`` here makes the pool drop the connection and hand out a
    fresh one, so neither case costs a request.
    """

    def _stamp(_dbapi_connection: Any, record: Any) -> None:
        # A new connection, and one handed back, count as used just now.
        if record is not None:  # None: checked in after being invalidated
            record.info[_RETURNED_AT] = time.monotonic()

    event.listen(engine.sync_engine, "connect", _stamp)
    event.listen(engine.sync_engine, "checkin", _stamp)

    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if record.driver_connection.is_closed():
            raise DisconnectionError("the server closed this connection")
        if time.monotonic() - record.info.get(_RETURNED_AT, 0.0) > PING_AFTER_IDLE_SECONDS:
            try:
                dialect.do_ping(dbapi_connection)
            except Exception as exc:
                raise DisconnectionError(f"the connection failed its ping: {exc}") from exc


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    # hide_parameters: database errors end up in logs, and parameters can be message bodies.
    if url.startswith("sqlite"):
        engine = create_async_engine(inline_url(url), pool_size=pool_size, max_overflow=0, pool_timeout=60,
                                     hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    # A fixed pool: an overflow connection is closed as soon as the pool holds enough idle
    # ones, so under a burst the process would open and close connections all the time (a
    # backend started and torn down for each, on both sides of the socket).
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=0, pool_timeout=30, hide_parameters=True
    )
    _check_connections(engine)
    return engine


WRITE_OPTION = "innovate_write"


class SessionFactory(async_sessionmaker[AsyncSession]):
    """``factory()`` opens a session for reading; ``factory.begin()`` a write transaction;
    ``factory.lookup()`` a session for a single read statement.

    On SQLite a write transaction starts with BEGIN IMMEDIATE: it waits for the write lock
    instead of failing with SQLITE_BUSY when it upgrades from reading to writing. Writers
    of one process also queue on an in-process gate first: a wait for the lock polls with
    sleeps of up to 50 ms (``innovate.sqlite_driver``), which under a burst of posts costs
    more than the writes themselves. Other processes (the CLI, a second worker) still meet
    at the lock.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine, expire_on_commit=False, autoflush=False)
        write_engine = engine.execution_options(**{WRITE_OPTION: True})
        # Write sessions come from a maker of their own (these settings, the write engine):
        # its begin() opens a session and its transaction in one.
        self._writes = async_sessionmaker(class_=self.class_, **{**self.kw, "bind": write_engine})
        # PostgreSQL runs a lone statement in its own transaction: no BEGIN and ROLLBACK
        # around it, one round trip instead of three (SQLite reads are unchanged).
        self._lookup_engine = (engine.execution_options(isolation_level="AUTOCOMMIT")
                               if engine.dialect.name == "postgresql" else engine)
        self._gated = engine.dialect.name == "sqlite"
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    def lookup(self) -> AsyncSession:
        """A session whose statements each run in a transaction of their own (on PostgreSQL,
        without BEGIN and COMMIT): the session or token lookup that every request starts with.
        Statements in it do not share a snapshot."""
        return self(bind=self._lookup_engine)

    @asynccontextmanager
    async def driver(self) -> AsyncIterator[Driver]:
        """PostgreSQL only: the driver's connection of a pooled connection, in autocommit, for
        :mod:`innovate.driver_statements` (each statement a transaction of its own, as in
        :meth:`lookup`). The pool checks it out and back in as any other; one whose statement
        failed other than by the database refusing it is closed, not reused."""
        if self._gated:
            raise RuntimeError("driver statements run on PostgreSQL")
        async with self._lookup_engine.connect() as conn:
            pooled = await conn.get_raw_connection()
            driver = Driver(pooled.driver_connection, self._lookup_engine.dialect)
            try:
                yield driver
            finally:
                if driver.broken:
                    await conn.invalidate()

    # The base class's begin() is typed with its private context manager class; this one also
    # returns a session with its transaction, on SQLite after queueing on the gate.
    def begin(self) -> AbstractAsyncContextManager[AsyncSession]:  # type: ignore[override]
        if not self._gated:
            return self._writes.begin()
        return self._gated_begin()

    @asynccontextmanager
    async def _gated_begin(self) -> AsyncIterator[AsyncSession]:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Lock()
        try:
            async with asyncio.timeout(WRITE_GATE_WAIT_SECONDS):
                await gate.acquire()
            held = True
        except TimeoutError:
            held = False  # a writer held on for long: leave the wait to SQLite's busy timeout
        try:
            async with self._writes.begin() as session:
                yield session
        finally:
            if held:
                gate.release()


# As long as the wait for SQLite's lock (sqlite_driver.BUSY_TIMEOUT_SECONDS): past it a
# write would fail anyway.
WRITE_GATE_WAIT_SECONDS = 30


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return SessionFactory(engine)


def dialect_name(session: AsyncSession) -> str:
    """``postgresql`` or ``sqlite``: the backend the session talks to."""
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def _dialect_module(name: str) -> ModuleType:
    return postgresql if name == "postgresql" else sqlite


def insert_for(session: AsyncSession, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that supports ``on_conflict_do_*`` on the session's backend."""
    if dialect_name(session) == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def affected(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (``execute`` types its answer as a plain
    ``Result``; for these statements it is a ``CursorResult``, which has the count)."""
    return cast(CursorResult[Any], result).rowcount


def is_postgres(session: AsyncSession) -> bool:
    return dialect_name(session) == "postgresql"


S = TypeVar("S")


class PerDialect(Generic[S]):
    """A statement that differs by backend (an upsert), built once per backend on first use.

    Hot paths (votes, rate counters) run such statements on every request; building them
    each time costs more than running them.
    """

    def __init__(self, build: Callable[[ModuleType], S]) -> None:
        self._build = build
        self._built: dict[str, S] = {}

    def __call__(self, session: AsyncSession) -> S:
        name = dialect_name(session)
        statement = self._built.get(name)
        if statement is None:
            statement = self._built[name] = self._build(_dialect_module(name))
        return statement

