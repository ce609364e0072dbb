"""Interest tags: tags, the tags a room carries, and the interests people follow; and the
(room_id, id) index on messages that lets exports page through a room without sorting.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import innovate.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=48), nullable=False),
        sa.Column("label", sa.String(length=48), nullable=False),
        sa.Column("created_at", innovate.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("slug", name=op.f("uq_tags_slug")),
    )
    op.create_table(
        "room_tags",
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_room_tags_room_id_rooms"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name=op.f("fk_room_tags_tag_id_tags"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("room_id", "tag_id", name=op.f("pk_room_tags")),
    )
    op.create_index("ix_room_tags_tag_id", "room_tags", ["tag_id"], unique=False)
    op.create_table(
        "user_interests",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("created_at", innovate.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name=op.f("fk_user_interests_tag_id_tags"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_interests_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "tag_id", name=op.f("pk_user_interests")),
    )
    op.create_index("ix_user_interests_tag_id", "user_interests", ["tag_id"], unique=False)
    op.create_index("ix_messages_room_id_id", "messages", ["room_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_messages_room_id_id", table_name="messages")
    op.drop_index("ix_user_interests_tag_id", table_name="user_interests")
    op.drop_table("user_interests")
    op.drop_index("ix_room_tags_tag_id", table_name="room_tags")
    op.drop_table("room_tags")
    op.drop_table("tags")
