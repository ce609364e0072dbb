"""``innovate db backup PATH`` and ``innovate db restore PATH``.

- SQLite: the backup is SQLite's online backup of the live database, taken in one step from
  a read snapshot, so it is consistent while the app keeps writing (WAL readers never block
  writers). It lands in a temporary file next to PATH and is renamed into place once checked.
  A restore replaces the database file by a rename, so the file is either the old one or the
  whole backup, never a mix; stop the app first.
- PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists``, which need
  the PostgreSQL client programs (of the server's major version or newer) on PATH.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from innovate.settings import Settings


class BackupError(Exception):
    """A backup or restore that cannot go ahead; ``str(err)`` says why and what to do."""


def sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.resolved_database_url).database
    if not database or database == ":memory:":
        raise BackupError("the SQLite database is in memory; there is nothing to back up")
    return Path(database)


def _temporary_beside(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    return Path(name)


def _copy_sqlite(source: Path, target: Path) -> None:
    """Online backup of ``source`` into ``target`` as a self-contained file (no WAL beside it)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # all pages in one step: one consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")
            problem = dst.execute("PRAGMA quick_check").fetchone()[0]
            if problem != "ok":
                raise BackupError(f"the copy failed its integrity check: {problem}")
        finally:
            dst.close()
    finally:
        src.close()


def _check_innovate_database(path: Path) -> None:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError(f"{path} is damaged (integrity check failed)")
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not an SQLite database ({exc})") from None
    if "alembic_version" not in tables:
        raise BackupError(f"{path} is not an Innovate backup (it has no alembic_version table)")


def backup_sqlite(settings: Settings, target: Path, *, force: bool = False) -> Path:
    source = sqlite_path(settings)
    if not source.exists():
        raise BackupError(f"no database at {source}")
    if target.exists() and not force:
        raise BackupError(f"{target} exists; choose a new path or pass --force to overwrite it")
    partial = _temporary_beside(target)
    try:
        _copy_sqlite(source, partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def restore_sqlite(settings: Settings, backup: Path, *, force: bool = False) -> Path:
    target = sqlite_path(settings)
    if not backup.is_file():
        raise BackupError(f"no backup file at {backup}")
    _check_innovate_database(backup)
    if target.exists() and not force:
        raise BackupError(
            f"{target} exists; stop the app, then pass --force to replace it with {backup}"
        )
    partial = _temporary_beside(target)
    try:
        _copy_sqlite(backup, partial)
        # A write-ahead log left by the old database would be replayed into the new file.
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


# PostgreSQL --------------------------------------------------------------------------------


def _libpq(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection options for pg_dump/pg_restore; the password goes in the environment, never
    on the command line where other users could see it."""
    args = ["--dbname", url.database or "postgres"]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    sslmode = url.query.get("ssl") or url.query.get("sslmode")
    if isinstance(sslmode, str):
        env["PGSSLMODE"] = sslmode
    return args, env


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed; install the PostgreSQL client programs of your server's major version "
            "(Debian/Ubuntu: apt-get install postgresql-client) or run it where PostgreSQL runs"
        )
    return found


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line for line in (result.stderr or result.stdout).strip().splitlines() if line]
        detail = lines[-1] if lines else f"exit status {result.returncode}"
        raise BackupError(f"{Path(command[0]).name} failed: {detail}")


def backup_postgres(settings: Settings, target: Path, *, force: bool = False) -> Path:
    program = _program("pg_dump")
    if target.exists() and not force:
        raise BackupError(f"{target} exists; choose a new path or pass --force to overwrite it")
    args, env = _libpq(make_url(settings.resolved_database_url))
    partial = _temporary_beside(target)
    try:
        _run([program, "--format=custom", "--no-owner", "--no-privileges", "--file", str(partial), *args], env)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def restore_postgres(settings: Settings, backup: Path, *, has_schema: bool, force: bool = False) -> None:
    program = _program("pg_restore")
    if not backup.is_file():
        raise BackupError(f"no backup file at {backup}")
    if has_schema and not force:
        raise BackupError("the database already holds Innovate tables; stop the app, then pass --force to replace them")
    args, env = _libpq(make_url(settings.resolved_database_url))
    _run([program, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", *args, str(backup)], env)


async def postgres_has_schema(settings: Settings) -> bool:
    from innovate.db import create_engine

    engine = create_engine(settings.resolved_database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
            return bool(found.scalar())
    finally:
        await engine.dispose()


def backup(settings: Settings, target: Path, *, force: bool = False) -> Path:
    if settings.is_sqlite:
        return backup_sqlite(settings, target, force=force)
    return backup_postgres(settings, target, force=force)


def restore(settings: Settings, source: Path, *, force: bool = False) -> None:
    if settings.is_sqlite:
        restore_sqlite(settings, source, force=force)
        return
    _program("pg_restore")  # say what is missing before touching the database
    has_schema = asyncio.run(postgres_has_schema(settings))
    restore_postgres(settings, source, has_schema=has_schema, force=force)
