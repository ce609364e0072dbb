"""Local guest sign-ups waiting for their address to be confirmed by mail.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import innovate.db

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guest_signups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invite_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", innovate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", innovate.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["invite_id"], ["invites.id"], name=op.f("fk_guest_signups_invite_id_invites"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guest_signups")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_guest_signups_token_hash")),
    )
    with op.batch_alter_table("guest_signups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guest_signups_invite_id"), ["invite_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_guest_signups_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("guest_signups")
