"""Expert reviews: per-room settings and criteria, reviewers, assignments and scorecards.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import innovate.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('review_criteria',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('guide', sa.String(length=500), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('scale', sa.Integer(), nullable=False),
    sa.Column('low_label', sa.String(length=40), nullable=False),
    sa.Column('high_label', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_review_criteria_room_id_rooms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_criteria'))
    )
    with op.batch_alter_table('review_criteria', schema=None) as batch_op:
        batch_op.create_index('ix_review_criteria_room_position', ['room_id', 'position'], unique=False)

    op.create_table('review_reviewers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', innovate.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_review_reviewers_added_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_review_reviewers_room_id_rooms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_review_reviewers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_reviewers')),
    sa.UniqueConstraint('room_id', 'user_id', name=op.f('uq_review_reviewers_room_id_user_id'))
    )
    with op.batch_alter_table('review_reviewers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_reviewers_user_id'), ['user_id'], unique=False)

    op.create_table('review_settings',
    sa.Column('room_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('deadline_at', innovate.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deadline_phase', sa.String(length=16), nullable=True),
    sa.Column('peers_see_reviews', sa.Boolean(), nullable=False),
    sa.Column('reviewers_anonymous', sa.Boolean(), nullable=False),
    sa.Column('released_at', innovate.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_for', innovate.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', innovate.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_review_settings_room_id_rooms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('room_id', name=op.f('pk_review_settings'))
    )
    op.create_table('review_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', innovate.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], name=op.f('fk_review_assignments_assigned_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_review_assignments_idea_id_ideas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_review_assignments_reviewer_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_review_assignments_room_id_rooms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_assignments')),
    sa.UniqueConstraint('idea_id', 'reviewer_id', name=op.f('uq_review_assignments_idea_id_reviewer_id'))
    )
    with op.batch_alter_table('review_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_review_assignments_room_reviewer', ['room_id', 'reviewer_id'], unique=False)

    op.create_table('reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('comments', sa.JSON(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('recommendation', sa.String(length=16), nullable=True),
    sa.Column('weighted', sa.Float(), nullable=True),
    sa.Column('comments_state', sa.String(length=16), nullable=False),
    sa.Column('comments_reason', sa.Text(), nullable=True),
    sa.Column('submitted_at', innovate.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', innovate.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_reviews_idea_id_ideas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_reviews_reviewer_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_reviews_room_id_rooms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews')),
    sa.UniqueConstraint('idea_id', 'reviewer_id', name=op.f('uq_reviews_idea_id_reviewer_id'))
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviews_reviewer_id'), ['reviewer_id'], unique=False)
        batch_op.create_index('ix_reviews_room_state', ['room_id', 'state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_reviews_room_state')
        batch_op.drop_index(batch_op.f('ix_reviews_reviewer_id'))

    op.drop_table('reviews')
    with op.batch_alter_table('review_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_review_assignments_room_reviewer')

    op.drop_table('review_assignments')
    op.drop_table('review_settings')
    with op.batch_alter_table('review_reviewers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_reviewers_user_id'))

    op.drop_table('review_reviewers')
    with op.batch_alter_table('review_criteria', schema=None) as batch_op:
        batch_op.drop_index('ix_review_criteria_room_position')

    op.drop_table('review_criteria')
