"""The models and the migrations describe the same schema, on both backends."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from innovate import migrations
from innovate.db import utcnow
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


async def test_0017_gives_pulses_each_persons_choice_for_invitations(resources: Resources, make_user: Any) -> None:
    """Pulses had the invitations' setting: whoever turned invitations off does not start
    getting pulse mail when pulses get a setting of their own; stored pulses move over."""
    from alembic import command
    from sqlalchemy import insert, select

    from innovate.notifications.models import Notification, NotificationSettings

    ada, bob = await make_user("ada@example.com"), await make_user("bob@example.com")

    def downgrade(connection: Connection) -> None:
        config = migrations.alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0016")

    async with resources.engine.begin() as connection:
        await connection.run_sync(downgrade)
        await connection.execute(insert(NotificationSettings).values(user_id=ada.id, invitations="off", mentions="daily",
                                                          updated_at=utcnow()))
        for kind, category in (("pulse", "invitations"), ("added_to_room", "invitations")):
            await connection.execute(insert(Notification).values(
                user_id=bob.id, kind=kind, category=category, thread=f"{kind}:1", path="/", title="t",
                anchor="", data={}, count=1, created_at=utcnow(), updated_at=utcnow()))
    await migrations.upgrade(resources.engine)
    async with resources.db() as db:
        row = await db.get(NotificationSettings, ada.id)
        assert row is not None and (row.pulses, row.invitations, row.mentions) == ("off", "off", "daily")
        moved = (await db.execute(select(Notification.kind, Notification.category).order_by(Notification.id))).all()
        assert [tuple(r) for r in moved] == [("pulse", "pulses"), ("added_to_room", "invitations")]
    assert await migrations.is_up_to_date(resources.engine)
