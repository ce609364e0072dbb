"""Guest access that ends by itself: a membership's own end date, and how many days an invite
link gives the guests who join through it.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import innovate.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.add_column(sa.Column("access_ends_at", innovate.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_memberships_access_ends_at"), ["access_ends_at"], unique=False)
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("access_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_column("access_days")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memberships_access_ends_at"))
        batch_op.drop_column("access_ends_at")
