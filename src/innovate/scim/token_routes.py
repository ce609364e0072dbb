"""SCIM tokens for administrators: in the JSON API and on the people page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_admin
from innovate.errors import AppError
from innovate.i18n import gettext as _
from innovate.inputs import JSON, read_input, text_field
from innovate.scim.tokens import create_scim_token, list_scim_tokens, revoke_scim_token, scim_token_json
from innovate.web import flash, page, resources, see_other, view


async def api_tokens(request: Request) -> Response:
    actor = require_admin(request)
    res = resources(request)
    if request.method == "GET":
        return JSON({"items": [scim_token_json(t) for t in await list_scim_tokens(res)]})
    data = await read_input(request)
    row, token = await create_scim_token(res, actor, text_field(data, "name", max_length=100, required=False) or "")
    return JSON({**scim_token_json(row), "token": token}, status_code=201, headers={"Cache-Control": "no-store"})


async def api_token_revoke(request: Request) -> Response:
    await revoke_scim_token(resources(request), require_admin(request), request.path_params["token_id"])
    return Response(status_code=204)


@view
async def tokens_page(request: Request) -> Response:
    require_admin(request)
    return page(request, "people/scim.html", {"tokens": await list_scim_tokens(resources(request)), "new_token": None})


@view
async def tokens_create(request: Request) -> Response:
    actor = require_admin(request)
    data = await read_input(request)
    res = resources(request)
    try:
        _row, token = await create_scim_token(res, actor, text_field(data, "name", max_length=100, required=False) or "")
    except AppError as exc:
        if exc.status in (401, 403, 404):
            raise
        flash(request, exc.message)
        return see_other("/admin/people/scim")
    return page(request, "people/scim.html", {"tokens": await list_scim_tokens(res), "new_token": token},
                headers={"Cache-Control": "no-store"})


@view
async def tokens_revoke(request: Request) -> Response:
    await revoke_scim_token(resources(request), require_admin(request), request.path_params["token_id"])
    flash(request, _("The token was revoked: the directory's next request is refused."))
    return see_other("/admin/people/scim")


routes = [
    Route("/api/v1/admin/scim-tokens", api_tokens, methods=["GET", "POST"]),
    Route("/api/v1/admin/scim-tokens/{token_id:id}", api_token_revoke, methods=["DELETE"]),
    Route("/admin/people/scim", tokens_page, methods=["GET"]),
    Route("/admin/people/scim", tokens_create, methods=["POST"]),
    Route("/admin/people/scim/{token_id:id}/revoke", tokens_revoke, methods=["POST"]),
]
