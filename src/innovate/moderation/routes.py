"""A room's moderation page: the review queue, reports and members, the parts live updates
reload, the pinned messages, the moderation settings and the room lock. The moderator
buttons on messages and ideas are moderation/content_routes.py, those on members
moderation/member_routes.py, the audit log moderation/audit_routes.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.accounts.models import User
from innovate.errors import AppError, Forbidden
from innovate.i18n import gettext as _
from innovate.inputs import read_input
from innovate.moderation.pages import counts_context, moderated_room, pinned_context, queue_context
from innovate.rooms.context import room_context
from innovate.rooms.service import update_room
from innovate.web import (
    Form,
    Handler,
    back,
    flash_part,
    form_post,
    page,
    partial,
    render_to_string,
    reply,
    resources,
    view,
)

SETTINGS_FIELDS = ("premoderation", "premoderation_first_n", "auto_hide_reports")


@view
async def queue_page(request: Request) -> Response:
    async with resources(request).db() as db:
        context = await queue_context(db, require_user(request), request.path_params["slug"])
    settings_form = Form(values=dict(context["room"].get("moderation") or {}))
    return page(request, "moderation/queue.html", {**context, "settings_form": settings_form})


# A part of the page, built from the room's slug for the caller (a moderator).
PartContext = Callable[[AsyncSession, User, str], Awaitable[dict[str, Any]]]


def _part(name: str, template: str, build: PartContext, where: str) -> Handler:
    """One part of a page, for htmx (live updates reload it); plain visits go to ``where``
    on the page (``{slug}`` is the room's)."""

    @view
    async def handler(request: Request) -> Response:
        user = require_user(request)
        slug = request.path_params["slug"]

        async def part() -> str:
            async with resources(request).db() as db:
                return render_to_string(request, template, await build(db, user, slug))

        return await reply(request, part, where.format(slug=slug))

    handler.__name__ = name
    return handler


held_part = _part("held_part", "moderation/_held_queue.html", queue_context, "/rooms/{slug}/moderation#held-queue")
reports_part = _part("reports_part", "moderation/_reports_queue.html", queue_context,
                     "/rooms/{slug}/moderation#reports-queue")
members_part = _part("members_part", "moderation/_members.html", queue_context,
                     "/rooms/{slug}/moderation#moderation-members")
counts_part = _part("counts_part", "moderation/_counts.html", counts_context, "/rooms/{slug}/moderation")
pinned_part = _part("pinned_part", "moderation/_pinned.html", pinned_context, "/rooms/{slug}#pinned-messages")


@view
async def settings_submit(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    data = await read_input(request)
    values = {k: data.get(k, "") for k in SETTINGS_FIELDS}

    async def refused(form: Form, exc: AppError) -> Response:
        async def settings_part() -> str:
            async with resources(request).db() as db:
                _, context = await moderated_room(db, user, slug)
            return render_to_string(request, "moderation/_settings.html", {**context, "settings_form": form})

        async def whole_page() -> Response:
            async with resources(request).db() as db:
                context = await queue_context(db, user, slug)
            return page(request, "moderation/queue.html", {**context, "settings_form": form})

        return await reply(request, settings_part, whole_page)

    # Refusals of the caller (not a moderator) are not the form's: the page would show it.
    access = await form_post(data, update_room(resources(request), user, slug, values), SETTINGS_FIELDS, refused,
                             raises=(Forbidden,))
    context = room_context(access)
    form = Form(values=dict(context["room"].get("moderation") or {}), ok=True)
    return await reply(request, lambda: render_to_string(request, "moderation/_settings.html",
                                                         {**context, "settings_form": form}),
                       f"/rooms/{slug}/moderation#moderation-settings", done=_("Moderation settings saved."))


@view
async def lock_room(request: Request) -> Response:
    slug = request.path_params["slug"]
    data = await read_input(request)
    locked = data.get("locked") in ("true", "1", "on")
    access = await update_room(resources(request), require_user(request), slug, {"locked": locked})
    done = _("The room is locked: members can read but not post, submit or vote.") if locked \
        else _("The room is open again.")
    context = room_context(access)
    return await reply(request, lambda: [
        render_to_string(request, "moderation/_room_lock.html", context),
        partial("#phase-banner", "outerHTML", render_to_string(request, "rooms/_phase_banner.html", context)),
        flash_part(request, done),
    ], back(request, f"/rooms/{slug}"), done=done)


routes = [
    Route("/rooms/{slug}/moderation", queue_page, methods=["GET"]),
    Route("/rooms/{slug}/moderation/held", held_part, methods=["GET"]),
    Route("/rooms/{slug}/moderation/reports", reports_part, methods=["GET"]),
    Route("/rooms/{slug}/moderation/members", members_part, methods=["GET"]),
    Route("/rooms/{slug}/moderation/counts", counts_part, methods=["GET"]),
    Route("/rooms/{slug}/moderation/settings", settings_submit, methods=["POST"]),
    Route("/rooms/{slug}/pinned", pinned_part, methods=["GET"]),
    Route("/rooms/{slug}/lock", lock_room, methods=["POST"]),
]
