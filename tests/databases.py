"""Test databases: a migrated SQLite template copied per test, and one private PostgreSQL
database per test run (so parallel runs on one server never meet), emptied after each test.

PostgreSQL comes from ``INNOVATE_TEST_DATABASE_URL`` (any database on the server; it is used
only to create and drop the private one). Unset, the local server at 127.0.0.1:5432 is tried.
In CI (``CI=true``) an unreachable server is an error, never a skip.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import warnings
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from innovate import migrations
from innovate.db import create_engine
from innovate.models import Base

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url)
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_reachable(url: str) -> str | None:
    try:
        conn = await asyncio.wait_for(asyncpg.connect(_asyncpg_dsn(url)), 5)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


def postgres_base_url() -> tuple[str | None, str]:
    """(url, reason): url is None when PostgreSQL tests must skip, with the reason why."""
    url = os.environ.get("INNOVATE_TEST_DATABASE_URL") or DEFAULT_PG
    problem = asyncio.run(_pg_reachable(url))
    if problem is None:
        return url, ""
    reason = f"PostgreSQL at {make_url(url).render_as_string()} unreachable ({problem})"
    if in_ci():
        raise RuntimeError(f"CI requires PostgreSQL: {reason}")
    return None, reason + "; set INNOVATE_TEST_DATABASE_URL to run these tests"


async def create_private_pg_database(base_url: str) -> str:
    name = f"innovate_test_{os.getpid()}_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(_asyncpg_dsn(base_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url, pool_size=1)
    try:
        await migrations.upgrade(engine)
    finally:
        await engine.dispose()
    return url


async def drop_pg_database(base_url: str, url: str) -> None:
    name = make_url(url).database
    conn = await asyncpg.connect(_asyncpg_dsn(base_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def create_sqlite_template(path: Path) -> None:
    engine = create_engine(f"sqlite:///{path}", pool_size=1)
    try:
        await migrations.upgrade(engine)
    finally:
        await engine.dispose()  # closing the last connection checkpoints the WAL into the file


def copy_sqlite(template: Path, target: Path) -> str:
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


async def empty_all_tables(engine: AsyncEngine) -> None:
    """Leave the shared PostgreSQL database as the next test expects it: empty.

    The database belongs to this test process, so at teardown nothing but this engine's idle
    connections should be on it. A session a test left inside a transaction would make the
    TRUNCATE wait for its locks forever; instead the wait is bounded, the sessions in the way
    are named in a warning (so the leak can be found) and ended, and the TRUNCATE runs again.
    """
    try:
        await _truncate(engine)
    except DBAPIError as exc:
        if _sqlstate(exc) != LOCK_NOT_AVAILABLE:
            raise
        ended = await _end_other_sessions(engine)
        warnings.warn(f"emptying the test database waited on sessions left open: {ended}", stacklevel=1)
        await _truncate(engine)


LOCK_NOT_AVAILABLE = "55P03"


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


async def _truncate(engine: AsyncEngine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL lock_timeout = '5s'"))
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


async def _end_other_sessions(engine: AsyncEngine) -> list[dict[str, object]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT pid, state, xact_start, wait_event_type, left(query, 200) AS query,"
            " pg_terminate_backend(pid) AS ended"
            " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND state <> 'idle'"))).mappings().all()
    return [dict(row) for row in rows]
