"""The write path for people: deactivating and reactivating accounts, and site-wide roles."""

from __future__ import annotations

from sqlalchemy import func, select, update

from innovate import audit
from innovate.accounts.models import User
from innovate.accounts.sessions import revoke_sessions_in
from innovate.db import utcnow
from innovate.errors import Conflict, Forbidden, NotFound
from innovate.i18n import lazy_gettext
from innovate.resources import Resources
from innovate.rooms.owners import flag_ownerless, owned_communities
from innovate.writes import access_changed, write


async def set_active(resources: Resources, actor: User, user_id: int, *, active: bool,
                     reason: str | None = None) -> User:
    """Deactivate (or reactivate) an account; admins only, audited. Deactivation cuts the
    person off at once: sessions revoked, sockets closed. Access tokens stop working because
    every bearer request checks that the account is active."""
    if not actor.is_admin:
        raise Forbidden(lazy_gettext("Only administrators may do that."))
    if user_id == actor.id and not active:
        raise Forbidden(lazy_gettext("You cannot deactivate your own account."))
    async with write(resources) as (db, outbox):
        result = await db.execute(
            update(User).where(User.id == user_id, User.is_active == (not active))
            .values(is_active=active, deactivated_at=None if active else utcnow())
            .returning(User.id)
        )
        changed = result.scalar_one_or_none() is not None
        user = (await db.execute(
            select(User).where(User.id == user_id).execution_options(populate_existing=True)
        )).scalar_one_or_none()
        if user is None:
            raise NotFound(lazy_gettext("No such user."))
        if changed:
            await audit.record(db, actor.id, audit.USER_REACTIVATED if active else audit.USER_DEACTIVATED,
                               target_kind="user", target_id=user_id, reason=reason, data={"kind": user.kind})
        if not active:
            await revoke_sessions_in(db, outbox, user_id)
            if changed:
                await flag_ownerless(db, outbox, await owned_communities(db, user_id))
    return user


async def set_roles(resources: Resources, actor: User, user_id: int, *, is_admin: bool | None = None,
                    is_moderator: bool | None = None, reason: str | None = None) -> User:
    """Make or unmake an administrator or a challenge creator ("moderator"); admins only,
    audited. Guests hold neither; the last active administrator stays one."""
    if not actor.is_admin:
        raise Forbidden(lazy_gettext("Only administrators may do that."))
    async with write(resources) as (db, outbox):
        user = (await db.execute(select(User).where(User.id == user_id, User.erased_at.is_(None)).with_for_update()
                                 .execution_options(populate_existing=True))).scalar_one_or_none()
        if user is None:
            raise NotFound(lazy_gettext("No such user."))
        before = {"is_admin": user.is_admin, "is_moderator": user.is_moderator}
        after = {"is_admin": before["is_admin"] if is_admin is None else is_admin,
                 "is_moderator": before["is_moderator"] if is_moderator is None else is_moderator}
        if after == before:
            return user
        if user.is_guest and (after["is_admin"] or after["is_moderator"]):
            raise Conflict(lazy_gettext("Guests cannot be administrators or create challenges; only employees can."))
        if before["is_admin"] and not after["is_admin"]:
            others = (await db.execute(select(func.count()).select_from(User).where(
                User.is_admin.is_(True), User.is_active.is_(True), User.id != user_id))).scalar_one()
            if not others:
                raise Conflict(lazy_gettext("This is the last administrator; make someone else an administrator first."))
        user.is_admin, user.is_moderator = after["is_admin"], after["is_moderator"]
        await db.flush()
        await audit.record(db, actor.id, audit.USER_ROLE_CHANGED, target_kind="user", target_id=user_id,
                           reason=reason, data={"from": before, "to": after})
        # Open sockets re-check: an administrator's view of rooms differs from a member's.
        access_changed(outbox, user_id=user_id)
    return user
