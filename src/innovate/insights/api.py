"""The insights JSON API: a room's figures and exports, the site figures, and interests.

- ``GET /api/v1/rooms/{slug}/insights`` and ``GET /api/v1/rooms/{slug}/export/{kind}.{csv|json}``:
  moderators of the room and admins (404 when the caller cannot see the room, 403 when
  they can but do not moderate it);
- ``GET /api/v1/admin/insights``: admins;
- ``GET /api/v1/tags``, ``PUT /api/v1/rooms/{slug}/tags`` ``{"tags": [names]}`` (moderators),
  ``GET|PUT /api/v1/me/interests`` ``{"tags": [ids]}`` (employees).
"""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_admin, require_user
from innovate.errors import Forbidden, Invalid
from innovate.i18n import lazy_gettext
from innovate.inputs import JSON, read_input
from innovate.insights import figures
from innovate.insights.exports import export_response, parse_name
from innovate.insights.interests import all_tags, followed, set_interests, set_room_tags
from innovate.insights.overview import overview
from innovate.rooms.access import require_moderator, room_access
from innovate.rooms.reviews import queries as reviews
from innovate.web import resources


async def room_insights(request: Request) -> Response:
    async with resources(request).db() as db:
        access = await room_access(db, require_user(request), request.path_params["slug"])
        require_moderator(access)
        return JSON({**(await overview(db, access.room)).json(), "reviews": await reviews.insights(db, access.room)})


async def room_export(request: Request) -> Response:
    kind, fmt = parse_name(request.path_params["name"])
    async with resources(request).db() as db:
        access = await room_access(db, require_user(request), request.path_params["slug"])
    require_moderator(access)
    return export_response(resources(request), access.room, kind, fmt)


async def site_insights(request: Request) -> Response:
    require_admin(request)
    async with resources(request).db() as db:
        data = (await overview(db, None)).json()
        data["rooms"] = [r.json() for r in await figures.room_summaries(db)]
        total, guests = await figures.active_guests(db)
        data["active_guests"] = {"total": total, "items": [
            {**asdict(g), "last_post_at": g.last_post_at.isoformat() if g.last_post_at else None} for g in guests]}
        data["expiring_invites"] = [
            {**asdict(i), "expires_at": i.expires_at.isoformat()} for i in await figures.expiring_invites(db)]
    return JSON(data)


async def tags_collection(request: Request) -> Response:
    user = require_user(request)
    if user.is_guest:
        raise Forbidden(lazy_gettext("Interests are for employees."))
    async with resources(request).db() as db:
        return JSON({"items": [t.json() for t in await all_tags(db, user)]})


async def room_tags(request: Request) -> Response:
    data = await read_input(request)
    if "tags" not in data:
        raise Invalid.field("tags", lazy_gettext("is required"))
    tags = await set_room_tags(resources(request), require_user(request), request.path_params["slug"], data["tags"])
    return JSON({"items": [t.json() for t in tags]})


async def my_interests(request: Request) -> Response:
    user = require_user(request)
    if request.method == "PUT":
        data = await read_input(request)
        chosen = data.get("tags")
        if not isinstance(chosen, list):
            raise Invalid.field("tags", lazy_gettext("expected a list of tag ids"))
        return JSON({"items": [t.json() for t in await set_interests(resources(request), user, chosen)]})
    if user.is_guest:
        raise Forbidden(lazy_gettext("Interests are for employees."))
    async with resources(request).db() as db:
        return JSON({"items": [t.json() for t in await followed(db, user.id)]})


routes = [
    Route("/api/v1/rooms/{slug}/insights", room_insights, methods=["GET"]),
    Route("/api/v1/rooms/{slug}/export/{name}", room_export, methods=["GET"]),
    Route("/api/v1/rooms/{slug}/tags", room_tags, methods=["PUT"]),
    Route("/api/v1/admin/insights", site_insights, methods=["GET"]),
    Route("/api/v1/tags", tags_collection, methods=["GET"]),
    Route("/api/v1/me/interests", my_interests, methods=["GET", "PUT"]),
]
