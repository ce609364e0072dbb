"""Communities in the JSON API: the directory, and the administrators' hand-over and archiving
(see docs/api.md). A community is created with ``POST /api/v1/rooms`` and ``"kind": "community"``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_admin, require_user
from innovate.accounts.models import User
from innovate.communities import queries, requests, service
from innovate.inputs import JSON, read_input
from innovate.rooms.serializers import room_json
from innovate.web import resources


async def communities_collection(request: Request) -> Response:
    user = require_user(request)
    params = request.query_params
    async with resources(request).db() as db:
        cards = await queries.directory(db, user, resources(request).settings, query=params.get("q", "").strip(), tag=params.get("tag") or None,
                                        mine=params.get("mine") in ("1", "true"),
                                        archived=params.get("archived") in ("1", "true"))
    return JSON({"items": [card.json() for card in cards]})


async def community_item(request: Request) -> Response:
    user = require_user(request)
    async with resources(request).db() as db:
        card = await queries.card(db, user, resources(request).settings, request.path_params["slug"])
    return JSON(card.json())


async def ask_to_join(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    await requests.ask_to_join(resources(request), user, slug, await read_input(request))
    return await _my_card(request, user, slug, status=201)


async def withdraw(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    await requests.withdraw_request(resources(request), user, slug)
    return await _my_card(request, user, slug)


async def _my_card(request: Request, user: User, slug: str, *, status: int = 200) -> Response:
    async with resources(request).db() as db:
        card = await queries.card(db, user, resources(request).settings, slug)
    return JSON(card.json(), status_code=status)


async def request_queue(request: Request) -> Response:
    async with resources(request).db() as db:
        _, queue = await queries.queue_for(db, require_user(request), request.path_params["slug"])
    return JSON(queue.json())


async def _decide(request: Request, decision: str) -> Response:
    data = {**await read_input(request), "decision": decision}
    decided = await requests.decide(resources(request), require_user(request), request.path_params["slug"],
                                    request.path_params["request_id"], data)
    r = decided.request
    return JSON({"id": r.id, "user_id": r.user_id, "state": r.state, "reason": r.reason,
                 "decided_at": r.decided_at.isoformat() if r.decided_at else None})


async def approve(request: Request) -> Response:
    return await _decide(request, "approve")


async def decline(request: Request) -> Response:
    return await _decide(request, "decline")


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
    Route("/api/v1/communities/{slug}", community_item, methods=["GET"]),
    Route("/api/v1/communities/{slug}/requests", ask_to_join, methods=["POST"]),
    Route("/api/v1/communities/{slug}/requests", request_queue, methods=["GET"]),
    Route("/api/v1/communities/{slug}/requests/mine", withdraw, methods=["DELETE"]),
    Route("/api/v1/communities/{slug}/requests/{request_id:id}/approve", approve, methods=["POST"]),
    Route("/api/v1/communities/{slug}/requests/{request_id:id}/decline", decline, methods=["POST"]),
    Route("/api/v1/communities/{slug}/owners", community_owner, methods=["POST"]),
    Route("/api/v1/communities/{slug}/archive", community_archive, methods=["POST"]),
    Route("/api/v1/communities/{slug}/reopen", community_reopen, methods=["POST"]),
]
