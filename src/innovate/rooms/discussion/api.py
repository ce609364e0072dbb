"""The JSON API for the discussion: a thread's messages, posting, editing and deleting, and the
members an @mention may name (see docs/api.md). Each write answers the message as the write left it, as the caller sees it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.inputs import JSON, read_input
from innovate.rooms.access import MessageInRoom, idea_in_room, room_access
from innovate.rooms.discussion import service
from innovate.rooms.discussion.mentions import mention_candidates, mention_prefix, suggestion_limit
from innovate.rooms.discussion.queries import list_messages
from innovate.rooms.queries import check_limit, viewer_for
from innovate.rooms.serializers import message_json
from innovate.web import api_query_id, resources


def message_answer(found: MessageInRoom, status: int = 200) -> JSON:
    access = found.access
    return JSON(message_json(found.message, access.room, found.author, viewer_for(access)), status_code=status)


async def room_messages(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    if request.method == "POST":
        return message_answer(await service.post(resources(request), user, slug, await read_input(request)), 201)
    idea_id = api_query_id(request, "idea")
    before = api_query_id(request, "before")
    limit = check_limit(request.query_params.get("limit"), 50)
    async with resources(request).db() as db:
        access = await room_access(db, user, slug)
        if idea_id is not None:
            await idea_in_room(db, user, idea_id)
        page = await list_messages(db, access, idea_id=idea_id, before=before, limit=limit)
        return JSON(page.json())


async def message_item(request: Request) -> Response:
    user = require_user(request)
    message_id = request.path_params["message_id"]
    if request.method == "DELETE":
        return message_answer(await service.delete_message(resources(request), user, message_id))
    return message_answer(await service.edit_message(resources(request), user, message_id, await read_input(request)))


async def room_mentions(request: Request) -> Response:
    """Members of the room an @handle being typed may name (the composer's suggestions)."""
    user = require_user(request)
    prefix = mention_prefix(request.query_params.get("q"))
    limit = suggestion_limit(request.query_params.get("limit"))
    async with resources(request).db() as db:
        access = await room_access(db, user, request.path_params["slug"])
        return JSON({"items": await mention_candidates(db, access, prefix, limit)})


routes = [
    Route("/api/v1/rooms/{slug}/messages", room_messages, methods=["GET", "POST"]),
    Route("/api/v1/rooms/{slug}/mentions", room_mentions, methods=["GET"]),
    Route("/api/v1/messages/{message_id:id}", message_item, methods=["PATCH", "DELETE"]),
]
