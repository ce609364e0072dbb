"""The JSON API for moderation (see docs/api.md, "Moderation"): content actions, members,
reports, the review queue and the audit log. Each route reads its input, calls one
service function and answers the object as the service left it, as the caller sees it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_admin, require_user
from innovate.errors import Invalid
from innovate.i18n import lazy_gettext
from innovate.inputs import JSON, read_input
from innovate.moderation import auditlog, reports
from innovate.moderation import service as moderation
from innovate.moderation.actions import IDEA_ACTIONS, MESSAGE_ACTIONS, IdeaAction, MessageAction
from innovate.moderation.audit_routes import csv_response
from innovate.moderation.pages import site_room_id
from innovate.rooms.access import RoomAccess, require_moderator, room_access
from innovate.rooms.discussion.api import message_answer
from innovate.rooms.ideas.queries import idea_detail
from innovate.rooms.queries import viewer_for
from innovate.rooms.serializers import member_json, message_json
from innovate.web import Handler, as_id, resources

AUDIT_PAGE_MAX = 200


# Content ------------------------------------------------------------------------------------


def _message_route(action: MessageAction) -> Handler:
    async def endpoint(request: Request) -> Response:
        found = await action(resources(request), require_user(request), request.path_params["message_id"],
                             await read_input(request))
        return message_answer(found)

    return endpoint


def _idea_route(action: IdeaAction) -> Handler:
    async def endpoint(request: Request) -> Response:
        found = await action(resources(request), require_user(request), request.path_params["idea_id"],
                             await read_input(request))
        async with resources(request).db() as db:
            return JSON(await idea_detail(db, found.access, found.idea))

    return endpoint


async def held_queue(request: Request) -> Response:
    """``GET /rooms/{slug}/held``: posts awaiting review, oldest first (moderators)."""
    async with resources(request).db() as db:
        access = await room_access(db, require_user(request), request.path_params["slug"])
        held = await moderation.held_messages(db, access)
        viewer = viewer_for(access)
        return JSON({"items": [message_json(m, access.room, author, viewer) for m, author in held]})


# Members ------------------------------------------------------------------------------------


async def member_item(request: Request) -> Response:
    """``PATCH`` role and mute; ``DELETE`` removes the member (``204``)."""
    user = require_user(request)
    slug, member_id = request.path_params["slug"], request.path_params["user_id"]
    data = await read_input(request)
    if request.method == "DELETE":
        reason = moderation.reason_field(data or dict(request.query_params), required=False)
        await moderation.remove_member(resources(request), user, slug, member_id, reason)
        return Response(status_code=204)
    target = await moderation.update_member(resources(request), user, slug, member_id, data)
    return JSON(member_json(target.membership, target.user) | {"approved_posts": target.membership.approved_posts})


# Reports ------------------------------------------------------------------------------------


async def reports_collection(request: Request) -> Response:
    """``POST /reports``: report a message or idea (``201``; ``200`` if you already had)."""
    filed = await reports.file_report(resources(request), require_user(request), await read_input(request))
    return JSON(reports.report_json(filed.report, filed.room_slug), status_code=201 if filed.created else 200)


async def room_reports(request: Request) -> Response:
    """``GET /rooms/{slug}/reports?state=open|closed``: the queue, grouped per target."""
    async with resources(request).db() as db:
        access = await room_access(db, require_user(request), request.path_params["slug"])
        items = await reports.report_queue(db, access, state=request.query_params.get("state") or "open")
        return JSON({"items": items})


async def report_resolve(request: Request) -> Response:
    outcome = await reports.resolve(resources(request), require_user(request), request.path_params["report_id"],
                                    await read_input(request))
    return JSON(outcome)


# The audit log ------------------------------------------------------------------------------


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit") or "50"
    if not raw.isdigit() or not 1 <= int(raw) <= AUDIT_PAGE_MAX:
        raise Invalid.field("limit", lazy_gettext("expected a whole number from 1 to %(max)d", max=AUDIT_PAGE_MAX))

    return int(raw)


def _before(request: Request) -> int | None:
    raw = request.query_params.get("before") or ""
    if not raw:
        return None
    before = as_id(raw)
    if before is None:
        raise Invalid.field("before", lazy_gettext("expected the next_cursor of the previous page"))
    return before


async def _moderated_room(request: Request) -> RoomAccess:
    async with resources(request).db() as db:
        access = await room_access(db, require_user(request), request.path_params["slug"])
    require_moderator(access)
    return access


async def _site_filter(request: Request) -> auditlog.AuditFilter:
    async with resources(request).db() as db:
        room_id = await site_room_id(db, request.query_params)
    return auditlog.parse_filter(request.query_params, room_id=room_id)


async def _audit_page(request: Request, flt: auditlog.AuditFilter) -> Response:
    before, limit = _before(request), _limit(request)
    async with resources(request).db() as db:
        items, next_cursor = await auditlog.page(db, flt, before=before, limit=limit)
    body: dict[str, Any] = {"items": items}
    if next_cursor is not None:
        body["next_cursor"] = str(next_cursor)
    return JSON(body)


async def room_audit(request: Request) -> Response:
    access = await _moderated_room(request)
    return await _audit_page(request, auditlog.parse_filter(request.query_params, room_id=access.room.id))


async def room_audit_csv(request: Request) -> Response:
    access = await _moderated_room(request)
    flt = auditlog.parse_filter(request.query_params, room_id=access.room.id)
    return csv_response(resources(request), flt, access.room.slug)


async def site_audit(request: Request) -> Response:
    require_admin(request)
    return await _audit_page(request, await _site_filter(request))


async def site_audit_csv(request: Request) -> Response:
    require_admin(request)
    return csv_response(resources(request), await _site_filter(request), "site")


routes = [
    *(Route(f"/api/v1/messages/{{message_id:id}}/{name}", _message_route(action), methods=["POST"])
      for name, action in MESSAGE_ACTIONS.items()),
    *(Route(f"/api/v1/ideas/{{idea_id:id}}/{name}", _idea_route(action), methods=["POST"])
      for name, action in IDEA_ACTIONS.items()),
    Route("/api/v1/rooms/{slug}/held", held_queue, methods=["GET"]),
    Route("/api/v1/rooms/{slug}/members/{user_id:id}", member_item, methods=["PATCH", "DELETE"]),
    Route("/api/v1/reports", reports_collection, methods=["POST"]),
    Route("/api/v1/rooms/{slug}/reports", room_reports, methods=["GET"]),
    Route("/api/v1/reports/{report_id:id}/resolve", report_resolve, methods=["POST"]),
    Route("/api/v1/rooms/{slug}/audit", room_audit, methods=["GET"]),
    Route("/api/v1/rooms/{slug}/audit.csv", room_audit_csv, methods=["GET"]),
    Route("/api/v1/audit", site_audit, methods=["GET"]),
    Route("/api/v1/audit.csv", site_audit_csv, methods=["GET"]),
]
