"""May this socket stay open, and as what? The same rule at the handshake and afterwards.

A live socket needs what a page needs (:func:`innovate.rooms.access.can_see_room`) plus an
active membership; moderators and admins may watch any room they moderate. Open sockets
are re-checked in batches (a few queries for any number of sockets) whenever a notice says
something changed, and periodically as a safety net.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import AccessToken, Session, User
from innovate.db import utcnow
from innovate.realtime.feed import Standing, Subscriber
from innovate.rooms.access import RoomAccess, can_see_room
from innovate.rooms.models import Membership, Room

CHUNK = 500
T = TypeVar("T")


def standing_for(room: Room, user: User, membership: Membership | None) -> Standing | None:
    """None when the user may not hold a live socket on this room."""
    if not can_see_room(room, user, membership):
        return None
    access = RoomAccess(room=room, user=user, membership=membership)
    if not (access.is_member or access.can_moderate):
        return None
    muted_until = membership.muted_until if access.is_muted and membership is not None else None
    return Standing(privileged=access.can_moderate, muted_until=muted_until)


def _chunks(values: Iterable[T]) -> Iterable[list[T]]:
    items = list(values)
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


async def current_standings(db: AsyncSession, conns: Sequence[Subscriber]) -> list[Standing | None]:
    """Each socket's standing now: its session or token still valid, its user active, its
    membership still there. A handful of batched queries for the whole list."""
    now = utcnow()
    session_ids = {c.session_id for c in conns if c.session_id is not None}
    token_hashes = {c.token_hash for c in conns if c.token_hash is not None}
    user_ids = {c.user_id for c in conns}
    room_ids = {c.room_id for c in conns if c.room_id is not None}

    live_sessions: set[int] = set()
    for chunk in _chunks(session_ids):
        sessions = await db.execute(select(Session.id).where(
            Session.id.in_(chunk), Session.revoked_at.is_(None), Session.expires_at > now))
        live_sessions.update(sessions.scalars())
    live_tokens: set[str] = set()
    for hashes in _chunks(token_hashes):
        tokens = await db.execute(select(AccessToken.token_hash).where(
            AccessToken.token_hash.in_(hashes), AccessToken.revoked_at.is_(None),
            or_(AccessToken.expires_at.is_(None), AccessToken.expires_at > now)))
        live_tokens.update(tokens.scalars())
    users: dict[int, User] = {}
    for chunk in _chunks(user_ids):
        for found_user in (await db.execute(select(User).where(User.id.in_(chunk)))).scalars():
            users[found_user.id] = found_user
    rooms: dict[int, Room] = {}
    for chunk in _chunks(room_ids):
        for found_room in (await db.execute(select(Room).where(Room.id.in_(chunk)))).scalars():
            rooms[found_room.id] = found_room
    memberships: dict[tuple[int, int], Membership] = {}
    for chunk in _chunks(user_ids):
        found = await db.execute(select(Membership).where(
            Membership.user_id.in_(chunk), Membership.room_id.in_(room_ids)))
        for membership in found.scalars():
            memberships[(membership.room_id, membership.user_id)] = membership

    result: list[Standing | None] = []
    for conn in conns:
        user = users.get(conn.user_id)
        room = rooms.get(conn.room_id) if conn.room_id is not None else None
        if (
            user is None or (room is None and conn.room_id is not None) or not user.is_active
            or (conn.session_id is not None and conn.session_id not in live_sessions)
            or (conn.token_hash is not None and conn.token_hash not in live_tokens)
            or (conn.session_id is None and conn.token_hash is None)
        ):
            result.append(None)
            continue
        if room is None:  # a socket of the user's own, in no room: signed in is enough
            result.append(Standing(privileged=False, muted_until=None))
            continue
        result.append(standing_for(room, user, memberships.get((room.id, conn.user_id))))
    return result
