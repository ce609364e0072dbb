"""`innovate db backup` / `innovate db restore`: a backup taken while the app runs, restored,
holds every row of every table."""

from __future__ import annotations

import asyncio
import os
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import (
    JSON,
    Column,
    ColumnDefault,
    Table,
    TypeDecorator,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from innovate import backups
from innovate.db import create_engine
from innovate.models import Base
from innovate.resources import Resources
from innovate.settings import Settings
from tests.databases import _asyncpg_dsn
from tests.servers import INNOVATE

ROWS_PER_TABLE = 2
BASE_TIME = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)

Snapshot = dict[str, list[tuple[Any, ...]]]


def _synthesize(table: Table, column: Column[Any], i: int, ids: dict[str, list[Any]]) -> Any:
    """A valid value for one column of row ``i``: foreign keys point at row ``i`` of the parent
    (row ``i - 1`` for a self-reference), other values depend on the column's type."""
    for fk in column.foreign_keys:
        parent = fk.column.table.name
        if parent == table.name:
            return ids[parent][i - 1] if i > 0 else None
        return ids[parent][i]
    default = column.default.arg if isinstance(column.default, ColumnDefault) and column.default.is_scalar else None
    column_type = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
    kind: type[Any]
    try:
        kind = dict if isinstance(column_type, JSON) else column_type.python_type
    except NotImplementedError:
        kind = object
    if kind is bool:
        return i % 2 == 0
    if kind is int:
        return i + 1
    if kind is float:
        return 1.5 + i
    if kind is Decimal:
        return Decimal("1.25") + i
    if kind is datetime:
        return BASE_TIME + timedelta(days=i, seconds=i)
    if kind is str:
        if isinstance(default, str) and not column.unique:
            return default
        length = getattr(column.type, "length", None) or 200
        return f"{table.name}-{column.name}-{i}@example.com"[-length:]
    if kind is bytes:
        return bytes([i]) * 8
    if kind in (dict, list):
        return {"row": i, "table": table.name, "nested": {"ok": True}}
    raise AssertionError(f"test_backup does not know how to fill {table.name}.{column.name} ({column.type})")


async def seed_every_table(engine: AsyncEngine) -> None:
    ids: dict[str, list[Any]] = {}
    async with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            pk = list(table.primary_key.columns)
            ids[table.name] = []
            for i in range(ROWS_PER_TABLE):
                # The database numbers only a table's autoincrement column; a primary key that is
                # also a foreign key (one row per user, say) is filled like any other column.
                values = {
                    c.name: _synthesize(table, c, i, ids)
                    for c in table.columns
                    if c is not table.autoincrement_column
                }
                result = await conn.execute(insert(table).values(**values).returning(*pk))
                ids[table.name].append(result.one()[0])


async def snapshot(engine: AsyncEngine) -> Snapshot:
    found: Snapshot = {}
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = await conn.execute(select(table).order_by(*table.primary_key.columns))
            found[table.name] = [tuple(row) for row in rows]
        revision = await conn.execute(text("SELECT version_num FROM alembic_version"))
        found["alembic_version"] = [tuple(row) for row in revision]
    return found


