"""Accounts behind external identities: find, create, link and unlink.

An account is found by its (issuer, subject) pair and nothing else. An e-mail address never
joins an external identity to an existing account; linking is an explicit action of the
signed-in user (:func:`link_identity`). The one exception is an employee account made for
someone who has never signed in (invited by an administrator, or provisioned through SCIM):
their first sign-in through an employee provider, with an address that provider verified,
becomes that account (:func:`provisioned_account`). Never for guests, never afterwards.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit
from innovate.accounts.local import LOCAL_ISSUER, has_signed_in_way
from innovate.accounts.models import Identity, User
from innovate.auth.oidc import ExternalIdentity
from innovate.db import utcnow
from innovate.errors import AppError, Conflict, NotFound
from innovate.i18n import lazy_gettext
from innovate.resources import Resources

ALREADY_LINKED = lazy_gettext("That sign-in already belongs to another Innovate account.")


class NotInvited(AppError):
    status = 403
    code = "not_invited"

    def __init__(self) -> None:
        super().__init__(
            lazy_gettext("This sign-in is not a company account, and guests can only join with an invite link. "
                         "If you work here, sign in with your company account; if you were invited, open the invite "
                         "link again.")
        )


class NotAnEmployeeAnyMore(AppError):
    status = 403
    code = "not_employee"

    def __init__(self) -> None:
        super().__init__(lazy_gettext("This sign-in no longer counts as a company account, so it cannot open this "
                                      "employee account. Ask an administrator if that is a mistake."))


class Deactivated(AppError):
    status = 403
    code = "account_disabled"

    def __init__(self) -> None:
        super().__init__(lazy_gettext("This account has been deactivated; ask an administrator."))


async def user_for_identity(db: AsyncSession, issuer: str, subject: str) -> User | None:
    return (await db.execute(
        select(User).join(Identity, Identity.user_id == User.id)
        .where(Identity.issuer == issuer, Identity.subject == subject)
    )).scalar_one_or_none()


async def touch_identity(db: AsyncSession, identity: ExternalIdentity) -> None:
    """Record the sign-in and keep the provider's latest view of the e-mail."""
    await db.execute(
        update(Identity)
        .where(Identity.issuer == identity.issuer, Identity.subject == identity.subject)
        .values(last_used_at=utcnow(), email=identity.email, email_verified=identity.email_verified)
    )


async def _email_free(db: AsyncSession, email: str | None) -> bool:
    if email is None:
        return False
    taken = (await db.execute(select(User.id).where(func.lower(User.email) == email.lower()))).first()
    return taken is None


async def provisioned_account(db: AsyncSession, identity: ExternalIdentity) -> User | None:
    """For an employee sign-in of an unknown identity: the employee account waiting for its
    first sign-in at the address ``identity``'s provider verified, now bound to it (locked:
    two first sign-ins racing each other cannot both take it). None if there is none."""
    address = identity.verified_email
    if not address:
        return None
    user = (await db.execute(
        select(User).where(func.lower(User.email) == address.lower(), User.kind == "employee",
                           User.erased_at.is_(None), ~has_signed_in_way(User.id))
        .with_for_update()
    )).scalar_one_or_none()
    if user is None:
        return None
    if not user.is_active:
        raise Deactivated()
    db.add(Identity(user_id=user.id, issuer=identity.issuer, subject=identity.subject,
                    email=identity.email, email_verified=identity.email_verified, last_used_at=utcnow()))
    await db.flush()
    await audit.record(db, user.id, audit.IDENTITY_LINKED, target_kind="user", target_id=user.id,
                       data={"issuer": identity.issuer, "provider": identity.provider, "first_sign_in": True})
    return user


async def create_user_for_identity(db: AsyncSession, identity: ExternalIdentity, *, kind: str) -> User:
    """A new account bound to ``identity``, inside the caller's transaction.

    The account keeps the e-mail only when the provider verified it and no other account uses
    it (the address is contact data, not a key). Two first sign-ins of the same identity racing
    each other end with one account: the loser finds the winner's.
    """
    email = identity.verified_email if await _email_free(db, identity.verified_email) else None
    for attempt_email in (email, None) if email else (None,):
        try:
            async with db.begin_nested():
                user = User(email=attempt_email, name=identity.name, kind=kind)
                db.add(user)
                await db.flush()
                db.add(Identity(user_id=user.id, issuer=identity.issuer, subject=identity.subject,
                                email=identity.email, email_verified=identity.email_verified,
                                last_used_at=utcnow()))
                await db.flush()
            return user
        except IntegrityError:
            existing = await user_for_identity(db, identity.issuer, identity.subject)
            if existing is not None:
                return existing
    raise Conflict(lazy_gettext("That account is being created right now; try again in a moment."))


