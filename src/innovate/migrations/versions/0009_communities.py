"""Communities: a room's kind, its optional ideas board, the flag of a community without an
owner, and the community a challenge grew out of.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import innovate.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), server_default="challenge", nullable=False))
        batch.add_column(sa.Column("ideas_board", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.add_column(sa.Column("orphaned_at", innovate.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("grown_from_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f("fk_rooms_grown_from_id_rooms"), "rooms", ["grown_from_id"], ["id"],
                                 ondelete="SET NULL")
        batch.create_index(batch.f("ix_rooms_kind"), ["kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_index(batch.f("ix_rooms_kind"))
        batch.drop_constraint(batch.f("fk_rooms_grown_from_id_rooms"), type_="foreignkey")
        batch.drop_column("grown_from_id")
        batch.drop_column("orphaned_at")
        batch.drop_column("ideas_board")
        batch.drop_column("kind")
