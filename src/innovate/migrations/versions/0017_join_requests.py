"""Communities open by request: the requests to join them. And HR pulses get their own
notification setting (they shared the invitations' one): each person's choice for invitations
becomes their choice for pulses, and the pulse notifications stored so far move over.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import innovate.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "join_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", innovate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", innovate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_join_requests_decided_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_join_requests_room_id_rooms"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_join_requests_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_join_requests")),
    )
    with op.batch_alter_table("join_requests", schema=None) as batch_op:
        batch_op.create_index("ix_join_requests_room_state", ["room_id", "state", "created_at"], unique=False)
        batch_op.create_index("ix_join_requests_user_id", ["user_id"], unique=False)
        batch_op.create_index("uq_join_requests_pending", ["room_id", "user_id"], unique=True,
                              sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"))
    with op.batch_alter_table("notification_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pulses", sa.String(length=12), nullable=True))
    op.execute("UPDATE notification_settings SET pulses = invitations")
    op.execute("UPDATE notifications SET category = 'pulses' WHERE kind = 'pulse'")


def downgrade() -> None:
    op.execute("UPDATE notifications SET category = 'invitations' WHERE kind = 'pulse'")
    with op.batch_alter_table("notification_settings", schema=None) as batch_op:
        batch_op.drop_column("pulses")
    with op.batch_alter_table("join_requests", schema=None) as batch_op:
        batch_op.drop_index("uq_join_requests_pending", sqlite_where=sa.text("state = 'pending'"),
                            postgresql_where=sa.text("state = 'pending'"))
        batch_op.drop_index("ix_join_requests_user_id")
        batch_op.drop_index("ix_join_requests_room_state")
    op.drop_table("join_requests")
