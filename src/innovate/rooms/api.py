"""The JSON API for rooms, their members and the room timeline (see docs/api.md). Ideas and
votes: rooms/ideas/api.py; messages: rooms/discussion/api.py."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.errors import Invalid
from innovate.i18n import gettext as _
from innovate.inputs import JSON, read_input
from innovate.rooms import service
from innovate.rooms.access import RoomAccess, room_access
from innovate.rooms.queries import check_limit, list_members, list_rooms, viewer_for
from innovate.rooms.serializers import room_json
from innovate.rooms.timeline import event_frames, visible_events
from innovate.web import resources

MAX_EVENTS = 500


def _room(access: RoomAccess) -> JSON:
    return JSON(room_json(access.room, access.membership, moderator=access.can_moderate))


async def rooms_collection(request: Request) -> Response:
    user = require_user(request)
    if request.method == "POST":
        room = await service.create_room(resources(request), user, await read_input(request))
        return JSON(room_json(room, None, moderator=True) | {"my_role": "moderator"}, status_code=201)
    params = request.query_params
    async with resources(request).db() as db:
        # Guests have no directory: they see only the rooms they were invited to.
        items = await list_rooms(db, user, query=params.get("q", ""), phase=params.get("phase") or None,
                                 mine=user.is_guest or params.get("mine") in ("1", "true"),
                                 kind=params.get("kind") or "challenge")
    return JSON({"items": items})


async def room_item(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    if request.method == "PATCH":
        return _room(await service.update_room(resources(request), user, slug, await read_input(request)))
    async with resources(request).db() as db:
        return _room(await room_access(db, user, slug))


async def room_join(request: Request) -> Response:
    return _room(await service.join_room(resources(request), require_user(request), request.path_params["slug"]))


async def room_leave(request: Request) -> Response:
    await service.leave_room(resources(request), require_user(request), request.path_params["slug"])
    return Response(status_code=204)


async def room_members(request: Request) -> Response:
    async with resources(request).db() as db:
        access = await room_access(db, require_user(request), request.path_params["slug"])
        return JSON({"items": await list_members(db, access)})


def _after(request: Request) -> int:
    """``?after=``: the last event seq the client has (events are numbered from 1)."""
    raw = request.query_params.get("after", "")
    if raw == "":
        return 0
    if not raw.isdigit() or len(raw) > 18:
        raise Invalid.field("after", _("expected the seq of the last event you have (a whole number)"))
    return int(raw)


async def room_events(request: Request) -> Response:
    user = require_user(request)
    after = _after(request)
    limit = check_limit(request.query_params.get("limit"), 100)
    async with resources(request).db() as db:
        access = await room_access(db, user, request.path_params["slug"])
        viewer = viewer_for(access)
        events = await visible_events(db, access.room, after, viewer, min(limit, MAX_EVENTS))
        frames = await event_frames(db, access.room, events, viewer)
        return JSON({"events": frames, "last_seq": access.room.last_seq})


routes = [
    Route("/api/v1/rooms", rooms_collection, methods=["GET", "POST"]),
    Route("/api/v1/rooms/{slug}", room_item, methods=["GET", "PATCH"]),
    Route("/api/v1/rooms/{slug}/join", room_join, methods=["POST"]),
    Route("/api/v1/rooms/{slug}/membership", room_leave, methods=["DELETE"]),
    Route("/api/v1/rooms/{slug}/members", room_members, methods=["GET"]),
    Route("/api/v1/rooms/{slug}/events", room_events, methods=["GET"]),
]