def innovate(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOVATE_")}
    env.update({
        "INNOVATE_DATABASE_URL": settings.resolved_database_url,
        "INNOVATE_DATA_DIR": str(settings.data_dir),
        "INNOVATE_SECRET_KEY": settings.secret_key,
    })
    return subprocess.run([INNOVATE, *args], env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def assert_complete(before: Snapshot, after: Snapshot) -> None:
    assert set(after) == set(before)
    for name, rows in before.items():
        assert len(rows) >= 1, f"{name} was not seeded"
        assert after[name] == rows, f"{name} differs after restore"


async def _sabotage(engine: AsyncEngine) -> None:
    """Changes after the backup, which the restore must undo."""
    async with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(delete(table))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_sqlite_backup_while_running_then_restore_finds_every_row(
    resources: Resources, settings: Settings, tmp_path: Path
) -> None:
    await seed_every_table(resources.engine)
    before = await snapshot(resources.engine)
    target = tmp_path / "backups" / "innovate-backup.db"

    # The app's engine stays open (rows still in its write-ahead log) while the backup runs.
    done = await asyncio.to_thread(innovate, settings, "db", "backup", str(target))
    assert done.returncode == 0, done.stderr
    assert target.is_file() and not Path(f"{target}-wal").exists()
    again = await asyncio.to_thread(innovate, settings, "db", "backup", str(target))
    assert again.returncode == 1 and "--force" in again.stderr

    await _sabotage(resources.engine)
    assert sum(len(rows) for name, rows in (await snapshot(resources.engine)).items() if name != "alembic_version") == 0
    await resources.engine.dispose()

    refused = await asyncio.to_thread(innovate, settings, "db", "restore", str(target))
    assert refused.returncode == 1 and "--force" in refused.stderr
    restored = await asyncio.to_thread(innovate, settings, "db", "restore", "--force", str(target))
    assert restored.returncode == 0, restored.stderr

    engine = create_engine(settings.resolved_database_url, pool_size=1)
    try:
        assert_complete(before, await snapshot(engine))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_restore_refuses_a_file_that_is_not_a_backup(settings: Settings, tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    result = await asyncio.to_thread(innovate, settings, "db", "restore", "--force", str(junk))
    assert result.returncode == 1 and "not an SQLite database" in result.stderr
    missing = await asyncio.to_thread(innovate, settings, "db", "restore", str(tmp_path / "nope.db"))
    assert missing.returncode == 1 and "no backup file" in missing.stderr


async def _create_database(base_url: str, name: str) -> str:
    conn = await asyncpg.connect(_asyncpg_dsn(base_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


async def _drop_database(base_url: str, name: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(base_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_postgres_backup_and_restore_finds_every_row(
    resources: Resources, settings: Settings, tmp_path: Path
) -> None:
    await seed_every_table(resources.engine)
    before = await snapshot(resources.engine)
    target = tmp_path / "innovate.dump"
    done = await asyncio.to_thread(innovate, settings, "db", "backup", str(target))
    assert done.returncode == 0, done.stderr
    assert target.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format

    # The live database has the schema: restoring over it needs --force.
    refused = await asyncio.to_thread(innovate, settings, "db", "restore", str(target))
    assert refused.returncode == 1 and "--force" in refused.stderr

    # Disaster recovery: a new, empty database gets everything back.
    name = f"{make_url(settings.resolved_database_url).database}_restore"
    url = await _create_database(settings.resolved_database_url, name)
    try:
        fresh = settings.model_copy(update={"database_url": url})
        restored = await asyncio.to_thread(innovate, fresh, "db", "restore", str(target))
        assert restored.returncode == 0, restored.stderr
        engine = create_engine(url, pool_size=1)
        try:
            assert_complete(before, await snapshot(engine))
            # Sequences came along: the next insert does not collide with restored ids.
            async with engine.begin() as conn:
                users = Base.metadata.tables["users"]
                await conn.execute(insert(users).values(name="after restore", email="after@example.com"))
                assert (await conn.execute(select(func.count()).select_from(users))).scalar() == ROWS_PER_TABLE + 1
        finally:
            await engine.dispose()

        # Over an existing database, --force replaces what changed since the backup.
        await _sabotage(resources.engine)
        forced = await asyncio.to_thread(innovate, settings, "db", "restore", "--force", str(target))
        assert forced.returncode == 0, forced.stderr
        assert_complete(before, await snapshot(resources.engine))
    finally:
        await _drop_database(settings.resolved_database_url, name)


def test_postgres_backup_without_pg_dump_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    settings = Settings(database_url="postgresql+asyncpg://innovate@127.0.0.1/innovate", data_dir=tmp_path)
    with pytest.raises(backups.BackupError, match="pg_dump is not installed.*postgresql-client"):
        backups.backup(settings, tmp_path / "x.dump")
