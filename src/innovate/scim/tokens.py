"""SCIM bearer tokens: created by an administrator (``innovate scim token create`` or the people
page), shown once, stored as a SHA-256 hash, revocable at once, accepted on ``/scim/v2`` only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from innovate import audit
from innovate.accounts.hashing import new_token, token_hash
from innovate.accounts.models import User
from innovate.db import utcnow
from innovate.errors import Forbidden, Invalid, NotFound
from innovate.i18n import lazy_gettext, lazy_ngettext
from innovate.resources import Resources
from innovate.scim.models import ScimToken
from innovate.writes import write

PREFIX = "scim_"


async def create_scim_token(resources: Resources, actor: User | None, name: str = "") -> tuple[ScimToken, str]:
    """A new token (``actor`` None: from the command line, which runs with the server's rights)."""
    if actor is not None and not actor.is_admin:
        raise Forbidden(lazy_gettext("Only administrators may do that."))
    label = " ".join((name or "").split()) or "directory"
    if len(label) > 100:
        raise Invalid.field("name", lazy_ngettext("use at most %(num)d character", "use at most %(num)d characters", 100))
    token = new_token(PREFIX)
    async with write(resources) as (db, _outbox):
        row = ScimToken(name=label, token_hash=token_hash(token), prefix=token[:10],
                        created_by_id=actor.id if actor is not None else None)
        db.add(row)
        await db.flush()
        await audit.record(db, actor.id if actor is not None else None, audit.SCIM_TOKEN_CREATED,
                           target_kind="scim_token", target_id=row.id, data={"name": label})
    return row, token


async def list_scim_tokens(resources: Resources) -> list[ScimToken]:
    async with resources.db() as db:
        return list((await db.execute(select(ScimToken).order_by(ScimToken.id.desc()))).scalars())


async def revoke_scim_token(resources: Resources, actor: User | None, token_id: int) -> None:
    if actor is not None and not actor.is_admin:
        raise Forbidden(lazy_gettext("Only administrators may do that."))
    async with write(resources) as (db, _outbox):
        result = await db.execute(update(ScimToken).where(ScimToken.id == token_id, ScimToken.revoked_at.is_(None))
                                  .values(revoked_at=utcnow()).returning(ScimToken.id))
        if result.scalar_one_or_none() is None:
            raise NotFound(lazy_gettext("No such active SCIM token."))
        await audit.record(db, actor.id if actor is not None else None, audit.SCIM_TOKEN_REVOKED,
                           target_kind="scim_token", target_id=token_id)


async def verify_scim_token(resources: Resources, token: str | None) -> ScimToken | None:
    """The token row for a bearer value, if it is a live SCIM token."""
    if not token or len(token) > 128 or not token.startswith(PREFIX):
        return None
    now = utcnow()
    async with resources.db() as db:
        row = (await db.execute(select(ScimToken).where(ScimToken.token_hash == token_hash(token)))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    # Coarse last-used stamp: at most one write per token per minute.
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        async with resources.db.begin() as db:
            await db.execute(update(ScimToken).where(ScimToken.id == row.id).values(last_used_at=now))
    return row


def scim_token_json(row: ScimToken) -> dict[str, object]:
    return {"id": row.id, "name": row.name, "prefix": row.prefix, "created_at": row.created_at.isoformat(),
            "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
            "revoked": row.revoked_at is not None}
