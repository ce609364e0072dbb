"""The mail outbox: every mail is a row here first; one sender drains it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from innovate.db import Base, utcnow

# queued → claimed (the sender took it; not yet offered to the server, safe to retry)
#        → sending (the message is being handed over; from here a crash leaves it in doubt)
#        → sent | failed; or back to queued with a later next_attempt_at (a temporary failure).
STATES = ("queued", "claimed", "sending", "sent", "failed")


class OutboxMail(Base):
    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_state_next_attempt_at", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The idempotency key: the same mail keeps its Message-ID through every try.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    to_address: Mapped[str] = mapped_column(String(320))
    purpose: Mapped[str] = mapped_column(String(16))          # notifications | digest | invite | account | test
    category: Mapped[str | None] = mapped_column(String(16))  # what its unsubscribe link switches off
    subject: Mapped[str] = mapped_column(String(300))
    # The bodies live only until the mail is sent or given up (an invitation's carries its link).
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    unsubscribe_url: Mapped[str | None] = mapped_column(String(600))
    state: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claim: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(500))
    # Invitations: which link it carries (the moderator's panel shows "sent to ...").
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("invites.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
