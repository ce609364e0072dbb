"""Moderation in the browser: the review queue, reports, members and the audit log, plus the
form posts behind the moderator buttons on messages, ideas and members.

Thin like the other room views: every post calls one service function (rooms/moderation.py,
rooms/reports.py, rooms/service.py). Each form works as a plain post (redirect back with a
flash message) and with htmx (the part it changed comes back; a refused action lands in the
page's #flash with its status).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.models import User
from innovate.errors import AppError, Forbidden, Invalid, NotFound, NotSignedIn
from innovate.inputs import Input, int_field, read_input, text_field
from innovate.moderation import auditlog, reports
from innovate.moderation import service as moderation
from innovate.moderation.api import csv_response
from innovate.people.service import set_active
from innovate.resources import Resources
from innovate.rooms import pages, queries, service
from innovate.rooms.access import RoomAccess, require_moderator, room_access
from innovate.rooms.discussion.queries import pinned_json
from innovate.rooms.discussion.service import message_in_room
from innovate.rooms.ideas.service import idea_in_room
from innovate.rooms.models import Membership, Room
from innovate.rooms.pages import Form
from innovate.rooms.routes import (
    flash,
    html,
    is_htmx,
    page,
    render_to_string,
    room_view,
    see_other,
)
from innovate.rooms.serializers import message_json
from innovate.web import partial

Handler = Callable[[Request], Awaitable[Response]]

REPORT_REASONS = ("Spam or advertising", "Harassment or abuse", "Off-topic", "Confidential information", "Other")
MUTE_CHOICES = ((15, "15 minutes"), (60, "1 hour"), (24 * 60, "1 day"), (7 * 24 * 60, "1 week"),
                (30 * 24 * 60, "30 days"))
AUDIT_PAGE = 50
AUDIT_FILTERS = ("action", "actor", "target", "since", "until", "room")


# Plumbing -----------------------------------------------------------------------------------


def _res(request: Request) -> Resources:
    return request.app.state.resources


def _user(request: Request) -> User:
    user = request.scope.get("user")
    if user is None:
        raise NotSignedIn("Sign in first.")
    return user


def _slug(request: Request) -> str:
    return request.path_params["slug"]


def _path_id(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if not raw.isdigit() or len(raw) > 17:
        raise NotFound("Not found")
    return int(raw)


def _back(request: Request, fallback: str) -> str:
    """Where a plain form post returns: the same-site room page it came from, else ``fallback``."""
    parts = urlsplit(request.headers.get("referer", ""))
    origin = _res(request).settings.public_origin
    if (parts.netloc and f"{parts.scheme}://{parts.netloc}" != origin) or not parts.path.startswith(
            ("/rooms/", "/admin/")):
        return fallback
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _flash_part(request: Request, text: str) -> str:
    return partial("#flash", "outerHTML", render_to_string(request, "rooms/_flash.html", {"flash": text}))


async def _moderator_context(request: Request, user: User, slug: str) -> tuple[RoomAccess, dict[str, Any]]:
    async with _res(request).db() as db:
        access, context = await pages.room_base(db, user, slug)
    if not access.can_moderate:
        raise Forbidden("Only this room's moderators may see this.")
    return access, context


# The queue page and its parts ---------------------------------------------------------------


async def _held(db: Any, access: RoomAccess) -> list[dict[str, Any]]:
    viewer = queries.viewer_for(access)
    return [message_json(m, access.room, author, viewer) for m, author in await moderation.held_messages(db, access)]


async def queue_parts(request: Request, user: User, slug: str) -> dict[str, Any]:
    async with _res(request).db() as db:
        access, context = await pages.room_base(db, user, slug)
        require_moderator(access)
        context.update({
            "held": await _held(db, access),
            "report_groups": await reports.report_queue(db, access),
            "members": await queries.list_members(db, access),
            "mute_choices": MUTE_CHOICES,
        })
    context["counts"] = {"held": len(context["held"]), "reports": len(context["report_groups"])}
    return context


@room_view
async def queue_page(request: Request) -> Response:
    user = _user(request)
    context = await queue_parts(request, user, _slug(request))
    settings_form = Form(values=dict(context["room"].get("moderation") or {}))
    return page(request, "moderation/queue.html", {**context, "settings_form": settings_form})


def _part_view(name: str, template: str, anchor: str) -> Handler:
    """One part of the queue page, for htmx (live refresh); plain GETs go to the page."""

    @room_view
    async def view(request: Request) -> Response:
        user = _user(request)
        slug = _slug(request)
        if not is_htmx(request):
            return see_other(f"/rooms/{slug}/moderation#{anchor}")
        return html(render_to_string(request, template, await queue_parts(request, user, slug)))

    view.__name__ = name
    return view


held_part = _part_view("held_part", "moderation/_held_queue.html", "held-queue")
reports_part = _part_view("reports_part", "moderation/_reports_queue.html", "reports-queue")
members_part = _part_view("members_part", "moderation/_members.html", "moderation-members")


@room_view
async def counts_part(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    if not is_htmx(request):
        return see_other(f"/rooms/{slug}/moderation")
    async with _res(request).db() as db:
        access, context = await pages.room_base(db, user, slug)
        require_moderator(access)
        context["counts"] = {"held": await moderation.held_count(db, access.room.id),
                             "reports": await reports.open_report_count(db, access.room.id)}
    return html(render_to_string(request, "moderation/_counts.html", context))


@room_view
async def pinned_part(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    if not is_htmx(request):
        return see_other(f"/rooms/{slug}#pinned-messages")
    async with _res(request).db() as db:
        access, context = await pages.room_base(db, user, slug)
        context["pinned"] = await pinned_json(db, access)
    return html(render_to_string(request, "moderation/_pinned.html", context))


# Messages -----------------------------------------------------------------------------------


async def _message_part(request: Request, user: User, slug: str, message_id: int, part: str) -> str:
    if part == "held-queue":
        return render_to_string(request, "moderation/_held_queue.html", await queue_parts(request, user, slug))
    async with _res(request).db() as db:
        access, message = await message_in_room(db, user, message_id)
        author = await db.get(User, message.author_id) if message.author_id else None
        _, context = await pages.room_base(db, user, slug)
        data = message_json(message, access.room, author, queries.viewer_for(access))
        context["parents"] = await pages.parent_names(db, access, [data])
    return render_to_string(request, "rooms/_message.html", {**context, "m": data})


def _message_action(name: str, action: Callable[[Resources, User, int, Input], Awaitable[Any]], done: str) -> Handler:
    @room_view
    async def view(request: Request) -> Response:
        user = _user(request)
        slug = _slug(request)
        message_id = _path_id(request, "message_id")
        async with _res(request).db() as db:
            access, message = await message_in_room(db, user, message_id)
            if access.room.slug != slug:
                raise NotFound("No such message.")
        data = await read_input(request)
        await action(_res(request), user, message_id, data)
        anchor = f"message-{message_id}"
        if not is_htmx(request):
            flash(request, done)
            fallback = f"/rooms/{slug}" + (f"/ideas/{message.idea_id}" if message.idea_id else "")
            return see_other(_back(request, fallback) + f"#{anchor}")
        part = data.get("part") if data.get("part") in ("held-queue",) else "message"
        return html(await _message_part(request, user, slug, message_id, str(part)), _flash_part(request, done))

    view.__name__ = name
    return view


async def _pin(resources: Resources, user: User, message_id: int, data: Input) -> Any:
    return await moderation.pin_message(resources, user, message_id, True)


async def _unpin(resources: Resources, user: User, message_id: int, data: Input) -> Any:
    return await moderation.pin_message(resources, user, message_id, False)


async def _approve(resources: Resources, user: User, message_id: int, data: Input) -> Any:
    return await moderation.approve_message(resources, user, message_id)


hide_message = _message_action("hide_message", moderation.hide_message, "The message is hidden.")
restore_message = _message_action("restore_message", moderation.restore_message, "The message is visible again.")
pin_message = _message_action("pin_message", _pin, "Pinned to the top of the room.")
unpin_message = _message_action("unpin_message", _unpin, "Unpinned.")
approve_message = _message_action("approve_message", _approve, "Approved: everyone sees the post now.")
reject_message = _message_action("reject_message", moderation.reject_message,
                                 "Declined: the author sees it was not approved, with your reason.")


# Ideas --------------------------------------------------------------------------------------


def _idea_action(name: str, action: Callable[[Resources, User, int, Input], Awaitable[Any]], done: str) -> Handler:
    @room_view
    async def view(request: Request) -> Response:
        user = _user(request)
        slug = _slug(request)
        idea_id = _path_id(request, "idea_id")
        async with _res(request).db() as db:
            access, _ = await idea_in_room(db, user, idea_id)
            if access.room.slug != slug:
                raise NotFound("No such idea.")
        await action(_res(request), user, idea_id, await read_input(request))
        if not is_htmx(request):
            flash(request, done)
            return see_other(f"/rooms/{slug}/ideas/{idea_id}")
        async with _res(request).db() as db:
            context = await pages.idea_page(db, user, slug, idea_id)
        return html(
            render_to_string(request, "moderation/_idea_tools.html", context),
            partial(f"#idea-detail-{idea_id}", "outerHTML", render_to_string(request, "rooms/_idea_detail.html", context)),
            _flash_part(request, done),
        )

    view.__name__ = name
    return view


async def _lock(resources: Resources, user: User, idea_id: int, data: Input) -> Any:
    return await moderation.lock_idea(resources, user, idea_id, True, data)


async def _unlock(resources: Resources, user: User, idea_id: int, data: Input) -> Any:
    return await moderation.lock_idea(resources, user, idea_id, False, data)


hide_idea = _idea_action("hide_idea", moderation.hide_idea, "The idea is hidden from members.")
restore_idea = _idea_action("restore_idea", moderation.restore_idea, "The idea is visible again.")
lock_idea = _idea_action("lock_idea", _lock, "The discussion of this idea is locked.")
unlock_idea = _idea_action("unlock_idea", _unlock, "The discussion of this idea is open again.")


# Members ------------------------------------------------------------------------------------


async def _mute(resources: Resources, user: User, slug: str, member_id: int, data: Input) -> str:
    minutes = int_field(data, "mute_minutes", minimum=1, maximum=moderation.MAX_MUTE_MINUTES) or 0
    await moderation.update_member(resources, user, slug, member_id, {**data, "mute_minutes": minutes})
    label = dict(MUTE_CHOICES).get(minutes, f"{minutes} minutes")
    return f"Muted for {label}; the mute ends by itself."


async def _unmute(resources: Resources, user: User, slug: str, member_id: int, data: Input) -> str:
    await moderation.update_member(resources, user, slug, member_id, {"mute_minutes": 0,
                                                                        "reason": data.get("reason")})
    return "The mute is lifted."


async def _remove(resources: Resources, user: User, slug: str, member_id: int, data: Input) -> str:
    await moderation.remove_member(resources, user, slug, member_id, moderation.reason_field(data, required=False))
    return "Removed from the room."


async def _role(resources: Resources, user: User, slug: str, member_id: int, data: Input) -> str:
    membership = await moderation.update_member(resources, user, slug, member_id,
                                                {"role": data.get("role"), "reason": data.get("reason")})
    return "Now a moderator of this room." if membership.role == "moderator" else "Now a member (no longer a moderator)."


MemberAction = Callable[[Resources, User, str, int, Input], Awaitable[str]]


def _member_action(name: str, action: MemberAction) -> Handler:
    @room_view
    async def view(request: Request) -> Response:
        user = _user(request)
        slug = _slug(request)
        member_id = _path_id(request, "user_id")
        data = await read_input(request)
        done = await action(_res(request), user, slug, member_id, data)
        if not is_htmx(request):
            flash(request, done)
            return see_other(_back(request, f"/rooms/{slug}/moderation") + "#moderation-members")
        parts = [_flash_part(request, done)]
        if data.get("part") == "moderation-members":
            parts.insert(0, render_to_string(request, "moderation/_members.html",
                                             await queue_parts(request, user, slug)))
        return html(*parts)

    view.__name__ = name
    return view


async def _deactivate(resources: Resources, user: User, slug: str, member_id: int, data: Input) -> str:
    """An admin ends a guest's (or anyone's) access everywhere, from the room they met them in."""
    if not user.is_admin:
        raise Forbidden("Only administrators may deactivate accounts.")
    async with resources.db() as db:
        access = await room_access(db, user, slug)
        in_room = (await db.execute(select(Membership.id).where(
            Membership.room_id == access.room.id, Membership.user_id == member_id))).scalar_one_or_none()
    if in_room is None:
        raise NotFound("No such member in this room.")
    await set_active(resources, user, member_id, active=False, reason=moderation.reason_field(data, required=False))
    return "The account is deactivated everywhere: signed out, live connections closed."


mute_member = _member_action("mute_member", _mute)
unmute_member = _member_action("unmute_member", _unmute)
remove_member = _member_action("remove_member", _remove)
member_role = _member_action("member_role", _role)
deactivate_member = _member_action("deactivate_member", _deactivate)


# Reports ------------------------------------------------------------------------------------


def report_input(data: Input) -> Input:
    """The report form's reason (a choice) and optional details, as the service's ``reason``."""
    choice = text_field(data, "reason", max_length=100) or ""
    details = text_field(data, "details", max_length=900, required=False, multiline=True)
    values = {k: data.get(k) for k in ("message_id", "idea_id") if data.get(k) not in (None, "")}
    return {**values, "reason": f"{choice}: {details}" if details else choice}


@room_view
async def report_submit(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    data = await read_input(request)
    values = report_input(data)
    kind = "message" if values.get("message_id") else "idea"
    await _check_target_room(request, user, slug, values)
    filed = await reports.file_report(_res(request), user, values)
    done = "Thank you: the moderators will look at it. The author is not told who reported it."
    if not is_htmx(request):
        flash(request, done)
        return see_other(_back(request, f"/rooms/{slug}"))
    return html(render_to_string(request, "moderation/_reported.html", {
        "kind": kind, "target_id": filed.report.target_id, "text": done}))


async def _check_target_room(request: Request, user: User, slug: str, values: Input) -> None:
    """The reported message or idea is one of this room's (a form cannot reach across rooms)."""
    raw = values.get("message_id") or values.get("idea_id")
    if not isinstance(raw, str) or not raw.isdigit() or len(raw) > 17:
        return  # the service names the field
    async with _res(request).db() as db:
        if values.get("message_id"):
            access, _ = await message_in_room(db, user, int(raw))
        else:
            access, _ = await idea_in_room(db, user, int(raw))
    if access.room.slug != slug:
        raise NotFound("Not found")


