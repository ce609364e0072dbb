"""Ending someone's access: the admin's deactivation, and guests who lost their rooms.

When access ends, the person's sessions are revoked and their live sockets are cut, so
nothing they had open keeps streaming. Feature code calls:

- :func:`cut_sockets` after any change that may take a room away from a user (removal,
  a room closing or being archived): their sockets reconnect and the handshake decides anew;
- :func:`end_guest_access_if_roomless` after a guest lost a room: with no room left, their
  sessions go too;
- :func:`guests_lost_room` after a room was archived (or closed, if it says so).
"""

from __future__ import annotations

from sqlalchemy import select, update
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.auth.access import can_see_room, require_admin
from innovate.auth.models import User
from innovate.auth.sessions import revoke_user_sessions
from innovate.db import utcnow
from innovate.errors import Forbidden, NotFound
from innovate.inputs import JSON, read_input, text_field
from innovate.resources import Resources
from innovate.rooms.events import audit
from innovate.rooms.models import Membership, Room


async def cut_sockets(resources: Resources, user_id: int) -> None:
    """Make every process re-check the live sockets of ``user_id`` now; those whose access is
    gone are closed (1008), the others carry on with their new standing."""
    if resources.hub is not None:
        await resources.hub.disconnect_user(user_id)


async def cut_off(resources: Resources, user_id: int) -> None:
    """Revoke all sessions of ``user_id`` and cut their sockets."""
    await revoke_user_sessions(resources, user_id)
    await cut_sockets(resources, user_id)


async def guest_rooms_left(resources: Resources, user_id: int) -> int:
    async with resources.db() as db:
        user = await db.get(User, user_id)
        if user is None:
            return 0
        rows = (await db.execute(
            select(Room, Membership).join(Membership, Membership.room_id == Room.id)
            .where(Membership.user_id == user_id, Membership.state == "active")
        )).all()
    return sum(1 for room, membership in rows if can_see_room(room, user, membership))


async def end_guest_access_if_roomless(resources: Resources, user_id: int) -> None:
    """A guest who lost a room: cut their sockets, and their sessions if no room is left."""
    async with resources.db() as db:
        user = await db.get(User, user_id)
    if user is None or not user.is_guest:
        await cut_sockets(resources, user_id)
        return
    if await guest_rooms_left(resources, user_id) == 0:
        await cut_off(resources, user_id)
    else:
        await cut_sockets(resources, user_id)


async def guests_lost_room(resources: Resources, room_id: int) -> None:
    """After a room stopped admitting guests: apply :func:`end_guest_access_if_roomless` to each."""
    async with resources.db() as db:
        guest_ids = list((await db.execute(
            select(User.id).join(Membership, Membership.user_id == User.id)
            .where(Membership.room_id == room_id, Membership.state == "active", User.kind == "guest")
        )).scalars())
    for guest_id in guest_ids:
        await end_guest_access_if_roomless(resources, guest_id)


async def set_active(resources: Resources, actor: User, user_id: int, *, active: bool,
                     reason: str | None = None) -> User:
    """Deactivate (or reactivate) an account; admins only, audited. Deactivation cuts the
    person off at once: sessions revoked, sockets closed. Access tokens stop working because
    every bearer request checks that the account is active."""
    if not actor.is_admin:
        raise Forbidden("Only administrators may do that.")
    if user_id == actor.id and not active:
        raise Forbidden("You cannot deactivate your own account.")
    async with resources.db.begin() as db:
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
            await audit(db, actor.id, "user.reactivated" if active else "user.deactivated",
                        target_kind="user", target_id=user_id, reason=reason, data={"kind": user.kind})
    if not active:
        await cut_off(resources, user_id)
    return user


def _user_id(request: Request) -> int:
    return int(request.path_params["user_id"])


async def api_deactivate(request: Request) -> Response:
    actor = require_admin(request)
    data = await read_input(request)
    reason = text_field(data, "reason", max_length=500, required=False)
    user = await set_active(request.app.state.resources, actor, _user_id(request), active=False, reason=reason)
    return JSON({"id": user.id, "name": user.name, "kind": user.kind, "is_active": user.is_active})


async def api_reactivate(request: Request) -> Response:
    actor = require_admin(request)
    user = await set_active(request.app.state.resources, actor, _user_id(request), active=True)
    return JSON({"id": user.id, "name": user.name, "kind": user.kind, "is_active": user.is_active})


routes = [
    Route("/api/v1/users/{user_id:int}/deactivate", api_deactivate, methods=["POST"]),
    Route("/api/v1/users/{user_id:int}/reactivate", api_reactivate, methods=["POST"]),
]
