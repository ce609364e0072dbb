"""@mentions: the handle members use for each other, and the members a handle being typed may
name (the composer's suggestions: active members of the one room, never anyone else)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.errors import Invalid
from innovate.i18n import gettext as _
from innovate.rooms.access import RoomAccess
from innovate.rooms.models import Membership

HANDLE_STRIP = re.compile(r"[^a-z0-9._-]")
# What may follow "@" in a handle being typed (markdown.MENTION, lower case), or nothing yet.
PREFIX = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
SUGGESTIONS_MAX = 20
# Rows read to pick the suggestions from: the SQL filter is wider than the exact rule below.
CANDIDATES_READ = 200


def handle_of(user: User) -> str:
    """The @handle members use for someone: their name without spaces, lower case."""
    return HANDLE_STRIP.sub("", user.name.lower().replace(" ", "")) or f"user{user.id}"


def mention_prefix(raw: str | None) -> str:
    """The ``q`` of a suggestion request: the handle typed so far (an "@" before it is allowed)."""
    prefix = (raw or "").strip().lower().removeprefix("@")
    if prefix and not PREFIX.fullmatch(prefix):
        raise Invalid.field("q", _("expected the start of a handle: letters, digits, '.', '_' or '-', at most 64"))
    return prefix


def suggestion_limit(raw: str | None, default: int = 8) -> int:
    if raw in (None, ""):
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= SUGGESTIONS_MAX:
        raise Invalid.field("limit", _("expected a whole number from 1 to %(max)s", max=SUGGESTIONS_MAX))
    return int(raw)


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _rank(user: User, prefix: str) -> int | None:
    """0: the handle starts with the prefix; 1: a word of the name does; None: no match."""
    if handle_of(user).startswith(prefix):
        return 0
    if any(word.startswith(prefix) for word in user.name.lower().split()):
        return 1
    return None


async def mention_candidates(db: AsyncSession, access: RoomAccess, prefix: str, limit: int) -> list[dict[str, Any]]:
    """Active members of the caller's room (not the caller) whose handle, or a word of whose
    name, starts with ``prefix``: handles first, then by name."""
    stmt = (select(User).join(Membership, Membership.user_id == User.id)
            .where(Membership.room_id == access.room.id, Membership.state == "active", User.is_active.is_(True),
                   User.id != access.user.id))
    if prefix:
        # Wider than the rule (punctuation in names): _rank decides.
        like = _like(prefix)
        name = func.lower(User.name)
        stmt = stmt.where(or_(func.replace(name, " ", "").like(like + "%", escape="\\"),
                              name.like(like[0] + "%", escape="\\"),
                              name.like("% " + like[0] + "%", escape="\\")))
    users = list((await db.execute(stmt.order_by(User.name, User.id).limit(CANDIDATES_READ))).scalars())
    ranked = sorted(((rank, user) for user in users if (rank := _rank(user, prefix)) is not None),
                    key=lambda pair: (pair[0], pair[1].name.lower(), pair[1].id))
    return [{"user_id": user.id, "name": user.name, "handle": handle_of(user), "kind": user.kind}
            for _, user in ranked[:limit]]
