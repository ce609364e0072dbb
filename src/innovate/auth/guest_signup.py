"""Local guest accounts, confirmed by mail.

Someone holding an invite link asks for a guest account with a name, an address and a
password. The answer is the same whatever the address ("check your mail"), and takes the same
work (the password is hashed every time), so the form tells nobody which addresses have
accounts. What differs is the mail, which only the address's owner reads (mail/accounts.py):

- a new address gets a link that confirms it; following it makes the account and joins the
  invited room (:func:`innovate.auth.invites.confirm_guest_signup`);
- the owner of an existing account is told that someone tried, and how to sign in;
- a company address (``INNOVATE_EMPLOYEE_DOMAINS``) never becomes a guest account: its owner
  is told to sign in the company's way.

Until it is confirmed a sign-up is a row of :class:`GuestSignup`: the link's token only as its
hash, the password only as its Argon2 hash. A row is deleted when its link is used (with the
address's other pending rows) and swept on the way once expired. Without mail there is no
local guest sign-up at all (``Settings.local_guest_signup``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio.to_thread
from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.hashing import hash_password, new_token, token_hash
from innovate.accounts.local import LOCAL_ISSUER, check_name, is_company_address, normalise_email
from innovate.accounts.models import Identity, User
from innovate.accounts.throttles import hit_committed
from innovate.auth.models import GuestSignup, Invite
from innovate.db import utcnow
from innovate.errors import AppError, Conflict, NotFound
from innovate.i18n import lazy_gettext
from innovate.mail.accounts import (
    queue_address_in_use_mail,
    queue_company_address_mail,
    queue_guest_confirmation_mail,
)
from innovate.mail.worker import wake
from innovate.resources import Resources

# Long enough to find the mail the next morning; the invite's own end still applies.
LIFETIME = timedelta(hours=24)
HOUR = 3600


class SignUpLinkNotValid(AppError):
    """Unknown, used or expired: one answer for all of them."""

    status = 404
    code = "signup_link_not_valid"

    def __init__(self) -> None:
        super().__init__(lazy_gettext("This confirmation link has already been used or has expired. If you "
                                      "confirmed your address already, sign in; otherwise open the invitation link "
                                      "again to get a new one."))


class AddressNowTaken(Conflict):
    """The address got an account between asking and confirming (told only to whoever holds
    the mailed link, that is the address's owner)."""

    def __init__(self) -> None:
        super().__init__(lazy_gettext("This address has an account now, so no second one was made. Sign in with "
                                      "it, then open the invitation link again."))


class LocalGuestsOff(NotFound):
    def __init__(self) -> None:
        super().__init__(lazy_gettext("Local guest accounts are not enabled here."))


@dataclass(frozen=True)
class SignUp:
    """What the join page's form asked for (checked field by field by the view)."""

    name: str
    email: str
    password: str


@dataclass(frozen=True)
class InviteTo:
    """The invite a sign-up is for, as its confirmation mail names it."""

    invite_id: int
    room_title: str
    invited_by: str | None


def confirm_url(resources: Resources, token: str) -> str:
    return f"{resources.settings.public_url}/join/confirm/{token}"


async def account_for(db: AsyncSession, address: str) -> User | None:
    """The account that has ``address``: as its contact address or as its password sign-in."""
    lowered = address.lower()
    by_password = select(Identity.user_id).where(Identity.issuer == LOCAL_ISSUER, Identity.subject == lowered)
    return (await db.execute(
        select(User).where(or_(func.lower(User.email) == lowered, User.id.in_(by_password))).limit(1)
    )).scalar_one_or_none()


async def ask_for_guest_account(resources: Resources, invite: InviteTo, form: SignUp, *, ip: str) -> None:
    """Take a sign-up for ``invite``: queue the one mail its address gets, and keep a new
    address's sign-up until it is confirmed. Nothing here depends on the address in a way the
    caller could see: no error, the same work, the same answer."""
    settings = resources.settings
    if not settings.local_guest_signup:
        raise LocalGuestsOff()
    # Per network: each try costs a password hash; per address, mail/accounts.py caps the mails.
    await hit_committed(resources, f"guest-signup:ip:{ip}", limit=settings.guest_signups_per_hour,
                        window_seconds=HOUR,
                        message=lazy_gettext("Too many guest sign-ups from your network; wait a while and try "
                                             "again."))

    address = normalise_email(form.email)
    name = check_name(form.name, address.split("@")[0])
    # Hashed whatever the address: Argon2 is most of the time this takes, so every answer is as
    # slow. In a thread: it would hold up every other request of this process.
    secret = await anyio.to_thread.run_sync(hash_password, form.password)
    token = new_token()
    queued = False
    async with resources.db.begin() as db:
        now = utcnow()
        await _delete_expired(db, now)
        if await db.get(Invite, invite.invite_id) is None:
            return  # the room went meanwhile: its link is gone, and so is anything to join
        if is_company_address(address, settings.employee_domain_list):
            queued = await queue_company_address_mail(db, settings, to=address, room_title=invite.room_title)
        elif (owner := await account_for(db, address)) is not None:
            if owner.is_active and owner.email:
                queued = await queue_address_in_use_mail(db, settings, to=owner.email, name=owner.name,
                                                         room_title=invite.room_title, locale=owner.locale)
        else:
            expires_at = now + LIFETIME
            queued = await queue_guest_confirmation_mail(
                db, settings, to=address, name=name, room_title=invite.room_title, inviter=invite.invited_by,
                url=confirm_url(resources, token), expires_at=expires_at)
            if queued:  # no mail (the address had its confirmations for today): no link to keep
                db.add(GuestSignup(token_hash=token_hash(token), invite_id=invite.invite_id, email=address,
                                   name=name, password_hash=secret, expires_at=expires_at))
    if queued:
        wake(resources)


async def forget_expired_signups(resources: Resources, now: datetime | None = None) -> int:
    """Delete the sign-ups whose link has expired, unconfirmed: each holds an address, a name
    and a password hash. A new sign-up deletes them too; this finds them where none comes."""
    async with resources.db.begin() as db:
        return await _delete_expired(db, now or utcnow())


async def _delete_expired(db: AsyncSession, now: datetime) -> int:
    result = await db.execute(delete(GuestSignup).where(GuestSignup.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def _usable(digest: str) -> Any:
    return (GuestSignup.token_hash == digest, GuestSignup.expires_at > utcnow())


async def pending_signup(db: AsyncSession, digest: str) -> tuple[GuestSignup, str] | None:
    """The sign-up whose link has the token hash ``digest``, if it is still usable, and its
    invite's token hash (without spending it: for showing the confirmation page)."""
    row = (await db.execute(
        select(GuestSignup, Invite.token_hash).join(Invite, Invite.id == GuestSignup.invite_id)
        .where(*_usable(digest))
    )).first()
    return (row[0], row[1]) if row is not None else None


async def spend_signup(db: AsyncSession, digest: str) -> GuestSignup:
    """Use the link inside the caller's transaction: its row goes (two clicks racing each other
    meet at the DELETE, so only one gets it), and with it the address's other pending sign-ups."""
    spent = (await db.execute(
        delete(GuestSignup).where(*_usable(digest))
        .returning(GuestSignup.email, GuestSignup.name, GuestSignup.password_hash, GuestSignup.invite_id)
    )).first()
    if spent is None:
        raise SignUpLinkNotValid()
    await db.execute(delete(GuestSignup).where(GuestSignup.email == spent.email))
    return GuestSignup(email=spent.email, name=spent.name, password_hash=spent.password_hash,
                       invite_id=spent.invite_id, token_hash=digest)
