"""People in the JSON API (administrators): the list with its filters, one person, roles,
deactivation, and invitations by e-mail, pasted list or CSV (with a dry run first)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_admin
from innovate.inputs import JSON, bool_field, read_input, text_field
from innovate.people import invitations
from innovate.people.queries import PeopleFilter, count_people, list_people, person
from innovate.people.service import set_active, set_roles
from innovate.web import resources


async def _person(request: Request, user_id: int) -> Response:
    async with resources(request).db() as db:
        return JSON(await person(db, user_id))


async def api_people(request: Request) -> Response:
    require_admin(request)
    flt = PeopleFilter.read(dict(request.query_params))
    async with resources(request).db() as db:
        items, cursor = await list_people(db, flt)
        total = await count_people(db, flt)
    return JSON({"items": items, "next_cursor": cursor, "total": total})


async def api_person(request: Request) -> Response:
    actor = require_admin(request)
    user_id = request.path_params["user_id"]
    if request.method == "PATCH":
        data = await read_input(request)
        await set_roles(resources(request), actor, user_id,
                        is_admin=bool_field(data, "is_admin") if "is_admin" in data else None,
                        is_moderator=bool_field(data, "is_moderator") if "is_moderator" in data else None,
                        reason=text_field(data, "reason", max_length=500, required=False))
    return await _person(request, user_id)


async def api_deactivate(request: Request) -> Response:
    actor = require_admin(request)
    data = await read_input(request)
    reason = text_field(data, "reason", max_length=500, required=False)
    user = await set_active(resources(request), actor, request.path_params["user_id"], active=False, reason=reason)
    if request.url.path.startswith("/api/v1/admin/"):
        return await _person(request, user.id)
    return JSON({"id": user.id, "name": user.name, "kind": user.kind, "is_active": user.is_active})


async def api_reactivate(request: Request) -> Response:
    actor = require_admin(request)
    user = await set_active(resources(request), actor, request.path_params["user_id"], active=True)
    if request.url.path.startswith("/api/v1/admin/"):
        return await _person(request, user.id)
    return JSON({"id": user.id, "name": user.name, "kind": user.kind, "is_active": user.is_active})


def _invited_json(item: invitations.Invited) -> dict[str, object]:
    data: dict[str, object] = {"id": item.user_id, "email": item.email}
    if item.url is not None:
        data["url"] = item.url
    return data


async def api_invitations(request: Request) -> Response:
    """``dry_run``: the rows it would invite and the bad ones, nothing written; otherwise the
    good rows are invited and the bad ones answered."""
    actor = require_admin(request)
    data = await read_input(request)
    res = resources(request)
    if bool_field(data, "dry_run"):
        return JSON((await invitations.check_invitations(res, data)).json())
    invited, checked = await invitations.invite(res, actor, data)
    return JSON({"invited": [_invited_json(i) for i in invited], "errors": [e.json() for e in checked.errors]},
                status_code=201, headers={"Cache-Control": "no-store"})


async def api_invitation(request: Request) -> Response:
    """``POST``: send the invitation again (a new link); ``DELETE``: withdraw it."""
    actor = require_admin(request)
    user_id = request.path_params["user_id"]
    if request.method == "DELETE":
        await invitations.revoke(resources(request), actor, user_id)
        return Response(status_code=204)
    return JSON(_invited_json(await invitations.resend(resources(request), actor, user_id)),
                headers={"Cache-Control": "no-store"})


routes = [
    Route("/api/v1/users/{user_id:id}/deactivate", api_deactivate, methods=["POST"]),
    Route("/api/v1/users/{user_id:id}/reactivate", api_reactivate, methods=["POST"]),
    Route("/api/v1/admin/people", api_people, methods=["GET"]),
    Route("/api/v1/admin/people/invitations", api_invitations, methods=["POST"]),
    Route("/api/v1/admin/people/{user_id:id}", api_person, methods=["GET", "PATCH"]),
    Route("/api/v1/admin/people/{user_id:id}/deactivate", api_deactivate, methods=["POST"]),
    Route("/api/v1/admin/people/{user_id:id}/reactivate", api_reactivate, methods=["POST"]),
    Route("/api/v1/admin/people/{user_id:id}/invitation", api_invitation, methods=["POST", "DELETE"]),
]
