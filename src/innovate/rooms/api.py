"""The JSON API for rooms, ideas, votes, messages and the room timeline (see docs/api.md)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.accounts.models import User
from innovate.errors import Invalid, NotFound
from innovate.inputs import JSON, read_input
from innovate.resources import Resources
from innovate.rooms import queries, service
from innovate.rooms.access import room_access
from innovate.rooms.discussion import service as messages
from innovate.rooms.discussion.service import message_in_room
from innovate.rooms.ideas import service as ideas
from innovate.rooms.ideas import votes
from innovate.rooms.ideas.search import similar_ideas
from innovate.rooms.ideas.service import idea_in_room
from innovate.rooms.serializers import idea_json, message_json, room_json
from innovate.rooms.timeline import event_frames, visible_events

MAX_EVENTS = 500


def _res(request: Request) -> Resources:
    return request.app.state.resources


def _int_param(request: Request, name: str, *, path: bool = False, required: bool = False) -> int | None:
    raw = request.path_params.get(name) if path else request.query_params.get(name)
    if raw in (None, ""):
        if required:
            raise Invalid.field(name, "is required")
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        if path:
            raise NotFound() from None
        raise Invalid.field(name, "expected a whole number") from None
    if value < 0:
        raise Invalid.field(name, "must not be negative")
    return value


async def rooms_collection(request: Request) -> Response:
    user = require_user(request)
    if request.method == "POST":
        room = await service.create_room(_res(request), user, await read_input(request))
        return JSON(room_json(room, None, moderator=True) | {"my_role": "moderator"}, status_code=201)
    params = request.query_params
    async with _res(request).db() as db:
        # Guests have no directory: they see only the rooms they were invited to.
        items = await queries.list_rooms(db, user, query=params.get("q", ""), phase=params.get("phase") or None,
                                         mine=user.is_guest or params.get("mine") in ("1", "true"))
    return JSON({"items": items})


async def room_item(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    if request.method == "PATCH":
        await service.update_room(_res(request), user, slug, await read_input(request))
    async with _res(request).db() as db:
        access = await room_access(db, user, slug)
        return JSON(room_json(access.room, access.membership, moderator=access.can_moderate))


async def room_join(request: Request) -> Response:
    user = require_user(request)
    await service.join_room(_res(request), user, request.path_params["slug"])
    async with _res(request).db() as db:
        access = await room_access(db, user, request.path_params["slug"])
        return JSON(room_json(access.room, access.membership, moderator=access.can_moderate))


async def room_leave(request: Request) -> Response:
    await service.leave_room(_res(request), require_user(request), request.path_params["slug"])
    return Response(status_code=204)


async def room_members(request: Request) -> Response:
    user = require_user(request)
    async with _res(request).db() as db:
        access = await room_access(db, user, request.path_params["slug"])
        return JSON({"items": await queries.list_members(db, access)})


async def room_ideas(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    if request.method == "POST":
        idea = await ideas.submit_idea(_res(request), user, slug, await read_input(request))
        async with _res(request).db() as db:
            access = await room_access(db, user, slug)
            return JSON(await queries.idea_detail(db, access, idea), status_code=201)
    params = request.query_params
    async with _res(request).db() as db:
        access = await room_access(db, user, slug)
        page = await queries.list_ideas(db, access, sort=params.get("sort", "top"), cursor=params.get("cursor"),
                                        limit=queries.check_limit(params.get("limit")),
                                        status=params.get("status") or None)
        return JSON(page.json())


async def room_similar_ideas(request: Request) -> Response:
    user = require_user(request)
    async with _res(request).db() as db:
        access = await room_access(db, user, request.path_params["slug"])
        found = await similar_ideas(db, access.room.id, request.query_params.get("q", ""),
                                    exclude_id=_int_param(request, "exclude"))
        return JSON({"items": await queries.ideas_json(db, access, found)})


async def idea_item(request: Request) -> Response:
    user = require_user(request)
    idea_id = _int_param(request, "idea_id", path=True) or 0
    if request.method == "PATCH":
        data = await read_input(request)
        if "into" in data:
            await ideas.merge_ideas(_res(request), user, idea_id, data)
        elif "status" in data:
            await ideas.set_idea_status(_res(request), user, idea_id, data)
        else:
            await ideas.edit_idea(_res(request), user, idea_id, data)
    async with _res(request).db() as db:
        access, idea = await idea_in_room(db, user, idea_id)
        return JSON(await queries.idea_detail(db, access, idea))


async def idea_vote(request: Request) -> Response:
    user = require_user(request)
    idea_id = _int_param(request, "idea_id", path=True) or 0
    if request.method == "PUT":
        data = await read_input(request)
        if "value" not in data:
            raise Invalid.field("value", "is required")
        result = await votes.cast_vote(_res(request), user, idea_id, data["value"])
    else:
        result = await votes.retract_vote(_res(request), user, idea_id)
    body = idea_json(result.idea, result.access.room, result.author, queries.viewer_for(result.access),
                     my_vote=result.value)
    if result.budget_left is not None:
        body["my_budget_left"] = result.budget_left
    return JSON(body)


async def room_messages(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    if request.method == "POST":
        posted = await messages.post(_res(request), user, slug, await read_input(request))
        access = posted.access
        return JSON(message_json(posted.message, access.room, user, queries.viewer_for(access)), status_code=201)
    async with _res(request).db() as db:
        access = await room_access(db, user, slug)
        idea_id = _int_param(request, "idea")
        if idea_id is not None:
            await idea_in_room(db, user, idea_id)
        page = await queries.list_messages(db, access, idea_id=idea_id, before=_int_param(request, "before"),
                                           limit=queries.check_limit(request.query_params.get("limit"), 50))
        return JSON(page.json())


async def message_item(request: Request) -> Response:
    user = require_user(request)
    message_id = _int_param(request, "message_id", path=True) or 0
    if request.method == "DELETE":
        await messages.delete_message(_res(request), user, message_id)
    else:
        await messages.edit_message(_res(request), user, message_id, await read_input(request))
    async with _res(request).db() as db:
        access, message = await message_in_room(db, user, message_id)
        author = await db.get(User, message.author_id) if message.author_id else None
        return JSON(message_json(message, access.room, author, queries.viewer_for(access)))


async def room_events(request: Request) -> Response:
    user = require_user(request)
    after = _int_param(request, "after") or 0
    limit = queries.check_limit(request.query_params.get("limit"), 100)
    async with _res(request).db() as db:
        access = await room_access(db, user, request.path_params["slug"])
        viewer = queries.viewer_for(access)
        events = await visible_events(db, access.room, after, viewer, min(limit, MAX_EVENTS))
        frames = await event_frames(db, access.room, events, viewer)
        return JSON({"events": frames, "last_seq": access.room.last_seq})


routes = [
    Route("/api/v1/rooms", rooms_collection, methods=["GET", "POST"]),
    Route("/api/v1/rooms/{slug}", room_item, methods=["GET", "PATCH"]),
    Route("/api/v1/rooms/{slug}/join", room_join, methods=["POST"]),
    Route("/api/v1/rooms/{slug}/membership", room_leave, methods=["DELETE"]),
    Route("/api/v1/rooms/{slug}/members", room_members, methods=["GET"]),
    Route("/api/v1/rooms/{slug}/ideas", room_ideas, methods=["GET", "POST"]),
    Route("/api/v1/rooms/{slug}/ideas/similar", room_similar_ideas, methods=["GET"]),
    Route("/api/v1/rooms/{slug}/messages", room_messages, methods=["GET", "POST"]),
    Route("/api/v1/rooms/{slug}/events", room_events, methods=["GET"]),
    Route("/api/v1/ideas/{idea_id}", idea_item, methods=["GET", "PATCH"]),
    Route("/api/v1/ideas/{idea_id}/vote", idea_vote, methods=["PUT", "DELETE"]),
    Route("/api/v1/messages/{message_id}", message_item, methods=["PATCH", "DELETE"]),
]
