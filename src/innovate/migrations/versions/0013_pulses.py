"""HR pulses: the pulse, its audiences, who took part (a keyed hash) and the answers (no
person on an anonymous one; see innovate/pulses/models.py).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import innovate.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pulses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("question_kind", sa.String(length=8), nullable=False),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("allow_comment", sa.Boolean(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("results_to_audience", sa.Boolean(), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("audience_size", sa.Integer(), nullable=False),
        sa.Column("closes_at", innovate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", innovate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", innovate.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_pulses_author_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulses")),
    )
    op.create_index(op.f("ix_pulses_author_id"), "pulses", ["author_id"], unique=False)
    op.create_index(op.f("ix_pulses_created_at"), "pulses", ["created_at"], unique=False)
    op.create_table(
        "pulse_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pulse_id", sa.Integer(), nullable=False),
        sa.Column("persona_id", sa.Integer(), nullable=True),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("audience_size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["pulse_id"], ["pulses.id"], name=op.f("fk_pulse_targets_pulse_id_pulses"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["persona_id"], ["personas.id"], name=op.f("fk_pulse_targets_persona_id_personas"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_pulse_targets_room_id_rooms"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse_targets")),
    )
    op.create_index("ix_pulse_targets_pulse_id", "pulse_targets", ["pulse_id"], unique=False)
    op.create_index(op.f("ix_pulse_targets_persona_id"), "pulse_targets", ["persona_id"], unique=False)
    op.create_index(op.f("ix_pulse_targets_room_id"), "pulse_targets", ["room_id"], unique=False)
    op.create_table(
        "pulse_participations",
        sa.Column("pulse_id", sa.Integer(), nullable=False),
        sa.Column("who", sa.String(length=64), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["pulse_id"], ["pulses.id"], name=op.f("fk_pulse_participations_pulse_id_pulses"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pulse_id", "who", name=op.f("pk_pulse_participations")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "pulse_answers",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("pulse_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["pulse_id"], ["pulses.id"], name=op.f("fk_pulse_answers_pulse_id_pulses"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_pulse_answers_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_pulse_answers")),
        sa.UniqueConstraint("pulse_id", "user_id", name=op.f("uq_pulse_answers_pulse_id_user_id")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_pulse_answers_pulse_id", "pulse_answers", ["pulse_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_pulse_answers_pulse_id", table_name="pulse_answers")
    op.drop_table("pulse_answers")
    op.drop_table("pulse_participations")
    op.drop_index(op.f("ix_pulse_targets_room_id"), table_name="pulse_targets")
    op.drop_index(op.f("ix_pulse_targets_persona_id"), table_name="pulse_targets")
    op.drop_index("ix_pulse_targets_pulse_id", table_name="pulse_targets")
    op.drop_table("pulse_targets")
    op.drop_index(op.f("ix_pulses_created_at"), table_name="pulses")
    op.drop_index(op.f("ix_pulses_author_id"), table_name="pulses")
    op.drop_table("pulses")
