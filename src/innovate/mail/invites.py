"""Invitations by e-mail: the mail that carries an invite link, and what the moderators'
panel says about it ("sent to ...")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.i18n import gettext as _
from innovate.i18n import translate
from innovate.i18n.formatting import format_datetime
from innovate.mail import messages
from innovate.mail.models import OutboxMail
from innovate.mail.outbox import Draft, enqueue
from innovate.settings import Settings


async def queue_invite_mail(db: AsyncSession, settings: Settings, *, invite: Any, room: Any, inviter: str,
                            url: str) -> str:
    """Queue the invitation in the transaction that creates the link: a link without its mail
    (or the reverse) never exists."""
    # The invitee has no account yet: the site's language (the invite page then follows their browser).
    with messages.for_recipient(settings, None):
        expires = format_datetime(invite.expires_at, "long")
        text, html = messages.render("invite", inviter=inviter, room_title=room.title, url=url, expires=expires,
                                     max_uses=invite.max_uses, guests_until=room.guests_until,
                                     access_days=invite.access_days)
        subject = _("%(inviter)s invites you to “%(title)s”", inviter=inviter, title=room.title)
    return await enqueue(db, settings, Draft(
        to_address=invite.email, subject=subject, body_text=text,
        body_html=html, purpose="invite", invite_id=invite.id))


@dataclass(frozen=True)
class InviteMail:
    to: str
    state: str
    sent_at: datetime | None
    error: str | None

    @property
    def words(self) -> str:
        if self.state == "sent":
            return _("sent to %(address)s", address=self.to)
        if self.state == "failed":
            return (_("could not be sent to %(address)s (%(error)s)", address=self.to, error=translate(self.error))
                    if self.error
                    else _("could not be sent to %(address)s", address=self.to))
        return _("being sent to %(address)s", address=self.to)

    def json(self) -> dict[str, Any]:
        return {"to": self.to, "state": "queued" if self.state in ("claimed", "sending") else self.state,
                "sent_at": self.sent_at.isoformat() if self.sent_at else None, "error": self.error}


async def invite_mails(db: AsyncSession, invite_ids: list[int]) -> dict[int, InviteMail]:
    if not invite_ids:
        return {}
    rows = (await db.execute(select(OutboxMail.invite_id, OutboxMail.to_address, OutboxMail.state, OutboxMail.sent_at,
                                    OutboxMail.last_error).where(OutboxMail.invite_id.in_(invite_ids))
                             .order_by(OutboxMail.id))).all()
    return {invite_id: InviteMail(to, state, sent_at, error) for invite_id, to, state, sent_at, error in rows
            if invite_id is not None}
