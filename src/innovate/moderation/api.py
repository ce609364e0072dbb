"""The JSON API for moderation (see docs/api.md, "Moderation"): content actions, members,
reports, the review queue and the audit log. Each route reads its input, calls one
service function and answers the object as the caller now sees it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from innovate.accounts.guards import require_admin, require_user
from innovate.accounts.models import User
from innovate.errors import Invalid, NotFound
from innovate.inputs import JSON, Input, read_input
from innovate.moderation import auditlog, reports
from innovate.moderation import service as moderation
from innovate.resources import Resources
from innovate.rooms import queries
from innovate.rooms.access import RoomAccess, require_moderator, room_access
from innovate.rooms.discussion.service import message_in_room
from innovate.rooms.ideas.service import idea_in_room
from innovate.rooms.models import Membership, Room
from innovate.rooms.serializers import member_json, message_json

AUDIT_PAGE_MAX = 200


def _res(request: Request) -> Resources:
    return request.app.state.resources


def _path_id(request: Request, name: str) -> int:
    raw = str(request.path_params[name])
    if not raw.isdigit() or len(raw) > 17:
        raise NotFound()
    return int(raw)


async def _message_answer(request: Request, user: User, message_id: int) -> Response:
    async with _res(request).db() as db:
        access, message = await message_in_room(db, user, message_id)
        author = await db.get(User, message.author_id) if message.author_id else None
        return JSON(message_json(message, access.room, author, queries.viewer_for(access)))


async def _idea_answer(request: Request, user: User, idea_id: int) -> Response:
    async with _res(request).db() as db:
        access, idea = await idea_in_room(db, user, idea_id)
        return JSON(await queries.idea_detail(db, access, idea))


# Content ------------------------------------------------------------------------------------

TargetAction = Callable[[Resources, User, int, Input], Awaitable[Any]]
Answer = Callable[[Request, User, int], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def _target_routes(id_param: str, answer: Answer) -> Callable[[TargetAction], Endpoint]:
    """Endpoints for actions on one message or idea: run the action on the id in the path,
    answer with the target as the caller now sees it."""

    def route(action: TargetAction) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            user = require_user(request)
            target_id = _path_id(request, id_param)
            await action(_res(request), user, target_id, await read_input(request))
            return await answer(request, user, target_id)

        return endpoint

    return route


_message_route = _target_routes("message_id", _message_answer)
_idea_route = _target_routes("idea_id", _idea_answer)


async def _pin(resources: Resources, user: User, message_id: int, data: Input) -> Any:
    return await moderation.pin_message(resources, user, message_id, True)


async def _unpin(resources: Resources, user: User, message_id: int, data: Input) -> Any:
    return await moderation.pin_message(resources, user, message_id, False)


async def _approve(resources: Resources, user: User, message_id: int, data: Input) -> Any:
    return await moderation.approve_message(resources, user, message_id)


async def _lock(resources: Resources, user: User, idea_id: int, data: Input) -> Any:
    return await moderation.lock_idea(resources, user, idea_id, True, data)


async def _unlock(resources: Resources, user: User, idea_id: int, data: Input) -> Any:
    return await moderation.lock_idea(resources, user, idea_id, False, data)


async def held_queue(request: Request) -> Response:
    """``GET /rooms/{slug}/held``: posts awaiting review, oldest first (moderators)."""
    user = require_user(request)
    async with _res(request).db() as db:
        access = await room_access(db, user, request.path_params["slug"])
        held = await moderation.held_messages(db, access)
        viewer = queries.viewer_for(access)
        return JSON({"items": [message_json(m, access.room, author, viewer) for m, author in held]})


# Members ------------------------------------------------------------------------------------


async def member_item(request: Request) -> Response:
    """``PATCH`` role and mute; ``DELETE`` removes the member (``204``)."""
    user = require_user(request)
    slug = request.path_params["slug"]
    member_id = _path_id(request, "user_id")
    data = await read_input(request)
    if request.method == "DELETE":
        reason = moderation.reason_field(data or dict(request.query_params), required=False)
        await moderation.remove_member(_res(request), user, slug, member_id, reason)
        return Response(status_code=204)
    await moderation.update_member(_res(request), user, slug, member_id, data)
    async with _res(request).db() as db:
        access = await room_access(db, user, slug)
        require_moderator(access)
        row = (await db.execute(
            select(Membership, User).join(User, User.id == Membership.user_id)
            .where(Membership.room_id == access.room.id, Membership.user_id == member_id)
        )).first()
        if row is None:
            raise NotFound("No such member in this room.")
        return JSON(member_json(row[0], row[1]) | {"approved_posts": row[0].approved_posts})


# Reports ------------------------------------------------------------------------------------


async def reports_collection(request: Request) -> Response:
    """``POST /reports``: report a message or idea (``201``; ``200`` if you already had)."""
    user = require_user(request)
    filed = await reports.file_report(_res(request), user, await read_input(request))
    async with _res(request).db() as db:
        room = await db.get(Room, filed.report.room_id)
    return JSON(reports.report_json(filed.report, room.slug if room else ""),
                status_code=201 if filed.created else 200)


async def room_reports(request: Request) -> Response:
    """``GET /rooms/{slug}/reports?state=open|closed``: the queue, grouped per target."""
    user = require_user(request)
    async with _res(request).db() as db:
        access = await room_access(db, user, request.path_params["slug"])
        items = await reports.report_queue(db, access, state=request.query_params.get("state") or "open")
        return JSON({"items": items})


async def report_resolve(request: Request) -> Response:
    user = require_user(request)
    outcome = await reports.resolve(_res(request), user, _path_id(request, "report_id"), await read_input(request))
    return JSON(outcome)


# The audit log ------------------------------------------------------------------------------


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit") or "50"
    if not raw.isdigit() or not 1 <= int(raw) <= AUDIT_PAGE_MAX:
        raise Invalid.field("limit", f"expected a whole number from 1 to {AUDIT_PAGE_MAX}")
    return int(raw)


def _before(request: Request) -> int | None:
    raw = request.query_params.get("before") or ""
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 17:
        raise Invalid.field("before", "expected the next_cursor of the previous page")
    return int(raw)


async def _moderated_room(request: Request, user: User) -> RoomAccess:
    async with _res(request).db() as db:
        access = await room_access(db, user, request.path_params["slug"])
    require_moderator(access)
    return access


async def _site_filter(request: Request) -> auditlog.AuditFilter:
    room_id = None
    slug = request.query_params.get("room")
    if slug:
        async with _res(request).db() as db:
            room_id = (await db.execute(select(Room.id).where(Room.slug == slug))).scalar_one_or_none()
        if room_id is None:
            raise Invalid.field("room", "no such room")
    return auditlog.parse_filter(request.query_params, room_id=room_id)


async def _audit_page(request: Request, flt: auditlog.AuditFilter) -> Response:
    async with _res(request).db() as db:
        items, next_cursor = await auditlog.page(db, flt, before=_before(request), limit=_limit(request))
    body: dict[str, Any] = {"items": items}
    if next_cursor is not None:
        body["next_cursor"] = str(next_cursor)
    return JSON(body)


def csv_response(resources: Resources, flt: auditlog.AuditFilter, name: str) -> StreamingResponse:
    filename = f"audit-{name}-{date.today().isoformat()}.csv"
    return StreamingResponse(
        auditlog.csv_rows(resources.db, flt), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


async def room_audit(request: Request) -> Response:
    access = await _moderated_room(request, require_user(request))
    return await _audit_page(request, auditlog.parse_filter(request.query_params, room_id=access.room.id))


async def room_audit_csv(request: Request) -> Response:
    access = await _moderated_room(request, require_user(request))
    flt = auditlog.parse_filter(request.query_params, room_id=access.room.id)
    return csv_response(_res(request), flt, access.room.slug)


async def site_audit(request: Request) -> Response:
    require_admin(request)
    return await _audit_page(request, await _site_filter(request))


async def site_audit_csv(request: Request) -> Response:
    require_admin(request)
    return csv_response(_res(request), await _site_filter(request), "site")


routes = [
    Route("/api/v1/messages/{message_id}/hide", _message_route(moderation.hide_message), methods=["POST"]),
    Route("/api/v1/messages/{message_id}/restore", _message_route(moderation.restore_message), methods=["POST"]),
    Route("/api/v1/messages/{message_id}/pin", _message_route(_pin), methods=["POST"]),
    Route("/api/v1/messages/{message_id}/unpin", _message_route(_unpin), methods=["POST"]),
    Route("/api/v1/messages/{message_id}/approve", _message_route(_approve), methods=["POST"]),
    Route("/api/v1/messages/{message_id}/reject", _message_route(moderation.reject_message), methods=["POST"]),
    Route("/api/v1/ideas/{idea_id}/hide", _idea_route(moderation.hide_idea), methods=["POST"]),
    Route("/api/v1/ideas/{idea_id}/restore", _idea_route(moderation.restore_idea), methods=["POST"]),
    Route("/api/v1/ideas/{idea_id}/lock", _idea_route(_lock), methods=["POST"]),
    Route("/api/v1/ideas/{idea_id}/unlock", _idea_route(_unlock), methods=["POST"]),
    Route("/api/v1/rooms/{slug}/held", held_queue, methods=["GET"]),
    Route("/api/v1/rooms/{slug}/members/{user_id}", member_item, methods=["PATCH", "DELETE"]),
    Route("/api/v1/reports", reports_collection, methods=["POST"]),
    Route("/api/v1/rooms/{slug}/reports", room_reports, methods=["GET"]),
    Route("/api/v1/reports/{report_id}/resolve", report_resolve, methods=["POST"]),
    Route("/api/v1/rooms/{slug}/audit", room_audit, methods=["GET"]),
    Route("/api/v1/rooms/{slug}/audit.csv", room_audit_csv, methods=["GET"]),
    Route("/api/v1/audit", site_audit, methods=["GET"]),
    Route("/api/v1/audit.csv", site_audit_csv, methods=["GET"]),
]
