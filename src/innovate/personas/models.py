"""Personas, what they recommend, who follows them, and the people HR named to curate them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from innovate.db import Base, utcnow


class Persona(Base):
    __tablename__ = "personas"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    portrait: Mapped[str] = mapped_column(Text, default="")            # a short Markdown portrait
    picture_key: Mapped[str | None] = mapped_column(String(32))         # innovate.media's key
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PersonaTag(Base):
    """A tag the persona cares about."""

    __tablename__ = "persona_tags"
    __table_args__ = (Index("ix_persona_tags_tag_id", "tag_id"),)

    persona_id: Mapped[int] = mapped_column(ForeignKey("personas.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)


class PersonaRoom(Base):
    """A community or challenge the persona recommends."""

    __tablename__ = "persona_rooms"
    __table_args__ = (Index("ix_persona_rooms_room_id", "room_id"),)

    persona_id: Mapped[int] = mapped_column(ForeignKey("personas.id", ondelete="CASCADE"), primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)


class PersonaFollow(Base):
    """One employee following one persona. Only counted on persona pages, never listed."""

    __tablename__ = "persona_follows"
    __table_args__ = (Index("ix_persona_follows_user_id", "user_id"),)

    persona_id: Mapped[int] = mapped_column(ForeignKey("personas.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Curator(Base):
    """An HR person an administrator named: curates personas and sends pulses."""

    __tablename__ = "curators"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    named_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