async def verified_emails(db: AsyncSession, user: User) -> set[str]:
    """Addresses this account is known to control: verified by a provider, or (for employee
    accounts an administrator created with a local password) the account's own address."""
    rows = (await db.execute(
        select(Identity.issuer, Identity.email, Identity.email_verified).where(Identity.user_id == user.id)
    )).all()
    found = {email.lower() for _, email, verified in rows if email and verified}
    if user.kind == "employee" and user.email and any(issuer == LOCAL_ISSUER for issuer, _, _ in rows):
        found.add(user.email.lower())
    return found


async def list_identities(resources: Resources, user: User) -> list[Identity]:
    async with resources.db() as db:
        return list((await db.execute(
            select(Identity).where(Identity.user_id == user.id).order_by(Identity.created_at, Identity.id)
        )).scalars())


async def link_identity(resources: Resources, user: User, identity: ExternalIdentity) -> None:
    """Attach another identity to the signed-in ``user`` (an explicit action, never automatic)."""
    async with resources.db.begin() as db:
        owner = await user_for_identity(db, identity.issuer, identity.subject)
        if owner is not None:
            if owner.id == user.id:
                await touch_identity(db, identity)
                return
            raise Conflict(ALREADY_LINKED)
        try:
            async with db.begin_nested():
                db.add(Identity(user_id=user.id, issuer=identity.issuer, subject=identity.subject,
                                email=identity.email, email_verified=identity.email_verified))
                await db.flush()
        except IntegrityError:
            raise Conflict(ALREADY_LINKED) from None
        await audit.record(db, user.id, audit.IDENTITY_LINKED, target_kind="user", target_id=user.id,
                    data={"issuer": identity.issuer, "provider": identity.provider})


async def unlink_identity(resources: Resources, user: User, identity_id: int) -> None:
    """Remove one of the user's identities, but never the last way to sign in."""
    async with resources.db.begin() as db:
        others = (
            select(func.count()).select_from(Identity)
            .where(Identity.user_id == user.id, Identity.id != identity_id)
            .scalar_subquery()
        )
        result = await db.execute(
            delete(Identity)
            .where(Identity.id == identity_id, Identity.user_id == user.id, others > 0)
            .returning(Identity.issuer)
        )
        issuer = result.scalar_one_or_none()
        if issuer is None:
            exists = (await db.execute(
                select(Identity.id).where(Identity.id == identity_id, Identity.user_id == user.id)
            )).first()
            if exists is None:
                raise NotFound(lazy_gettext("No such sign-in on your account."))
            raise Conflict(lazy_gettext("This is your only way to sign in; link another one first."))
        await audit.record(db, user.id, audit.IDENTITY_UNLINKED, target_kind="user", target_id=user.id, data={"issuer": issuer})


async def sign_in_identity(resources: Resources, identity: ExternalIdentity, *, employee: bool) -> User:
    """The account for a sign-in without an invite.

    A known identity signs in to its account (an employee account only while the identity still
    counts as an employee). An unknown one gets a new employee account if it counts as an
    employee; anyone else is refused, since guests enter only through an invite link.
    """
    async with resources.db.begin() as db:
        user = await user_for_identity(db, identity.issuer, identity.subject)
        if user is None:
            if not employee:
                raise NotInvited()
            waiting = await provisioned_account(db, identity)
            if waiting is not None:
                return waiting
            user = await create_user_for_identity(db, identity, kind="employee")
            await audit.record(db, user.id, audit.USER_CREATED, target_kind="user", target_id=user.id,
                        data={"kind": "employee", "issuer": identity.issuer, "provider": identity.provider})
            return user
        if not user.is_active:
            raise Deactivated()
        if user.kind == "employee" and not employee:
            raise NotAnEmployeeAnyMore()
        await touch_identity(db, identity)
        return user
