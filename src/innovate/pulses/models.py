"""Pulses, their audiences, who took part (a keyed hash) and the answers (no person).

Why no row links an anonymous answer to a person:

- ``pulse_answers`` holds the answer's value and comment, the pulse, and ``key``: the SHA-256
  of a random receipt that only the person's browser (a cookie) or API client holds. No user
  id, no timestamp, no sequence: the primary key is that random hash, so rows sort by chance
  (on SQLite the table is WITHOUT ROWID; on PostgreSQL nothing orders them but their place on
  disk).
- ``pulse_participations`` says that someone answered, so that nobody answers twice: a row per
  (pulse, HMAC(secret key, pulse and user)), plus which of the pulse's audiences the person
  belongs to (for response rates per persona and community). No timestamp, no sequence, and
  nothing in it is in ``pulse_answers``: no column of one table holds a value of the other
  but the pulse's id, so the two cannot be joined.
- The two rows are written in separate transactions, so they do not even share PostgreSQL's
  transaction id (``xmin``). What remains is timing: someone watching the database at the
  moment of answering sees a participation and an answer appear close together. The app keeps
  no answer times, and writes no room event, audit entry or notification about an answer.
- Changing an answer needs the receipt (the browser sends its cookie): the server cannot find
  a person's anonymous answer by itself, which is the point. A named pulse keeps the user id
  on the answer instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from innovate.db import Base, utcnow

QUESTION_KINDS = ("none", "scale", "yesno", "choice")
AUDIENCES = ("all", "personas", "communities")


class Pulse(Base):
    __tablename__ = "pulses"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    question_kind: Mapped[str] = mapped_column(String(8), default="none")
    question: Mapped[str] = mapped_column(String(300), default="")
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    allow_comment: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    results_to_audience: Mapped[bool] = mapped_column(Boolean, default=True)
    audience: Mapped[str] = mapped_column(String(16), default="all")
    audience_size: Mapped[int] = mapped_column(Integer, default=0)  # at sending, for the response rate
    closes_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class PulseTarget(Base):
    """One persona (its followers) or community (its members) a pulse was sent to."""

    __tablename__ = "pulse_targets"
    __table_args__ = (Index("ix_pulse_targets_pulse_id", "pulse_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pulse_id: Mapped[int] = mapped_column(ForeignKey("pulses.id", ondelete="CASCADE"))
    persona_id: Mapped[int | None] = mapped_column(ForeignKey("personas.id", ondelete="SET NULL"), index=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"), index=True)
    audience_size: Mapped[int] = mapped_column(Integer, default=0)


class PulseParticipation(Base):
    """Someone answered: a keyed hash of (pulse, person), and the targets that reached them."""

    __tablename__ = "pulse_participations"
    __table_args__ = {"sqlite_with_rowid": False}

    pulse_id: Mapped[int] = mapped_column(ForeignKey("pulses.id", ondelete="CASCADE"), primary_key=True)
    who: Mapped[str] = mapped_column(String(64), primary_key=True)
    targets: Mapped[list[int]] = mapped_column(JSON, default=list)


class PulseAnswer(Base):
    """One answer. ``user_id`` only on a named pulse; see the module's docstring."""

    __tablename__ = "pulse_answers"
    __table_args__ = (UniqueConstraint("pulse_id", "user_id"), Index("ix_pulse_answers_pulse_id", "pulse_id"),
                      {"sqlite_with_rowid": False})

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    pulse_id: Mapped[int] = mapped_column(ForeignKey("pulses.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    value: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)

    def json(self) -> dict[str, Any]:
        return {"value": self.value, "comment": self.comment}