@room_view
async def report_resolve(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    data = await read_input(request)
    outcome = await reports.resolve(_res(request), user, _path_id(request, "report_id"), data)
    done = {"hide": "Hidden, and the reports are resolved.", "dismiss": "Reports dismissed.",
            "mute": "Hidden, the author is muted, and the reports are resolved."}[outcome["action"]]
    if not is_htmx(request):
        flash(request, done)
        return see_other(f"/rooms/{slug}/moderation#reports-queue")
    return html(render_to_string(request, "moderation/_reports_queue.html", await queue_parts(request, user, slug)),
                _flash_part(request, done))


# Room settings and lock ----------------------------------------------------------------------


@room_view
async def settings_submit(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    data = await read_input(request)
    values = {k: data.get(k, "") for k in ("premoderation", "premoderation_first_n", "auto_hide_reports")}
    try:
        await service.update_room(_res(request), user, slug, values)
    except (NotFound, NotSignedIn, Forbidden):
        raise
    except AppError as exc:
        form = Form.failed(data, exc, tuple(values))
        if not is_htmx(request):
            context = await queue_parts(request, user, slug)
            return page(request, "moderation/queue.html", {**context, "settings_form": form}, status=exc.status)
        _, context = await _moderator_context(request, user, slug)
        return html(render_to_string(request, "moderation/_settings.html", {**context, "settings_form": form}),
                    status=exc.status)
    if not is_htmx(request):
        flash(request, "Moderation settings saved.")
        return see_other(f"/rooms/{slug}/moderation#moderation-settings")
    _, context = await _moderator_context(request, user, slug)
    form = Form(values=dict(context["room"].get("moderation") or {}), ok=True)
    return html(render_to_string(request, "moderation/_settings.html", {**context, "settings_form": form}))


@room_view
async def lock_room(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    data = await read_input(request)
    locked = data.get("locked") in ("true", "1", "on")
    await service.update_room(_res(request), user, slug, {"locked": locked})
    done = "The room is locked: members can read but not post, submit or vote." if locked else "The room is open again."
    if not is_htmx(request):
        flash(request, done)
        return see_other(_back(request, f"/rooms/{slug}"))
    _, context = await _moderator_context(request, user, slug)
    return html(
        render_to_string(request, "moderation/_room_lock.html", context),
        partial("#phase-banner", "outerHTML", render_to_string(request, "rooms/_phase_banner.html", context)),
        _flash_part(request, done),
    )


# The audit log --------------------------------------------------------------------------------


def _audit_before(request: Request) -> int | None:
    raw = request.query_params.get("before", "")
    return int(raw) if raw.isdigit() and len(raw) < 18 else None


async def _audit_context(request: Request, flt: auditlog.AuditFilter, room_id: int | None) -> dict[str, Any]:
    async with _res(request).db() as db:
        items, next_before = await auditlog.page(db, flt, before=_audit_before(request), limit=AUDIT_PAGE)
        return {
            "entries": items,
            "filters": {k: request.query_params.get(k, "") for k in AUDIT_FILTERS},
            "actions": await auditlog.actions(db, room_id),
            "actors": await auditlog.actors(db, room_id),
            "next_query": urlencode({**_filter_query(request), "before": next_before}) if next_before else None,
            "csv_query": urlencode(_filter_query(request)),
        }


def _filter_query(request: Request) -> dict[str, str]:
    return {k: v for k in AUDIT_FILTERS if (v := request.query_params.get(k, ""))}


def _audit_filter(request: Request, room_id: int | None) -> tuple[auditlog.AuditFilter, str | None]:
    """The filter, or an empty one and the problem to show next to the form."""
    try:
        return auditlog.parse_filter(request.query_params, room_id=room_id), None
    except Invalid as exc:
        return auditlog.AuditFilter(room_id=room_id), exc.message


@room_view
async def room_audit_page(request: Request) -> Response:
    user = _user(request)
    access, context = await _moderator_context(request, user, _slug(request))
    flt, problem = _audit_filter(request, access.room.id)
    context.update(await _audit_context(request, flt, access.room.id))
    context.update(problem=problem, site=False, audit_url=f"/rooms/{access.room.slug}/audit",
                   csv_url=f"/rooms/{access.room.slug}/audit.csv")
    status = 422 if problem else 200
    if is_htmx(request):
        return html(render_to_string(request, "moderation/_audit_results.html", context), status=status)
    return page(request, "moderation/audit.html", context, status=status)


@room_view
async def room_audit_csv(request: Request) -> Response:
    user = _user(request)
    access, _ = await _moderator_context(request, user, _slug(request))
    return csv_response(_res(request), auditlog.parse_filter(request.query_params, room_id=access.room.id),
                        access.room.slug)


async def _site_room_id(request: Request) -> int | None:
    slug = request.query_params.get("room", "").strip()
    if not slug:
        return None
    async with _res(request).db() as db:
        room_id = (await db.execute(select(Room.id).where(Room.slug == slug))).scalar_one_or_none()
    if room_id is None:
        raise Invalid.field("room", "no such room")
    return room_id


def _require_admin(user: User) -> None:
    if not user.is_admin:
        raise NotFound("Not found")


@room_view
async def site_audit_page(request: Request) -> Response:
    user = _user(request)
    _require_admin(user)
    try:
        room_id = await _site_room_id(request)
        flt, problem = _audit_filter(request, room_id)
    except Invalid as exc:
        flt, problem, room_id = auditlog.AuditFilter(), exc.message, None
    context = await _audit_context(request, flt, None)
    context.update(problem=problem, site=True, room=None, audit_url="/admin/audit", csv_url="/admin/audit.csv")
    status = 422 if problem else 200
    if is_htmx(request):
        return html(render_to_string(request, "moderation/_audit_results.html", context), status=status)
    return page(request, "moderation/audit.html", context, status=status)


@room_view
async def site_audit_csv(request: Request) -> Response:
    user = _user(request)
    _require_admin(user)
    room_id = await _site_room_id(request)
    return csv_response(_res(request), auditlog.parse_filter(request.query_params, room_id=room_id), "site")


routes = [
    Route("/rooms/{slug}/moderation", queue_page, methods=["GET"]),
    Route("/rooms/{slug}/moderation/held", held_part, methods=["GET"]),
    Route("/rooms/{slug}/moderation/reports", reports_part, methods=["GET"]),
    Route("/rooms/{slug}/moderation/members", members_part, methods=["GET"]),
    Route("/rooms/{slug}/moderation/counts", counts_part, methods=["GET"]),
    Route("/rooms/{slug}/moderation/settings", settings_submit, methods=["POST"]),
    Route("/rooms/{slug}/pinned", pinned_part, methods=["GET"]),
    Route("/rooms/{slug}/lock", lock_room, methods=["POST"]),
    Route("/rooms/{slug}/messages/{message_id}/hide", hide_message, methods=["POST"]),
    Route("/rooms/{slug}/messages/{message_id}/restore", restore_message, methods=["POST"]),
    Route("/rooms/{slug}/messages/{message_id}/pin", pin_message, methods=["POST"]),
    Route("/rooms/{slug}/messages/{message_id}/unpin", unpin_message, methods=["POST"]),
    Route("/rooms/{slug}/messages/{message_id}/approve", approve_message, methods=["POST"]),
    Route("/rooms/{slug}/messages/{message_id}/reject", reject_message, methods=["POST"]),
    Route("/rooms/{slug}/ideas/{idea_id}/hide", hide_idea, methods=["POST"]),
    Route("/rooms/{slug}/ideas/{idea_id}/restore", restore_idea, methods=["POST"]),
    Route("/rooms/{slug}/ideas/{idea_id}/lock", lock_idea, methods=["POST"]),
    Route("/rooms/{slug}/ideas/{idea_id}/unlock", unlock_idea, methods=["POST"]),
    Route("/rooms/{slug}/members/{user_id}/mute", mute_member, methods=["POST"]),
    Route("/rooms/{slug}/members/{user_id}/unmute", unmute_member, methods=["POST"]),
    Route("/rooms/{slug}/members/{user_id}/remove", remove_member, methods=["POST"]),
    Route("/rooms/{slug}/members/{user_id}/role", member_role, methods=["POST"]),
    Route("/rooms/{slug}/members/{user_id}/deactivate", deactivate_member, methods=["POST"]),
    Route("/rooms/{slug}/reports", report_submit, methods=["POST"]),
    Route("/rooms/{slug}/reports/{report_id}/resolve", report_resolve, methods=["POST"]),
    Route("/rooms/{slug}/audit", room_audit_page, methods=["GET"]),
    Route("/rooms/{slug}/audit.csv", room_audit_csv, methods=["GET"]),
    Route("/admin/audit", site_audit_page, methods=["GET"]),
    Route("/admin/audit.csv", site_audit_csv, methods=["GET"]),
]
