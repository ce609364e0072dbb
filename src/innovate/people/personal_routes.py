"""A person's data, over HTTP: everyone downloads their own (``/account/export``, the JSON API's
``/me/export``); administrators download anyone's and erase people."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from innovate import audit
from innovate.accounts.guards import require_admin, require_user
from innovate.accounts.models import User
from innovate.errors import NotFound
from innovate.i18n import lazy_gettext
from innovate.inputs import JSON, bool_field, read_input
from innovate.people.erase import erase_user
from innovate.people.personal import personal_data
from innovate.resources import Resources
from innovate.web import resources, see_other
from innovate.writes import write


def download(res: Resources, user_id: int) -> StreamingResponse:
    return StreamingResponse(personal_data(res, user_id), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="innovate-personal-data-{user_id}.json"',
        "Cache-Control": "no-store"})


async def export_for_admin(res: Resources, actor: User, user_id: int) -> StreamingResponse:
    """Administrators export anyone's data; that they did is audited."""
    async with write(res) as (db, _outbox):
        user = await db.get(User, user_id)
        if user is None or user.erased_at is not None:
            raise NotFound(lazy_gettext("No such user."))
        await audit.record(db, actor.id, audit.USER_EXPORTED, target_kind="user", target_id=user_id)
    return download(res, user_id)


async def my_export(request: Request) -> Response:
    """``GET /api/v1/me/export`` and ``GET /account/export``: the caller's own data."""
    if request.scope.get("user") is None and not request.url.path.startswith("/api/"):
        return see_other("/login?next=/account")
    return download(resources(request), require_user(request).id)


async def api_person_export(request: Request) -> Response:
    return await export_for_admin(resources(request), require_admin(request), request.path_params["user_id"])


async def api_person_erase(request: Request) -> Response:
    actor = require_admin(request)
    data = await read_input(request)
    erased = await erase_user(resources(request), actor, request.path_params["user_id"],
                              delete_content=bool_field(data, "delete_content"))
    return JSON({"former_member_id": erased.former_member_id, "content_deleted": erased.content_deleted})


routes = [
    Route("/account/export", my_export, methods=["GET"]),
    Route("/api/v1/me/export", my_export, methods=["GET"]),
    Route("/api/v1/admin/people/{user_id:id}/export", api_person_export, methods=["GET"]),
    Route("/api/v1/admin/people/{user_id:id}/erase", api_person_erase, methods=["POST"]),
]
