"""Notifications and each person's notification settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from innovate.db import Base, utcnow

UNREAD = text("read_at IS NULL")


class Notification(Base):
    """One item of a person's inbox. Later events on the same thread (``thread``: the
    notification's name and what it is about, e.g. ``reply:idea:12``) add to the unread
    item's ``count`` instead of making another, so "3 new replies" is one row."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_id_updated_at", "user_id", "updated_at", "id"),
        # At most one unread item per person and thread: the upsert's conflict target.
        Index("uq_notifications_unread_thread", "user_id", "thread", unique=True,
              sqlite_where=UNREAD, postgresql_where=UNREAD),
        Index("ix_notifications_mail_state", "mail_state", "mail_due_at"),
        Index("ix_notifications_message_id", "message_id"),
        Index("ix_notifications_idea_id", "idea_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))       # kinds.Notify.name: mention, reply, phase...
    category: Mapped[str] = mapped_column(String(16))   # kinds.Category value
    thread: Mapped[str] = mapped_column(String(80))
    # The latest event's: who did it and what it points at (the page and the place on it).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(Integer)
    idea_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200), default="")  # the idea's or the room's title
    path: Mapped[str] = mapped_column(String(300))                # viewing this page reads the item
    anchor: Mapped[str] = mapped_column(String(40), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    count: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # Mail for "immediately": "pending" until mail_due_at (the gather window), then "queued"
    # in a mail, or "skipped" (read in the app first, or no mail could go).
    mail_state: Mapped[str | None] = mapped_column(String(12))
    mail_due_at: Mapped[datetime | None]


class NotificationSettings(Base):
    """How one person hears of each category, their time zone, when their digest is due, and
    whether mail to their address bounced. No row: the defaults."""

    __tablename__ = "notification_settings"
    __table_args__ = (Index("ix_notification_settings_next_digest_at", "next_digest_at"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    # Per category: immediately | daily | weekly | off; NULL: the default (preferences.py).
    mentions: Mapped[str | None] = mapped_column(String(12))
    ideas: Mapped[str | None] = mapped_column(String(12))
    phases: Mapped[str | None] = mapped_column(String(12))
    invitations: Mapped[str | None] = mapped_column(String(12))
    pulses: Mapped[str | None] = mapped_column(String(12))
    # An IANA zone name ("Europe/Berlin"); guessed from the browser at first sign-in.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    last_digest_at: Mapped[datetime | None]
    next_digest_at: Mapped[datetime | None]
    # Set by a permanent SMTP failure: no mail goes to this address until the person changes
    # their address or asks to try again.
    bouncing_address: Mapped[str | None] = mapped_column(String(320))
    bounced_at: Mapped[datetime | None]
    bounce_reason: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
