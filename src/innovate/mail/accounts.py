"""Mail about a person's own account: someone tried to make a guest account with their address.

The join page answers such a try like any refused sign-up, so it tells a stranger nothing;
the owner of the address hears of it here, where mail is set up."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.throttles import hit
from innovate.errors import TooMany
from innovate.mail import messages
from innovate.mail.outbox import Draft, enqueue
from innovate.settings import Settings

# One such mail per address a day is news; more would let a stranger flood the inbox.
PER_ADDRESS_PER_DAY = 1


async def queue_address_in_use_mail(db: AsyncSession, settings: Settings, *, to: str, name: str,
                                    room_title: str) -> bool:
    """Queue the note in the caller's transaction; whether one was queued."""
    if not settings.mail_enabled:
        return False
    try:
        await hit(db, f"address-in-use-mail:{to.lower()}", limit=PER_ADDRESS_PER_DAY, window_seconds=86_400,
                  message="already told today")
    except TooMany:
        return False
    with messages.for_recipient(settings, None):
        text, html = messages.render("address_in_use", person=name, room_title=room_title,
                                     login_url=f"{settings.public_origin}/login")
        subject = "Someone tried to make an account with your address"
    await enqueue(db, settings, Draft(to_address=to, subject=subject, body_text=text, body_html=html, purpose="account"))
    return True
