"""The audit log in the browser: a room's (its moderators) and the site's (administrators),
filtered and paged, and as CSV."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.accounts.models import User
from innovate.errors import Invalid, NotFound
from innovate.i18n import lazy_gettext
from innovate.moderation import auditlog
from innovate.moderation.pages import audit_context, audit_filter, moderated_room, site_room_id
from innovate.resources import Resources
from innovate.web import page, query_id, render_to_string, reply, resources, view


def csv_response(res: Resources, flt: auditlog.AuditFilter, name: str) -> StreamingResponse:
    """The filtered log as a CSV download, streamed in batches."""
    filename = f"audit-{name}-{date.today().isoformat()}.csv"
    return StreamingResponse(
        auditlog.csv_rows(res.db, flt), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


async def _log_page(request: Request, context: dict[str, Any], problem: str | None) -> Response:
    """The results for htmx (the filter form changed), the whole page otherwise; 422 with the
    problem next to the form when the filter was not understood."""
    return await reply(request, lambda: render_to_string(request, "moderation/_audit_results.html", context),
                       lambda: page(request, "moderation/audit.html", context), status=422 if problem else 200)


@view
async def room_audit_page(request: Request) -> Response:
    params = request.query_params
    async with resources(request).db() as db:
        access, context = await moderated_room(db, require_user(request), request.path_params["slug"])
        flt, problem = audit_filter(params, access.room.id)
        context.update(await audit_context(db, flt, access.room.id, params, query_id(request, "before")))
    slug = access.room.slug
    context.update(problem=problem, site=False, audit_url=f"/rooms/{slug}/audit", csv_url=f"/rooms/{slug}/audit.csv")
    return await _log_page(request, context, problem)


@view
async def room_audit_csv(request: Request) -> Response:
    async with resources(request).db() as db:
        access, _ = await moderated_room(db, require_user(request), request.path_params["slug"])
    return csv_response(resources(request), auditlog.parse_filter(request.query_params, room_id=access.room.id),
                        access.room.slug)


def _admin(request: Request) -> User:
    user = require_user(request)
    if not user.is_admin:
        raise NotFound(lazy_gettext("Not found"))  # the site's log does not exist for anyone else
    return user


@view
async def site_audit_page(request: Request) -> Response:
    _admin(request)
    params = request.query_params
    async with resources(request).db() as db:
        try:
            flt, problem = audit_filter(params, await site_room_id(db, params))
        except Invalid as exc:
            flt, problem = auditlog.AuditFilter(), exc.message
        context = await audit_context(db, flt, None, params, query_id(request, "before"))
    context.update(problem=problem, site=True, room=None, audit_url="/admin/audit", csv_url="/admin/audit.csv")
    return await _log_page(request, context, problem)


@view
async def site_audit_csv(request: Request) -> Response:
    _admin(request)
    async with resources(request).db() as db:
        room_id = await site_room_id(db, request.query_params)
    return csv_response(resources(request), auditlog.parse_filter(request.query_params, room_id=room_id), "site")


routes = [
    Route("/rooms/{slug}/audit", room_audit_page, methods=["GET"]),
    Route("/rooms/{slug}/audit.csv", room_audit_csv, methods=["GET"]),
    Route("/admin/audit", site_audit_page, methods=["GET"]),
    Route("/admin/audit.csv", site_audit_csv, methods=["GET"]),
]
