"""The review stage of a room: its settings, criteria, reviewers, assignments and reviews."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from innovate.db import Base, utcnow

SCALES = (5, 10)
RECOMMENDATIONS = ("advance", "hold", "reject")
DEADLINE_PHASES = ("voting", "closed", "archived")


class ReviewSettings(Base):
    """A room's review stage. No row: no deadline, blind to peers, reviewers anonymous."""

    __tablename__ = "review_settings"

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    # The deadline is a date of its own or the scheduled start of one of the room's phases.
    deadline_at: Mapped[datetime | None]
    deadline_phase: Mapped[str | None] = mapped_column(String(16))
    # Reviewers see the other reviews of an idea once they submitted their own.
    peers_see_reviews: Mapped[bool] = mapped_column(Boolean, default=False)
    # Names stay with the moderators: authors, other reviewers and exports never get them.
    reviewers_anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    released_at: Mapped[datetime | None]
    # The deadline the reviewers were last reminded of (one reminder per deadline).
    reminded_for: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Criterion(Base):
    __tablename__ = "review_criteria"
    __table_args__ = (Index("ix_review_criteria_room_position", "room_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(80))
    guide: Mapped[str] = mapped_column(String(500), default="")
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    scale: Mapped[int] = mapped_column(Integer, default=5)  # marks run 1..scale
    low_label: Mapped[str] = mapped_column(String(40), default="")
    high_label: Mapped[str] = mapped_column(String(40), default="")


class Reviewer(Base):
    __tablename__ = "review_reviewers"
    __table_args__ = (UniqueConstraint("room_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Assignment(Base):
    __tablename__ = "review_assignments"
    __table_args__ = (UniqueConstraint("idea_id", "reviewer_id"),
                      Index("ix_review_assignments_room_reviewer", "room_id", "reviewer_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Review(Base):
    """One reviewer's scorecard of one idea: a draft until submitted. ``weighted`` is the
    scorecard's weighted mean on 0-100 (each mark placed on its scale: the lowest is 0, the
    highest 100), set on submit so results are one aggregate over the rows."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("idea_id", "reviewer_id"), Index("ix_reviews_room_state", "room_id", "state"))

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="draft")  # "draft" | "submitted"
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)     # criterion id -> mark
    comments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)   # criterion id -> text
    summary: Mapped[str] = mapped_column(Text, default="")
    recommendation: Mapped[str | None] = mapped_column(String(16))
    weighted: Mapped[float | None] = mapped_column(Float)
    # The comments go through moderation like messages: "visible", "held", "hidden".
    comments_state: Mapped[str] = mapped_column(String(16), default="visible")
    comments_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
