"""Requests to join a community that is open "by request": an employee asks (with an
optional short message), the community's owners and moderators approve or decline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from innovate.db import Base, utcnow

# "pending" until someone acts: "approved" or "declined" by a moderator, "withdrawn" by the
# requester, "closed" when nobody can act on it any more (the community was archived, or the
# requester's account deactivated).
REQUEST_STATES = ("pending", "approved", "declined", "withdrawn", "closed")
PENDING = text("state = 'pending'")


class JoinRequest(Base):
    """One request; the history stays (a declined request starts the cool-down, the audit log
    names the decision), and at most one is pending per person and community."""

    __tablename__ = "join_requests"
    __table_args__ = (
        # The race between two clicks (or two tabs) ends here: the second insert fails.
        Index("uq_join_requests_pending", "room_id", "user_id", unique=True,
              sqlite_where=PENDING, postgresql_where=PENDING),
        Index("ix_join_requests_room_state", "room_id", "state", "created_at"),
        Index("ix_join_requests_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    message: Mapped[str] = mapped_column(Text, default="")
    # A decline's reason, which the requester is told.
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
