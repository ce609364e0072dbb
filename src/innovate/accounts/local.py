"""Local accounts: creating users, checking passwords, and the sign-in throttle."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.hashing import hash_password, needs_rehash, verify_password
from innovate.accounts.models import Identity, LoginFailure, User
from innovate.db import utcnow
from innovate.errors import Conflict, Invalid, TooMany
from innovate.i18n import lazy_gettext, lazy_ngettext
from innovate.inputs import FieldErrors, Input, text_or_empty
from innovate.resources import Resources

LOCAL_ISSUER = "local"
EMAIL_RE = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MAX_NAME = 120


def normalise_email(email: str) -> str:
    value = (email or "").strip()
    if not EMAIL_RE.match(value):
        raise Invalid.field("email", lazy_gettext("expected an e-mail address like ada@example.com"))
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


class AddressTaken(Conflict):
    """The address already has an account (what an operator is told; a stranger never is)."""


def is_company_address(address: str, employee_domains: list[str]) -> bool:
    """Whether ``address`` is in one of the company's domains (or a subdomain of one)."""
    domain = normalise_email(address).rpartition("@")[2]
    return any(domain == d or domain.endswith("." + d) for d in employee_domains)


def check_guest_address(address: str, employee_domains: list[str]) -> None:
    """A self-made guest account may not carry the company's address: that is an employee's,
    who signs in the company's way (a guest account would pass for them)."""
    if is_company_address(address, employee_domains):
        domain = normalise_email(address).rpartition("@")[2]
        raise Invalid.field("email", lazy_gettext("%(domain)s is this company's domain: employees sign in with "
                                                  "their company account, not a guest account", domain=domain))


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise Invalid.field("password", lazy_ngettext("use at least %(num)d character", "use at least %(num)d characters",
                                                      MIN_PASSWORD))
    if len(password) > MAX_PASSWORD:
        raise Invalid.field("password", lazy_ngettext("use at most %(num)d character", "use at most %(num)d characters",
                                                      MAX_PASSWORD))
    return password


# The fields of a form that makes a password account (set-up, a local guest, a new password).
ACCOUNT_FIELDS = ("name", "email", "password", "password_confirm")


def check_new_password(data: Input, errors: FieldErrors) -> str:
    """The chosen password: its length and its repetition, checked with the form's other fields."""
    password = text_or_empty(data, "password")
    errors.check(check_password, password)
    if password != data.get("password_confirm"):
        errors.add("password_confirm", lazy_gettext("does not match the password"))
    return password


def check_name(name: str, fallback: str) -> str:
    value = " ".join((name or "").split()) or fallback
    if len(value) > MAX_NAME:
        raise Invalid.field("name", lazy_ngettext("use at most %(num)d character", "use at most %(num)d characters",
                                                  MAX_NAME))
    return value


async def add_local_user(
    db: AsyncSession,
    email: str,
    password: str | None,
    *,
    name: str = "",
    kind: str = "employee",
    is_admin: bool = False,
    is_moderator: bool = False,
    password_hash: str | None = None,
) -> User:
    """Add a user with a local password identity (or none yet, for a set-password link)
    inside the caller's transaction. ``password_hash`` instead of ``password``: the Argon2
    hash of a password chosen earlier (a guest sign-up waiting for its confirmation)."""
    address = normalise_email(email)
    if password is not None:
        check_password(password)
    display = check_name(name, address.split("@")[0])
    if kind not in ("employee", "guest"):
        raise Invalid.field("kind", lazy_gettext("expected employee or guest"))
    user = User(email=address, name=display, kind=kind, is_admin=is_admin, is_moderator=is_moderator)
    db.add(user)
    try:
        await db.flush()
        db.add(Identity(
            user_id=user.id,
            issuer=LOCAL_ISSUER,
            subject=address.lower(),
            email=address,
            email_verified=False,
            secret_hash=hash_password(password) if password is not None else password_hash,
        ))
        await db.flush()
    except IntegrityError:
        raise AddressTaken(lazy_gettext("An account for %(address)s already exists.", address=address),
                           fields={"email": lazy_gettext("already registered")}) from None

    return user


def has_signed_in_way(user_id: Any) -> Any:
    """SQL: the account has a way to sign in (a provider's identity, or a password set); an
    account with neither is an invitation nobody has taken up yet."""
    return exists().where(Identity.user_id == user_id,
                          or_(Identity.issuer != LOCAL_ISSUER, Identity.secret_hash.is_not(None)))


async def create_local_user(resources: Resources, email: str, password: str | None, **kwargs: Any) -> User:
    async with resources.db.begin() as db:
        return await add_local_user(db, email, password, **kwargs)


async def set_local_password(resources: Resources, user_id: int, password: str) -> None:
    check_password(password)
    async with resources.db.begin() as db:
        await db.execute(
            update(Identity)
            .where(Identity.user_id == user_id, Identity.issuer == LOCAL_ISSUER)
            .values(secret_hash=hash_password(password))
        )


async def _recent_failures(resources: Resources, keys: list[str], window: timedelta) -> int:
    async with resources.db() as db:
        since = utcnow() - window
        counts = [
            (await db.execute(select(func.count()).where(LoginFailure.key == key, LoginFailure.at > since))).scalar_one()
            for key in keys
        ]
    return max(counts)


async def authenticate(resources: Resources, email: str, password: str, ip: str | None) -> User | None:
    """Return the user for a correct e-mail and password, else None.

    Repeated failures per account and per IP are throttled with 429; the answer for an
    unknown account and a wrong password is the same, and takes the same time.
    """
    settings = resources.settings
    window = timedelta(seconds=settings.login_window_seconds)
    address = (email or "").strip().lower()[:320]
    keys = [f"email:{address}"] + ([f"ip:{ip}"] if ip else [])
    # The IP allowance is wider: colleagues behind one NAT share an address.
    if await _recent_failures(resources, keys[:1], window) >= settings.login_max_failures or (
        ip and await _recent_failures(resources, keys[1:], window) >= settings.login_max_failures * 4
    ):
        raise TooMany(lazy_gettext("Too many failed sign-ins; wait a few minutes and try again."),
                      settings.login_window_seconds)

    async with resources.db() as db:
        row = (await db.execute(
            select(Identity, User)
            .join(User, User.id == Identity.user_id)
            .where(Identity.issuer == LOCAL_ISSUER, Identity.subject == address)
        )).first()
    identity, user = (row[0], row[1]) if row is not None else (None, None)
    ok = verify_password(identity.secret_hash if identity is not None else None, password)
    if not ok or identity is None or user is None or not user.is_active:
        async with resources.db.begin() as db:
            db.add_all([LoginFailure(key=key) for key in keys])
        return None
    async with resources.db.begin() as db:
        values: dict[str, object] = {"last_used_at": utcnow()}
        if identity.secret_hash and needs_rehash(identity.secret_hash):
            values["secret_hash"] = hash_password(password)
        await db.execute(update(Identity).where(Identity.id == identity.id).values(**values))
        await db.execute(delete(LoginFailure).where(LoginFailure.key == keys[0]))
    return user


async def user_count(resources: Resources) -> int:
    async with resources.db() as db:
        return (await db.execute(select(func.count()).select_from(User))).scalar_one()


async def find_user_by_email(resources: Resources, email: str) -> User | None:
    address = normalise_email(email)
    async with resources.db() as db:
        return (await db.execute(select(User).where(func.lower(User.email) == address.lower()))).scalar_one_or_none()
