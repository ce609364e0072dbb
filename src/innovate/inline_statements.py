"""Core statements that write transactions run on every post, straight on SQLite's connection.

On SQLite a statement of this application is a function call of microseconds into a local
file (:mod:`innovate.sqlite_driver`). The layers SQLAlchemy puts around it cost far more:
the session's and the connection's execute, the result, and for an ORM insert the unit of
work, about 150 to 500 µs of CPU each. A post runs four such statements (the caller's room
access, its message, the room's next seq, its event), and they were most of the time
between the request and its first live frame.

An :class:`InlineStatement` is a Core statement compiled once per dialect. On SQLite it
runs on the write transaction's own ``sqlite3`` connection, its parameters and its row
converted by the types' bind and result processors, so the values are exactly those
SQLAlchemy would have sent and handed back. On PostgreSQL, where the round trip to the
server is the cost, it runs through the session as any statement. Either way, as any Core
statement run through the session, it does not flush the session's pending changes first:
a caller that reads what it may have changed through the ORM flushes.

A write transaction on SQLite holds the database's write lock from its first statement
(``BEGIN IMMEDIATE``, run by SQLAlchemy when :meth:`AsyncSession.connection` begins it), so a
statement in it never meets a lock. A read transaction's first statement takes its read lock
and can: one that does runs again through SQLAlchemy, whose waits let the loop run.

Only public interfaces are used: ``AsyncSession.connection()``,
``AsyncConnection.get_raw_connection()`` and its ``driver_connection``, ``Compiled.positiontup``
and ``binds``, ``exported_columns``, the types' ``dialect_impl()``, ``bind_processor()`` and
``result_processor()``, and the ORM's ``identity_key()``, ``make_transient_to_detached()`` and
the session's identity map.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.dml import Insert, UpdateBase
from sqlalchemy.sql.selectable import Select

from innovate.db import dialect_name
from innovate.sqlite_driver import locked

Processor = Callable[[Any], Any] | None
T = TypeVar("T")


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the bind parameters, in the order of the SQL's placeholders
    binds: tuple[Processor, ...]
    literals: dict[str, Any]  # the statement's own values (``last_seq + 1``): not passed in
    results: tuple[Processor, ...]


class InlineStatement:
    """A Core statement that returns at most one row (an INSERT, UPDATE or DELETE, with or
    without RETURNING, or a ``select()``), for :meth:`row`."""

    def __init__(self, statement: UpdateBase | Select[Any]) -> None:
        self.statement = statement
        self._sqlite: _Compiled | None = None

    async def row(self, db: AsyncSession, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Run it in ``db``'s transaction; its first row, as SQLAlchemy would convert it."""
        if dialect_name(db) != "sqlite":
            return await self._through_session(db, params)
        sqlite3_connection, dialect = await _sqlite3_connection(db)
        compiled = self._sqlite
        if compiled is None:
            compiled = self._sqlite = _compile(self.statement, dialect)
        literals, args = compiled.literals, []
        for name, process in zip(compiled.names, compiled.binds, strict=True):
            value = literals[name] if name in literals and name not in params else params[name]
            args.append(value if process is None else process(value))
        try:
            found = execute(sqlite3_connection, compiled.sql, args)
        except sqlite3.OperationalError as exc:
            if not locked(exc):
                raise
            # Another connection holds a lock this statement needs (a read transaction's
            # first statement, say): SQLAlchemy's way waits for it without holding up the
            # loop. The statement that met the lock did nothing.
            return await self._through_session(db, params)
        if found is None:
            return None
        return tuple(value if process is None or value is None else process(value)
                     for value, process in zip(found, compiled.results, strict=True))

    async def _through_session(self, db: AsyncSession, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        connection = await db.connection()
        result = await connection.execute(self.statement, dict(params))
        found = result.first() if result.returns_rows else None
        return None if found is None else tuple(found)


def insert_row(table: Table) -> Insert:
    """An INSERT of one row with every column but the generated ``id`` as a bind parameter
    named after it: every value is passed, none is left to a Python-side default (a
    statement run straight on the connection has no execution context to compute one)."""
    return insert(table).values({column: bindparam(column.key) for column in table.c if column.key != "id"})


def execute(sqlite3_connection: sqlite3.Connection, sql: str, args: list[Any]) -> Any:
    """The statement's first row, or None. A plain cursor: the driver's own
    (``sqlite_driver.Cursor``) would wait for a lock by sleeping, on the loop's thread here."""
    return sqlite3.Cursor(sqlite3_connection).execute(sql, args).fetchone()


# The session's transaction and its sqlite3 connection, in ``Session.info``: looked up once
# per transaction (each lookup is two greenlet hand-offs).
_CONNECTION = "innovate.inline_statements.connection"


async def _sqlite3_connection(db: AsyncSession) -> tuple[sqlite3.Connection, Dialect]:
    transaction = db.sync_session.get_transaction()
    cached = db.info.get(_CONNECTION)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1], cached[2]
    connection = await db.connection()
    sqlite3_connection = (await connection.get_raw_connection()).driver_connection
    if sqlite3_connection is None:
        raise RuntimeError("the transaction's connection is closed")
    db.info[_CONNECTION] = (db.sync_session.get_transaction(), sqlite3_connection, connection.dialect)
    return sqlite3_connection, connection.dialect


def _compile(statement: UpdateBase | Select[Any], dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    binds = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
    literals = {name: compiled.binds[name].effective_value for name in names if not compiled.binds[name].required}
    # SQLite's result processors do not depend on the column's declared type in the file
    # (PostgreSQL's do: that is why driver_statements asks the server).
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                    for column in statement.exported_columns)
    return _Compiled(str(compiled), names, binds, literals, results)


def as_loaded(db: AsyncSession, instance: T) -> T:
    """The session's own instance for a model instance built from a row this transaction read
    or wrote (``driver_statements.ModelColumns``), as a query through the session would give:
    the one already in the session if it has that row, else this one, taken in as if the
    session had loaded it. A later ``get()`` finds it without a statement, and only what
    changes on it from now on is flushed."""
    present = db.sync_session.identity_map.get(identity_key(instance=instance))
    if present is not None:
        return present
    make_transient_to_detached(instance)
    db.add(instance)
    return instance
