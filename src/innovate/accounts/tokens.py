"""Personal access tokens: created once, shown once, stored hashed, revocable."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult

from innovate.accounts.hashing import new_token, token_hash
from innovate.accounts.models import AccessToken, User
from innovate.db import utcnow
from innovate.errors import Invalid, NotFound
from innovate.i18n import lazy_gettext, lazy_ngettext
from innovate.resources import Resources
from innovate.writes import access_changed, write

TOKEN_PREFIX = "inv_"


async def create_token(resources: Resources, user: User, name: str = "") -> tuple[AccessToken, str]:
    label = " ".join((name or "").split()) or "token"
    if len(label) > 100:
        raise Invalid.field("name", lazy_ngettext("use at most %(num)d character", "use at most %(num)d characters", 100))
    token = new_token(TOKEN_PREFIX)
    async with resources.db.begin() as db:
        row = AccessToken(user_id=user.id, name=label, token_hash=token_hash(token), prefix=token[:8])
        db.add(row)
    return row, token


async def list_tokens(resources: Resources, user: User) -> list[AccessToken]:
    async with resources.db() as db:
        rows = await db.execute(
            select(AccessToken).where(AccessToken.user_id == user.id).order_by(AccessToken.id.desc())
        )
        return list(rows.scalars())


async def revoke_token(resources: Resources, user: User, token_id: int) -> None:
    """Revoke one of the user's tokens; the live sockets opened with it close at once."""
    async with write(resources) as (db, outbox):
        result = cast(CursorResult[Any], await db.execute(
            update(AccessToken)
            .where(AccessToken.id == token_id, AccessToken.user_id == user.id, AccessToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        ))
        if result.rowcount == 0:
            raise NotFound(lazy_gettext("No such active token."))
        access_changed(outbox, user_id=user.id)


def token_json(row: AccessToken) -> dict[str, object]:
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "created_at": row.created_at.isoformat(),
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
        "revoked": row.revoked_at is not None,
    }
