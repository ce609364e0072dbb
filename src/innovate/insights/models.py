"""Interest tags: rooms carry them, people follow them, and the two meet on the home page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from innovate.db import Base, utcnow
from innovate.rooms.models import Message


class Tag(Base):
    """One interest, e.g. "Sustainability"; ``slug`` is its normalised, unique key."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(48), unique=True)
    label: Mapped[str] = mapped_column(String(48))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoomTag(Base):
    __tablename__ = "room_tags"
    __table_args__ = (Index("ix_room_tags_tag_id", "tag_id"),)

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)


class UserInterest(Base):
    __tablename__ = "user_interests"
    __table_args__ = (Index("ix_user_interests_tag_id", "tag_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# The exports page through a room's messages by id (keyset paging); without this index both
# databases sort all of the room's messages again for every batch.
Index("ix_messages_room_id_id", Message.room_id, Message.id)
