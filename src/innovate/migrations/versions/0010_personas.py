"""Personas: their tags and recommended rooms, who follows them, and HR's named curators.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import innovate.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "personas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("portrait", sa.Text(), nullable=False),
        sa.Column("picture_key", sa.String(length=32), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", innovate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", innovate.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_personas_created_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personas")),
        sa.UniqueConstraint("name", name=op.f("uq_personas_name")),
    )
    op.create_table(
        "persona_tags",
        sa.Column("persona_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["persona_id"], ["personas.id"], name=op.f("fk_persona_tags_persona_id_personas"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name=op.f("fk_persona_tags_tag_id_tags"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("persona_id", "tag_id", name=op.f("pk_persona_tags")),
    )
    op.create_index("ix_persona_tags_tag_id", "persona_tags", ["tag_id"], unique=False)
    op.create_table(
        "persona_rooms",
        sa.Column("persona_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["persona_id"], ["personas.id"], name=op.f("fk_persona_rooms_persona_id_personas"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_persona_rooms_room_id_rooms"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("persona_id", "room_id", name=op.f("pk_persona_rooms")),
    )
    op.create_index("ix_persona_rooms_room_id", "persona_rooms", ["room_id"], unique=False)
    op.create_table(
        "persona_follows",
        sa.Column("persona_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", innovate.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["persona_id"], ["personas.id"], name=op.f("fk_persona_follows_persona_id_personas"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_persona_follows_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("persona_id", "user_id", name=op.f("pk_persona_follows")),
    )
    op.create_index("ix_persona_follows_user_id", "persona_follows", ["user_id"], unique=False)
    op.create_table(
        "curators",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("named_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", innovate.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_curators_user_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["named_by_id"], ["users.id"], name=op.f("fk_curators_named_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_curators")),
    )


def downgrade() -> None:
    op.drop_table("curators")
    op.drop_index("ix_persona_follows_user_id", table_name="persona_follows")
    op.drop_table("persona_follows")
    op.drop_index("ix_persona_rooms_room_id", table_name="persona_rooms")
    op.drop_table("persona_rooms")
    op.drop_index("ix_persona_tags_tag_id", table_name="persona_tags")
    op.drop_table("persona_tags")
    op.drop_table("personas")
