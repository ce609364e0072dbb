"""Schema migrations: upgrade, and the check that refuses to serve an out-of-date database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

# Search structures built by raw SQL in migrations 0002 and 0011 (FTS5 shadow tables,
# trigram and full-text expression indexes); they are not part of the ORM metadata, so
# schema comparisons skip them.
SEARCH_OBJECTS = ("ideas_fts", "ix_ideas_title_trgm", "messages_fts", "ix_ideas_text", "ix_messages_text")

# env.py, script.py.mako and versions/ ship inside the package, next to this file.
SCRIPTS = Path(__file__).resolve().parent


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return not (name or "").startswith(SEARCH_OBJECTS)


def alembic_config(url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    def _upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def is_up_to_date(engine: AsyncEngine) -> bool:
    return await current_revision(engine) == head_revision()
