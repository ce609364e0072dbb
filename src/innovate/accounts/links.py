"""One-time links: the first-run setup link and set-password links, and what redeeming them does.

A link is spent by one conditional UPDATE (``used_at IS NULL AND expires_at > now``), so
two clicks racing each other cannot both succeed.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.hashing import new_token, token_hash
from innovate.accounts.local import add_local_user, check_password, set_local_password
from innovate.accounts.models import OneTimeLink, User
from innovate.db import utcnow
from innovate.errors import Conflict, NotFound
from innovate.i18n import lazy_gettext
from innovate.resources import Resources

SETUP = "setup"
SET_PASSWORD = "set_password"


async def create_link(resources: Resources, purpose: str, *, user_id: int | None = None,
                      lifetime: timedelta = timedelta(days=2)) -> str:
    token = new_token()
    async with resources.db.begin() as db:
        db.add(OneTimeLink(purpose=purpose, user_id=user_id, token_hash=token_hash(token),
                           expires_at=utcnow() + lifetime))
    path = "/setup" if purpose == SETUP else "/set-password"
    return f"{resources.settings.public_url}{path}/{token}"


async def peek_link(resources: Resources, purpose: str, token: str) -> OneTimeLink | None:
    """The link if it is still usable, without spending it (for showing the form)."""
    async with resources.db() as db:
        row = (await db.execute(
            select(OneTimeLink).where(OneTimeLink.token_hash == token_hash(token), OneTimeLink.purpose == purpose)
        )).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


async def spend_link(db: AsyncSession, purpose: str, token: str) -> OneTimeLink | None:
    """Spend the link inside the caller's transaction; None if it was already used or expired."""
    now = utcnow()
    result = await db.execute(
        update(OneTimeLink)
        .where(
            OneTimeLink.token_hash == token_hash(token),
            OneTimeLink.purpose == purpose,
            OneTimeLink.used_at.is_(None),
            OneTimeLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(OneTimeLink.id, OneTimeLink.user_id)
    )
    row = result.first()
    if row is None:
        return None
    return OneTimeLink(id=row.id, user_id=row.user_id, purpose=purpose, token_hash="", expires_at=now)


async def set_up_first_admin(resources: Resources, token: str, *, email: str, name: str, password: str) -> User:
    """The first administrator, with the setup link spent in the same transaction."""
    async with resources.db.begin() as db:
        if await spend_link(db, SETUP, token) is None:
            raise NotFound(lazy_gettext("This setup link has already been used or has expired."))
        if (await db.execute(select(func.count()).select_from(User))).scalar_one() > 0:
            raise Conflict(lazy_gettext("Innovate is already set up; sign in instead."))
        return await add_local_user(db, email, password, name=name, is_admin=True, is_moderator=True)


async def set_password_with_link(resources: Resources, token: str, password: str) -> User:
    """A new password for the link's user; the link is spent first, so it works once."""
    check_password(password)
    async with resources.db.begin() as db:
        link = await spend_link(db, SET_PASSWORD, token)
        user = await db.get(User, link.user_id) if link is not None and link.user_id is not None else None
        if user is None:
            raise NotFound(lazy_gettext("This link has already been used or has expired."))
    await set_local_password(resources, user.id, password)
    return user
