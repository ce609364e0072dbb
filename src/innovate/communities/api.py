"""Communities in the JSON API: the directory, and the administrators' hand-over and archiving
(see docs/api.md). A community is created with ``POST /api/v1/rooms`` and ``"kind": "community"``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_admin, require_user
from innovate.communities import queries, service
from innovate.inputs import JSON, read_input
from innovate.rooms.serializers import room_json
from innovate.web import resources


async def communities_collection(request: Request) -> Response:
    user = require_user(request)
    params = request.query_params
    async with resources(request).db() as db:
        cards = await queries.directory(db, user, query=params.get("q", "").strip(), tag=params.get("tag") or None,
                                        mine=params.get("mine") in ("1", "true"),
                                        archived=params.get("archived") in ("1", "true"))
    return JSON({"items": [card.json() for card in cards]})


async def admin_communities(request: Request) -> Response:
    admin = require_admin(request)
    async with resources(request).db() as db:
        return JSON({"items": [card.json() for card in await queries.admin_list(db, admin)]})


async def community_owner(request: Request) -> Response:
    room = await service.hand_over(resources(request), require_user(request), request.path_params["slug"],
                                   await read_input(request))
    return JSON(room_json(room, None, moderator=True))


async def community_archive(request: Request) -> Response:
    room = await service.set_archived(resources(request), require_user(request), request.path_params["slug"],
                                      {"phase": "archived"})
    return JSON(room_json(room, None, moderator=True))


async def community_reopen(request: Request) -> Response:
    room = await service.set_archived(resources(request), require_user(request), request.path_params["slug"],
                                      {"phase": "open"})
    return JSON(room_json(room, None, moderator=True))


routes = [
    Route("/api/v1/communities", communities_collection, methods=["GET"]),
    Route("/api/v1/admin/communities", admin_communities, methods=["GET"]),
    Route("/api/v1/communities/{slug}/owners", community_owner, methods=["POST"]),
    Route("/api/v1/communities/{slug}/archive", community_archive, methods=["POST"]),
    Route("/api/v1/communities/{slug}/reopen", community_reopen, methods=["POST"]),
]
