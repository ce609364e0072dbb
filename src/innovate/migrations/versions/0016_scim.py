"""SCIM provisioning: the directory's id and name parts on users, and the SCIM bearer tokens.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import innovate.db

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("given_name", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("family_name", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("scim_deleted_at", innovate.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_external_id"), ["external_id"], unique=False)
    op.create_table(
        "scim_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", innovate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", innovate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", innovate.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_scim_tokens_created_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_scim_tokens_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("scim_tokens")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_external_id"))
        batch_op.drop_column("scim_deleted_at")
        batch_op.drop_column("family_name")
        batch_op.drop_column("given_name")
        batch_op.drop_column("external_id")
