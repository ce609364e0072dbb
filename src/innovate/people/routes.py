"""The administrators' people pages: ``/admin/people`` (search, filters, invitations with a
preview) and ``/admin/people/{id}`` (rooms, sign-ins, sessions, and every action on the
person). Each action posts a plain form, calls one service and comes back with a notice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_admin
from innovate.accounts.models import User
from innovate.errors import AppError, Invalid
from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext
from innovate.inputs import Input, bool_field, read_input, text_field
from innovate.people import invitations
from innovate.people.erase import erase_user
from innovate.people.personal_routes import export_for_admin
from innovate.people.queries import KINDS, ROLES, STATES, PeopleFilter, count_people, list_people, person
from innovate.people.service import set_active, set_roles
from innovate.resources import Resources
from innovate.web import flash, page, resources, see_other, view

MAX_CSV_BYTES = 1_000_000


@view
async def people_page(request: Request) -> Response:
    require_admin(request)
    try:
        flt = PeopleFilter.read(dict(request.query_params))
        error = None
    except Invalid as exc:
        flt, error = PeopleFilter(), exc.message
    async with resources(request).db() as db:
        items, cursor = await list_people(db, flt)
        total = await count_people(db, flt)
    more = {**flt.query(), "after": str(cursor)} if cursor is not None else None
    return page(request, "people/index.html", {
        "people": items, "filter": flt, "total": total, "filter_error": error,
        "next_url": f"/admin/people?{urlencode(more)}" if more else None,
        "choices": {"kind": KINDS, "role": ROLES, "state": STATES},
        "mail_enabled": resources(request).settings.mail_enabled,
    })


async def _invitation_input(data: Input) -> dict[str, Any]:
    """The pasted list or the uploaded CSV (kept as text, so the preview can post it back)."""
    upload = data.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(MAX_CSV_BYTES + 1)
        if len(raw) > MAX_CSV_BYTES:
            raise Invalid.field("file", lazy_gettext("the file is larger than 1 MB"))
        try:
            return {"csv": raw.decode("utf-8-sig")}
        except UnicodeDecodeError:
            raise Invalid.field("file", lazy_gettext("save the CSV as UTF-8 text")) from None
    if isinstance(data.get("csv"), str) and data["csv"].strip():
        return {"csv": data["csv"]}
    return {"list": data.get("list") if isinstance(data.get("list"), str) else ""}


@view
async def invite_submit(request: Request) -> Response:
    """First post: the preview (nothing written). Second post (``confirm``): the invitations."""
    actor = require_admin(request)
    res = resources(request)
    data = await read_input(request)
    try:
        given = await _invitation_input(data)
        if not bool_field(data, "confirm"):
            checked = await invitations.check_invitations(res, given)
            return page(request, "people/preview.html", {"checked": checked, "given": given,
                                                         "mail_enabled": res.settings.mail_enabled})
        invited, checked = await invitations.invite(res, actor, given)
    except Invalid as exc:
        flash(request, exc.message)
        return see_other("/admin/people#invite")
    return page(request, "people/invited.html", {"invited": invited, "checked": checked,
                                                 "mail_enabled": res.settings.mail_enabled},
                headers={"Cache-Control": "no-store"})


async def _person_page(request: Request, link: str | None = None) -> Response:
    async with resources(request).db() as db:
        shown = await person(db, request.path_params["user_id"])
    return page(request, "people/person.html", {"person": shown, "link": link,
                                                "mail_enabled": resources(request).settings.mail_enabled},
                headers={"Cache-Control": "no-store"})


@view
async def person_page(request: Request) -> Response:
    require_admin(request)
    return await _person_page(request)


# Actions on one person --------------------------------------------------------------------

Action = Callable[[Resources, User, int, Input], Awaitable[str]]


async def _roles(res: Resources, actor: User, user_id: int, data: Input) -> str:
    role = data.get("role")
    on = bool_field(data, "on")
    if role not in ("admin", "moderator"):
        raise Invalid.field("role", lazy_gettext("expected admin or moderator"))
    if role == "admin":
        await set_roles(res, actor, user_id, is_admin=on)
    else:
        await set_roles(res, actor, user_id, is_moderator=on)
    if role == "admin":
        return _("Now an administrator.") if on else _("No longer an administrator.")
    return _("Now a challenge creator (moderator).") if on else _("No longer a challenge creator (moderator).")


async def _deactivate(res: Resources, actor: User, user_id: int, data: Input) -> str:
    await set_active(res, actor, user_id, active=False,
                     reason=text_field(data, "reason", max_length=500, required=False))
    return _("Deactivated: signed out everywhere, live connections closed.")


async def _reactivate(res: Resources, actor: User, user_id: int, data: Input) -> str:
    await set_active(res, actor, user_id, active=True)
    return _("Reactivated: they can sign in again.")


def _action(action: Action) -> Callable[[Request], Awaitable[Response]]:
    @view
    async def handler(request: Request) -> Response:
        actor = require_admin(request)
        user_id = request.path_params["user_id"]
        try:
            flash(request, await action(resources(request), actor, user_id, await read_input(request)))
        except AppError as exc:
            if exc.status in (401, 404):
                raise
            flash(request, exc.message)
        return see_other(f"/admin/people/{user_id}")

    handler.__name__ = action.__name__.strip("_")
    return handler


@view
async def resend_invitation(request: Request) -> Response:
    """Mailed again; on a site without e-mail the new link is shown on this answer, once."""
    actor = require_admin(request)
    user_id = request.path_params["user_id"]
    try:
        again = await invitations.resend(resources(request), actor, user_id)
    except AppError as exc:
        if exc.status in (401, 404):
            raise
        flash(request, exc.message)
        return see_other(f"/admin/people/{user_id}")
    if again.url is None:
        flash(request, _("The invitation was sent again to %(email)s; earlier links no longer work.",
                         email=again.email))
        return see_other(f"/admin/people/{user_id}")
    return await _person_page(request, link=again.url)


@view
async def revoke_invitation(request: Request) -> Response:
    actor = require_admin(request)
    user_id = request.path_params["user_id"]
    try:
        await invitations.revoke(resources(request), actor, user_id)
    except AppError as exc:
        if exc.status in (401, 404):
            raise
        flash(request, exc.message)
        return see_other(f"/admin/people/{user_id}")
    flash(request, _("The invitation was withdrawn."))
    return see_other("/admin/people")


@view
async def erase(request: Request) -> Response:
    actor = require_admin(request)
    user_id = request.path_params["user_id"]
    data = await read_input(request)
    if data.get("confirm") != "ERASE":
        flash(request, _("Type ERASE to confirm: erasing cannot be undone."))
        return see_other(f"/admin/people/{user_id}#erase")
    try:
        erased = await erase_user(resources(request), actor, user_id, delete_content=bool_field(data, "delete_content"))
    except AppError as exc:
        if exc.status in (401, 404):
            raise
        flash(request, exc.message)
        return see_other(f"/admin/people/{user_id}#erase")
    flash(request, _("Erased: the person is now Former member #%(number)d.", number=erased.former_member_id))

    return see_other("/admin/people")


@view
async def export(request: Request) -> Response:
    return await export_for_admin(resources(request), require_admin(request), request.path_params["user_id"])


routes = [
    Route("/admin/people", people_page, methods=["GET"]),
    Route("/admin/people/invite", invite_submit, methods=["POST"]),
    Route("/admin/people/{user_id:id}", person_page, methods=["GET"]),
    Route("/admin/people/{user_id:id}/roles", _action(_roles), methods=["POST"]),
    Route("/admin/people/{user_id:id}/deactivate", _action(_deactivate), methods=["POST"]),
    Route("/admin/people/{user_id:id}/reactivate", _action(_reactivate), methods=["POST"]),
    Route("/admin/people/{user_id:id}/invitation/resend", resend_invitation, methods=["POST"]),
    Route("/admin/people/{user_id:id}/invitation/revoke", revoke_invitation, methods=["POST"]),
    Route("/admin/people/{user_id:id}/erase", erase, methods=["POST"]),
    Route("/admin/people/{user_id:id}/export", export, methods=["GET"]),
]
