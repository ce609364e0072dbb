"""Notifications, each person's notification settings, and the mail outbox.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import innovate.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UNREAD = sa.text("read_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("thread", sa.String(length=80), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("idea_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("anchor", sa.String(length=40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("created_at", innovate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", innovate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", innovate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("mail_state", sa.String(length=12), nullable=True),
        sa.Column("mail_due_at", innovate.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_notifications_actor_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_notifications_room_id_rooms"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_user_id_updated_at", "notifications", ["user_id", "updated_at", "id"])
    op.create_index("uq_notifications_unread_thread", "notifications", ["user_id", "thread"], unique=True,
                    sqlite_where=UNREAD, postgresql_where=UNREAD)
    op.create_index("ix_notifications_mail_state", "notifications", ["mail_state", "mail_due_at"])
    op.create_index("ix_notifications_message_id", "notifications", ["message_id"])
    op.create_index("ix_notifications_idea_id", "notifications", ["idea_id"])

    op.create_table(
        "notification_settings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("mentions", sa.String(length=12), nullable=True),
        sa.Column("ideas", sa.String(length=12), nullable=True),
        sa.Column("phases", sa.String(length=12), nullable=True),
        sa.Column("invitations", sa.String(length=12), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("last_digest_at", innovate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_digest_at", innovate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("bouncing_address", sa.String(length=320), nullable=True),
        sa.Column("bounced_at", innovate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("bounce_reason", sa.String(length=300), nullable=True),
        sa.Column("updated_at", innovate.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notification_settings_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_settings")),
    )
    op.create_index("ix_notification_settings_next_digest_at", "notification_settings", ["next_digest_at"])

    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("unsubscribe_url", sa.String(length=600), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", innovate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("invite_id", sa.Integer(), nullable=True),
        sa.Column("created_at", innovate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", innovate.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["invite_id"], ["invites.id"], name=op.f("fk_mail_outbox_invite_id_invites"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_mail_outbox_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_mail_outbox_message_id")),
    )
    op.create_index("ix_mail_outbox_state_next_attempt_at", "mail_outbox", ["state", "next_attempt_at"])
    op.create_index("ix_mail_outbox_user_id", "mail_outbox", ["user_id"])
    op.create_index("ix_mail_outbox_invite_id", "mail_outbox", ["invite_id"])


def downgrade() -> None:
    op.drop_table("mail_outbox")
    op.drop_table("notification_settings")
    op.drop_table("notifications")
