"""Personas in the JSON API (see docs/api.md): browse, curate, follow; naming HR curators."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_admin, require_user
from innovate.inputs import JSON, bool_field, read_input
from innovate.personas import queries, service
from innovate.web import resources


async def personas_collection(request: Request) -> Response:
    user = require_user(request)
    service.require_employee(user)
    if request.method == "POST":
        created = await service.create_persona(resources(request), user, await read_input(request))
        async with resources(request).db() as db:
            return JSON((await queries.persona(db, user, created.id)).json(), status_code=201)
    async with resources(request).db() as db:
        return JSON({"items": [p.json() for p in await queries.personas(db, user)]})


async def persona_item(request: Request) -> Response:
    user = require_user(request)
    service.require_employee(user)
    persona_id = request.path_params["persona_id"]
    if request.method == "PATCH":
        await service.update_persona(resources(request), user, persona_id, await read_input(request))
    async with resources(request).db() as db:
        return JSON((await queries.persona(db, user, persona_id)).json())


async def my_personas(request: Request) -> Response:
    user = require_user(request)
    if request.method == "PUT":
        await service.set_follows(resources(request), user, (await read_input(request)).get("follow"))
    service.require_employee(user)
    async with resources(request).db() as db:
        return JSON({"follow": await queries.followed_ids(db, user.id)})


async def user_curator(request: Request) -> Response:
    admin = require_admin(request)
    data = await read_input(request)
    curator = await service.name_curator(resources(request), admin, request.path_params["user_id"],
                                         bool_field(data, "curator"))
    return JSON({"id": request.path_params["user_id"], "curator": curator})


routes = [
    Route("/api/v1/personas", personas_collection, methods=["GET", "POST"]),
    Route("/api/v1/personas/{persona_id:id}", persona_item, methods=["GET", "PATCH"]),
    Route("/api/v1/me/personas", my_personas, methods=["GET", "PUT"]),
    Route("/api/v1/users/{user_id:id}/curator", user_curator, methods=["PUT"]),
]
