"""The write path for people: deactivating and reactivating accounts."""

from __future__ import annotations

from sqlalchemy import select, update

from innovate import audit
from innovate.accounts.models import User
from innovate.accounts.sessions import revoke_sessions_in
from innovate.db import utcnow
from innovate.errors import Forbidden, NotFound
from innovate.resources import Resources
from innovate.rooms.owners import flag_ownerless, owned_communities
from innovate.writes import write


async def set_active(resources: Resources, actor: User, user_id: int, *, active: bool,
                     reason: str | None = None) -> User:
    """Deactivate (or reactivate) an account; admins only, audited. Deactivation cuts the
    person off at once: sessions revoked, sockets closed. Access tokens stop working because
    every bearer request checks that the account is active."""
    if not actor.is_admin:
        raise Forbidden("Only administrators may do that.")
    if user_id == actor.id and not active:
        raise Forbidden("You cannot deactivate your own account.")
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
            raise NotFound("No such user.")
        if changed:
            await audit.record(db, actor.id, audit.USER_REACTIVATED if active else audit.USER_DEACTIVATED,
                               target_kind="user", target_id=user_id, reason=reason, data={"kind": user.kind})
        if not active:
            await revoke_sessions_in(db, outbox, user_id)
            if changed:
                await flag_ownerless(db, outbox, await owned_communities(db, user_id))
    return user
