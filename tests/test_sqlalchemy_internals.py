"""What innovate.sqlalchemy_internals takes from SQLAlchemy beyond its public API is still
there and still behaves as the SQLite driver needs. An upgrade that changes it fails here,
naming what changed, before a server starts on it."""

from __future__ import annotations

import ast
import asyncio
import importlib.metadata
import re
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import pool, text
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_cursor
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from innovate import sqlalchemy_internals
from innovate.db import create_engine
from innovate.sqlalchemy_internals import CHECKED_WITH, PrefetchedCursor, await_, in_greenlet
from innovate.sqlite_driver import Cursor, file_database

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
HOOK = "_async_soft_close"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'internals.db'}", pool_size=1)
    yield engine
    await engine.dispose()


def _pinned() -> str:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pins = [match.group(1) for dep in dependencies if (match := re.fullmatch(r"sqlalchemy(?:\[[^]]*\])?==(\S+)", dep))]
    assert len(pins) == 1, f"pyproject.toml should pin one exact SQLAlchemy release: {dependencies}"
    return pins[0]


def test_the_adapter_was_checked_against_the_sqlalchemy_in_use() -> None:
    installed = importlib.metadata.version("sqlalchemy")
    assert CHECKED_WITH == _pinned() == installed, (
        f"SQLAlchemy {installed} (pyproject.toml pins {_pinned()}), but innovate.sqlalchemy_internals was "
        f"checked against {CHECKED_WITH}: read its docstring, run this module's other tests, then set CHECKED_WITH"
    )


def test_the_adapter_is_the_one_place_that_imports_private_sqlalchemy_names() -> None:
    package = Path(sqlalchemy_internals.__file__).parent
    known = {"_async_soft_close", "_AsyncSessionContextManager", "_is_url_file_db", "_maker_context_manager"}
    offenders = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "sqlalchemy_internals.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
            if isinstance(node, ast.ImportFrom) and module.split(".")[0] == "sqlalchemy":
                parts = module.split(".") + [alias.name for alias in node.names]
                if module.startswith("sqlalchemy.util") or any(part.startswith("_") for part in parts):
                    offenders.append(f"{path.relative_to(package)}:{node.lineno}")
            elif isinstance(node, ast.Attribute) and node.attr in known:
                offenders.append(f"{path.relative_to(package)}:{node.lineno}")
    assert not offenders, f"SQLAlchemy internals used outside innovate.sqlalchemy_internals: {offenders}"


# await_ and in_greenlet -------------------------------------------------------------------


async def test_await_suspends_sqlalchemys_greenlet_while_the_loop_runs(engine: AsyncEngine) -> None:
    """The driver's wait for a locked database: inside the asyncio layer's greenlet, ``await_``
    hands a coroutine to the loop and returns its result; other tasks run meanwhile."""
    ran: list[str] = []

    async def other_task() -> None:
        ran.append("other")

    def in_sqlalchemys_greenlet(_sync_connection: Any) -> tuple[bool, int]:
        inside = in_greenlet()
        asyncio.get_running_loop().create_task(other_task())
        value = await_(asyncio.sleep(0.01, result=42))
        assert ran == ["other"], "the loop did not run while the greenlet waited"
        return inside, value

    async with engine.connect() as conn:
        assert await conn.run_sync(in_sqlalchemys_greenlet) == (True, 42)


def test_outside_the_asyncio_layer_in_greenlet_says_so() -> None:
    # A synchronous caller (no greenlet of SQLAlchemy's): the driver sleeps instead of await_.
    assert in_greenlet() is False


async def test_a_statement_awaits_something_as_the_asyncio_layer_demands(engine: AsyncEngine) -> None:
    # AsyncConnection.execute() raises AwaitRequired for a driver that awaited nothing; the
    # driver awaits one coroutine per statement for it.
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1


# The cursor hook ----------------------------------------------------------------------------


def test_sqlalchemys_own_async_cursors_still_have_the_hook() -> None:
    # SQLAlchemy's async drivers implement the same hook: a rename shows here first.
    assert callable(getattr(AsyncAdapt_dbapi_cursor, HOOK, None)), (
        f"SQLAlchemy's AsyncAdapt_dbapi_cursor has no {HOOK}() any more: see what its asyncio result "
        "layer calls on a cursor now, and give PrefetchedCursor that method instead"
    )
    assert callable(getattr(Cursor, HOOK, None)) and issubclass(Cursor, PrefetchedCursor)


async def test_the_asyncio_layer_awaits_the_hook_on_the_drivers_cursor(engine: AsyncEngine,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []

    async def counting(self: Any) -> None:
        calls.append(self)

    monkeypatch.setattr(PrefetchedCursor, HOOK, counting)
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT 1 UNION ALL SELECT 2"))
    assert result.scalars().all() == [1, 2]  # rows read after the connection went back
    assert calls and isinstance(calls[0], Cursor), (
        f"SQLAlchemy no longer awaits {HOOK}() on a driver's cursor: PrefetchedCursor can go"
    )


# Public replacements for former internals ------------------------------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite+inline:///{tmp}/file.db", pool.AsyncAdaptedQueuePool),
    ("sqlite+inline://", pool.StaticPool),
    ("sqlite+inline:///:memory:", pool.StaticPool),
    ("sqlite+inline:///file:shared?mode=memory&uri=true", pool.StaticPool),
])
async def test_a_file_database_gets_a_queue_pool_and_a_memory_one_a_single_connection(
        url: str, expected: type[pool.Pool], tmp_path: Path) -> None:
    url = url.format(tmp=tmp_path)
    assert file_database(make_url(url)) is (expected is pool.AsyncAdaptedQueuePool)
    engine = create_async_engine(url)  # SQLAlchemy asks the dialect which pool to use
    try:
        assert type(engine.sync_engine.pool) is expected
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
