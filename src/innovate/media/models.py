"""Uploaded pictures: one row per upload, one rendition per bounded size."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from innovate.db import Base, utcnow


class Media(Base):
    """One uploaded picture. ``key`` is a random token: URLs name it, never the row id."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    purpose: Mapped[str] = mapped_column(String(32))       # the Profile's name: portrait, story...
    alt: Mapped[str] = mapped_column(String(300))
    # Public pictures are served to anyone with the URL (and cached by proxies); the others
    # only to signed-in people.
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MediaRendition(Base):
    """The picture re-encoded at one bounded size, metadata stripped."""

    __tablename__ = "media_renditions"

    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"), primary_key=True)
    size: Mapped[str] = mapped_column(String(16), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    etag: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
