"""Mail about signing up as a guest, and about a person's own address.

The join page answers every local guest sign-up the same way ("check your mail"), so it tells
a stranger nothing; what differs is the mail, which only the address's owner reads: a new
address gets the link that confirms it, the owner of an account is told that someone tried,
and an employee is told to sign in the company's way. Each kind of mail goes to one address
a few times a day at most, so the form cannot be used to flood an inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.throttles import hit
from innovate.errors import TooMany
from innovate.i18n import gettext as _
from innovate.i18n.formatting import format_datetime
from innovate.mail import messages
from innovate.mail.outbox import Draft, enqueue
from innovate.settings import Settings

# One note a day that someone tried an address is news; more would let a stranger flood the inbox.
PER_ADDRESS_PER_DAY = 1
# A person who lost the confirmation mail may ask again, a few times.
CONFIRMATIONS_PER_ADDRESS_PER_DAY = 3
DAY = 86_400


async def _may_mail(db: AsyncSession, key: str, limit: int) -> bool:
    """Count one mail of this kind to this address; False once the day's allowance is used
    (the caller then sends nothing, and answers the same)."""
    try:
        await hit(db, key, limit=limit, window_seconds=DAY, message="enough mail to this address today")
    except TooMany:
        return False
    return True


async def queue_address_in_use_mail(db: AsyncSession, settings: Settings, *, to: str, name: str,
                                    room_title: str, locale: str | None = None) -> bool:
    """Queue the note in the caller's transaction, in the owner's ``locale``; whether one was queued."""
    if not settings.mail_enabled or not await _may_mail(db, f"address-in-use-mail:{to.lower()}", PER_ADDRESS_PER_DAY):
        return False
    with messages.for_recipient(settings, locale):
        text, html = messages.render("address_in_use", person=name, room_title=room_title,
                                     login_url=f"{settings.public_origin}/login")
        subject = _("Someone tried to make an account with your address")
    await enqueue(db, settings, Draft(to_address=to, subject=subject, body_text=text, body_html=html, purpose="account"))
    return True


async def queue_company_address_mail(db: AsyncSession, settings: Settings, *, to: str, room_title: str) -> bool:
    """Tell the owner of a company address that it cannot become a guest account, and how
    employees sign in instead; whether a mail was queued."""
    if not settings.mail_enabled or not await _may_mail(db, f"company-address-mail:{to.lower()}",
                                                        PER_ADDRESS_PER_DAY):
        return False
    with messages.for_recipient(settings, None):  # nobody's account: the site's language
        text, html = messages.render("company_address", room_title=room_title, domain=to.rpartition("@")[2],
                                     login_url=f"{settings.public_origin}/login")
        subject = _("Employees sign in with their company account")
    await enqueue(db, settings, Draft(to_address=to, subject=subject,
                                      body_text=text, body_html=html, purpose="account"))
    return True


async def queue_guest_confirmation_mail(db: AsyncSession, settings: Settings, *, to: str, name: str,
                                        room_title: str, inviter: str | None, url: str,
                                        expires_at: datetime) -> bool:
    """The link that confirms a new guest's address and makes their account; whether it was
    queued (not when the address had its confirmations for the day)."""
    if not settings.mail_enabled or not await _may_mail(db, f"guest-confirmation-mail:{to.lower()}",
                                                        CONFIRMATIONS_PER_ADDRESS_PER_DAY):
        return False
    with messages.for_recipient(settings, None):  # no account yet: the site's language
        text, html = messages.render("guest_confirm", person=name, room_title=room_title, inviter=inviter, url=url,
                                     expires=format_datetime(expires_at, "long"))
        subject = _("Confirm your address to join “%(title)s”", title=room_title)
    await enqueue(db, settings, Draft(to_address=to, subject=subject,
                                      body_text=text, body_html=html, purpose="account"))
    return True
