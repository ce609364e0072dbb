"""The parts of SQLAlchemy that are not its public API, and that Innovate relies on.

Checked against SQLAlchemy 2.1.9, the version pyproject.toml pins (``CHECKED_WITH``). The rest
of Innovate uses SQLAlchemy's public API only and imports nothing private from it: whatever is
private goes through this module, so an upgrade has one place to look.

What is here, and what for (all of it serves ``innovate.sqlite_driver``, which runs SQLite
statements on the event loop's thread inside SQLAlchemy's asyncio layer):

- ``await_(awaitable)`` and ``in_greenlet()`` (``sqlalchemy.util.concurrency``). SQLAlchemy's
  asyncio layer runs every synchronous step of a statement in a greenlet of its own;
  ``await_`` suspends that greenlet until the coroutine it is given is done, with the event
  loop running meanwhile, and ``in_greenlet`` says whether the caller is in such a greenlet.
  The driver awaits ``asyncio.sleep`` between attempts at a locked database this way (a
  synchronous caller outside the asyncio layer sleeps instead), and awaits one coroutine that
  returns at once per statement, because ``AsyncConnection.execute()`` raises
  ``AwaitRequired`` when a driver awaited nothing. SQLAlchemy's own asyncio drivers are
  built on the same two functions; no public API offers them.
- ``PrefetchedCursor``, for the hook ``_async_soft_close()``: after a buffered result is read,
  the asyncio layer awaits this method on the DBAPI cursor of an async dialect
  (``sqlalchemy.ext.asyncio.result._ensure_sync_result``) so that a driver can close the
  cursor while keeping its rows. The driver's cursor has read its rows in full already and
  has nothing to do, but it must have the method.

Replaced by public API, and therefore not used any more:

- ``sqlalchemy.ext.asyncio.session._AsyncSessionContextManager`` (a write session with its
  transaction): ``innovate.db.SessionFactory`` keeps a second ``async_sessionmaker``, bound
  to the write engine, and returns its ``begin()``, which builds the same object.
- ``SQLiteDialect_pysqlite._is_url_file_db`` (which pool a URL gets): the driver tells a file
  database from an in-memory one itself (``innovate.sqlite_driver.file_database``).
- the asyncpg adapter's ``ping()`` (the pool's check of an idle PostgreSQL connection): the
  dialect's ``do_ping()``, part of the ``Dialect`` interface, runs it.

On an upgrade of SQLAlchemy: run ``pytest tests/test_sqlalchemy_internals.py``. It fails first
on ``CHECKED_WITH``, so that each upgrade reads this page; then on every internal above that is
gone or behaves differently, naming it. Look the name up in SQLAlchemy's changelog and in
``sqlalchemy/connectors/asyncio.py`` (its own async drivers use the same internals and move
with them), change this module only, and set ``CHECKED_WITH`` to the new version once the
module's tests and ``tests/test_sqlite_driver.py`` pass.
"""

from __future__ import annotations

from sqlalchemy.util.concurrency import await_, in_greenlet

__all__ = ["CHECKED_WITH", "PrefetchedCursor", "await_", "in_greenlet"]

# The SQLAlchemy release this module was read against (the pin in pyproject.toml).
CHECKED_WITH = "2.1.9"


class PrefetchedCursor:
    """Mixed into a DBAPI cursor whose ``execute`` reads every row at once, for what
    SQLAlchemy's asyncio layer calls on such a cursor beyond the DBAPI."""

    __slots__ = ()

    async def _async_soft_close(self) -> None:
        """Close the cursor but keep its rows: they are read already, nothing is pending."""
