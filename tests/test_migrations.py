"""The models and the migrations describe the same schema, on both backends."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from innovate import migrations
from innovate.models import Base
from innovate.resources import Resources


async def test_models_match_migrations(resources: Resources) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": migrations.include_name})
        return compare_metadata(context, Base.metadata)

    async with resources.engine.connect() as connection:
        changes = await connection.run_sync(diff)
    assert changes == []
    assert await migrations.is_up_to_date(resources.engine)
