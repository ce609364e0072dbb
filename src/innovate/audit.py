"""The append-only audit trail of moderators' and administrators' actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from innovate.db import Base, utcnow


class AuditEntry(Base):
    """Append-only: the application inserts entries and never updates or deletes them."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_room_at", "room_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


async def audit(
    db: AsyncSession,
    actor_id: int | None,
    action: str,
    *,
    room_id: int | None = None,
    target_kind: str | None = None,
    target_id: int | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    db.add(AuditEntry(
        room_id=room_id, actor_id=actor_id, action=action, target_kind=target_kind,
        target_id=target_id, reason=reason, data=data or {},
    ))
