"""The moderator buttons on a room's members: mute and lift a mute, remove, make moderator or
member, and (administrators) deactivate an account everywhere."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.accounts.models import User
from innovate.errors import Forbidden, Invalid, NotFound
from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext
from innovate.i18n.formatting import format_datetime
from innovate.inputs import Input, int_field, read_input
from innovate.moderation import service as moderation
from innovate.moderation.pages import mute_label, queue_context
from innovate.people.service import set_active
from innovate.resources import Resources
from innovate.rooms.access import room_access
from innovate.rooms.queries import has_membership
from innovate.web import Handler, back, flash_part, render_to_string, reply, resources, view

# An action on one member of the room ``slug``; it answers what to tell the moderator.
MemberAction = Callable[[Resources, User, str, int, Input], Awaitable[str]]


async def _mute(res: Resources, user: User, slug: str, member_id: int, data: Input) -> str:
    minutes = int_field(data, "mute_minutes", minimum=1, maximum=moderation.MAX_MUTE_MINUTES) or 0
    await moderation.update_member(res, user, slug, member_id, {**data, "mute_minutes": minutes})
    return _("Muted for %(duration)s; the mute ends by itself.", duration=mute_label(minutes))


async def _unmute(res: Resources, user: User, slug: str, member_id: int, data: Input) -> str:
    await moderation.update_member(res, user, slug, member_id, {"mute_minutes": 0, "reason": data.get("reason")})
    return _("The mute is lifted.")


async def _remove(res: Resources, user: User, slug: str, member_id: int, data: Input) -> str:
    await moderation.remove_member(res, user, slug, member_id, moderation.reason_field(data, required=False))
    return _("Removed from the room.")


async def _access(res: Resources, user: User, slug: str, member_id: int, data: Input) -> str:
    fields = {k: data[k] for k in ("extend_days", "end_access", "reason") if data.get(k) not in (None, "")}
    if not fields.get("extend_days") and not fields.get("end_access"):
        raise Invalid.field("extend_days", lazy_gettext("choose how many days to add, or end the access now"))
    target = await moderation.update_member(res, user, slug, member_id, fields)
    if target.membership.state != "active":
        return _("Their guest access to this room has ended.")
    ends = target.membership.access_ends_at
    if ends is None:
        return _("Guest access ends with the room.")
    return _("Guest access now ends %(when)s.", when=format_datetime(ends))


async def _role(res: Resources, user: User, slug: str, member_id: int, data: Input) -> str:
    target = await moderation.update_member(res, user, slug, member_id,
                                            {"role": data.get("role"), "reason": data.get("reason")})
    return _("Now a moderator of this room.") if target.membership.role == "moderator" \
        else _("Now a member (no longer a moderator).")


async def _deactivate(res: Resources, user: User, slug: str, member_id: int, data: Input) -> str:
    """An admin ends a guest's (or anyone's) access everywhere, from the room they met them in."""
    if not user.is_admin:
        raise Forbidden(lazy_gettext("Only administrators may deactivate accounts."))
    async with res.db() as db:
        access = await room_access(db, user, slug)
        in_room = await has_membership(db, access.room.id, member_id)
    if not in_room:
        raise NotFound(lazy_gettext("No such member in this room."))
    await set_active(res, user, member_id, active=False, reason=moderation.reason_field(data, required=False))
    return _("The account is deactivated everywhere: signed out, live connections closed.")


def _member_button(name: str, action: MemberAction) -> Handler:
    @view
    async def handler(request: Request) -> Response:
        user = require_user(request)
        slug, member_id = request.path_params["slug"], request.path_params["user_id"]
        data = await read_input(request)
        done = await action(resources(request), user, slug, member_id, data)

        async def parts() -> list[str]:
            parts = [flash_part(request, done)]
            if data.get("part") == "moderation-members":  # the button was in the queue page's member list
                async with resources(request).db() as db:
                    context = await queue_context(db, user, slug)
                parts.insert(0, render_to_string(request, "moderation/_members.html", context))
            return parts

        anchor = "moderation-members"
        return await reply(request, parts, back(request, f"/rooms/{slug}/moderation#{anchor}", anchor), done=done)

    handler.__name__ = name
    return handler


routes = [
    Route("/rooms/{slug}/members/{user_id:id}/mute", _member_button("mute_member", _mute), methods=["POST"]),
    Route("/rooms/{slug}/members/{user_id:id}/unmute", _member_button("unmute_member", _unmute), methods=["POST"]),
    Route("/rooms/{slug}/members/{user_id:id}/remove", _member_button("remove_member", _remove), methods=["POST"]),
    Route("/rooms/{slug}/members/{user_id:id}/access", _member_button("member_access", _access), methods=["POST"]),
    Route("/rooms/{slug}/members/{user_id:id}/role", _member_button("member_role", _role), methods=["POST"]),
    Route("/rooms/{slug}/members/{user_id:id}/deactivate", _member_button("deactivate_member", _deactivate),
          methods=["POST"]),
]
