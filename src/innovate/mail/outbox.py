"""Putting a mail in the outbox, inside the caller's transaction; the sender does the rest."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import metrics
from innovate.db import utcnow
from innovate.mail.models import OutboxMail
from innovate.settings import Settings


@dataclass(frozen=True)
class Draft:
    to_address: str
    subject: str
    body_text: str
    body_html: str
    purpose: str
    user_id: int | None = None
    category: str | None = None
    unsubscribe_url: str | None = None
    invite_id: int | None = None


def new_message_id(settings: Settings) -> str:
    """A Message-ID made once per mail: every try of it carries the same one."""
    host = urlsplit(settings.public_url).hostname or "innovate.invalid"
    return f"<{secrets.token_hex(16)}@{host}>"


async def enqueue(db: AsyncSession, settings: Settings, draft: Draft) -> str:
    """Queue ``draft``; its Message-ID. Committed with the caller's transaction or not at all."""
    message_id = new_message_id(settings)
    now = utcnow()
    await db.execute(insert(OutboxMail).values(
        message_id=message_id, user_id=draft.user_id, to_address=draft.to_address, purpose=draft.purpose,
        category=draft.category, subject=draft.subject[:300], body_text=draft.body_text, body_html=draft.body_html,
        unsubscribe_url=draft.unsubscribe_url, state="queued", attempts=0, next_attempt_at=now,
        invite_id=draft.invite_id, created_at=now))
    metrics.MAILS_QUEUED.labels(draft.purpose).inc()
    return message_id
