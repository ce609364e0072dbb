"""The JSON API for ideas and votes (see docs/api.md). Each write answers the idea as the
write left it, as the caller sees it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.errors import Invalid
from innovate.i18n import gettext as _
from innovate.inputs import JSON, read_input
from innovate.rooms.access import IdeaInRoom, idea_in_room, room_access
from innovate.rooms.ideas import service, votes
from innovate.rooms.ideas.queries import idea_detail, ideas_json, list_ideas
from innovate.rooms.ideas.search import similar_ideas
from innovate.rooms.queries import check_limit, viewer_for
from innovate.rooms.serializers import idea_json
from innovate.web import api_query_id, resources


async def _idea(request: Request, found: IdeaInRoom, status: int = 200) -> JSON:
    async with resources(request).db() as db:
        return JSON(await idea_detail(db, found.access, found.idea), status_code=status)


async def room_ideas(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    if request.method == "POST":
        return await _idea(request, await service.submit(resources(request), user, slug, await read_input(request)),
                           status=201)
    params = request.query_params
    async with resources(request).db() as db:
        access = await room_access(db, user, slug)
        page = await list_ideas(db, access, sort=params.get("sort", "top"), cursor=params.get("cursor"),
                                limit=check_limit(params.get("limit")), status=params.get("status") or None)
        return JSON(page.json())


async def room_similar_ideas(request: Request) -> Response:
    async with resources(request).db() as db:
        access = await room_access(db, require_user(request), request.path_params["slug"])
        found = await similar_ideas(db, access.room.id, request.query_params.get("q", ""),
                                    exclude_id=api_query_id(request, "exclude"))
        return JSON({"items": await ideas_json(db, access, found)})


async def idea_item(request: Request) -> Response:
    user = require_user(request)
    idea_id = request.path_params["idea_id"]
    if request.method == "PATCH":
        data = await read_input(request)
        if "into" in data:
            write = service.merge_ideas
        elif "status" in data:
            write = service.set_idea_status
        else:
            write = service.edit_idea
        return await _idea(request, await write(resources(request), user, idea_id, data))
    async with resources(request).db() as db:
        found = await idea_in_room(db, user, idea_id)
        return JSON(await idea_detail(db, found.access, found.idea))


async def idea_vote(request: Request) -> Response:
    user = require_user(request)
    idea_id = request.path_params["idea_id"]
    if request.method == "PUT":
        data = await read_input(request)
        if "value" not in data:
            raise Invalid.field("value", _("is required"))
        result = await votes.cast_vote(resources(request), user, idea_id, data["value"])
    else:
        result = await votes.retract_vote(resources(request), user, idea_id)
    body = idea_json(result.idea, result.access.room, result.author, viewer_for(result.access), my_vote=result.value)
    if result.budget_left is not None:
        body["my_budget_left"] = result.budget_left
    return JSON(body)


routes = [
    Route("/api/v1/rooms/{slug}/ideas", room_ideas, methods=["GET", "POST"]),
    Route("/api/v1/rooms/{slug}/ideas/similar", room_similar_ideas, methods=["GET"]),
    Route("/api/v1/ideas/{idea_id:id}", idea_item, methods=["GET", "PATCH"]),
    Route("/api/v1/ideas/{idea_id:id}/vote", idea_vote, methods=["PUT", "DELETE"]),
]
