"""The inbox (``/notifications``) and the notification settings page (``/settings/notifications``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from innovate.errors import AppError
from innovate.i18n import gettext as _
from innovate.inputs import read_input
from innovate.notifications import preferences, queries
from innovate.notifications.service import check_settings, mark_read, save_settings, unread_count
from innovate.resources import Resources
from innovate.web import Form


def _res(request: Request) -> Resources:
    return request.app.state.resources


def _login(request: Request) -> Response:
    return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status)


async def inbox(request: Request) -> Response:
    user = request.scope.get("user")
    if user is None:
        return _login(request)
    unread_only = request.query_params.get("unread") == "1"
    cursor = request.query_params.get("cursor") or None
    try:
        async with _res(request).db() as db:
            items, next_cursor = await queries.page(db, user.id, unread_only=unread_only, cursor=cursor)
            unread = await unread_count(db, user.id)
    except AppError:
        return RedirectResponse("/notifications", status_code=303)  # a stale or mangled cursor
    return _render(request, "notifications/inbox.html", {
        "items": items, "next_cursor": next_cursor, "unread_only": unread_only, "unread_total": unread,
        "first_page": cursor is None})


async def inbox_read(request: Request) -> Response:
    """Mark one item (``id``) or every item (``all``) read, from the inbox's buttons."""
    user = request.scope.get("user")
    if user is None:
        return _login(request)
    data = await read_input(request)
    raw = data.get("id")
    if data.get("all") == "1":
        await mark_read(_res(request), user, every=True)
    elif isinstance(raw, str) and raw.isdigit() and len(raw) < 12:
        await mark_read(_res(request), user, ids=[int(raw)])
    return RedirectResponse("/notifications", status_code=303)


async def _settings_page(request: Request, *, form: Form | None = None, notice: str | None = None,
                         status: int = 200) -> Response:
    user = request.scope["user"]
    async with _res(request).db() as db:
        prefs = await preferences.load(db, user.id)
    return _render(request, "notifications/settings.html", {
        "prefs": prefs, "categories": [(c, preferences.CATEGORY_LABELS[c]) for c in preferences.CATEGORIES],
        "choices": [(c, preferences.CHOICE_LABELS[c]) for c in preferences.CHOICES],
        "zones": sorted(preferences._zones()), "mail_enabled": _res(request).settings.mail_enabled,
        "bouncing": prefs.bouncing(user.email), "form": form or Form(), "notice": notice,
        "digest_hour": _res(request).settings.digest_hour}, status=status)


SETTINGS_FIELDS = (*(f"categories.{c}" for c in preferences.CATEGORIES), "time_zone")


async def settings_page(request: Request) -> Response:
    if request.scope.get("user") is None:
        return _login(request)
    return await _settings_page(request)


async def settings_submit(request: Request) -> Response:
    user = request.scope.get("user")
    if user is None:
        return _login(request)
    data = await read_input(request)
    wanted: dict[str, Any] = {"categories": {c: data[c] for c in preferences.CATEGORIES if c in data}}
    if isinstance(data.get("time_zone"), str) and data["time_zone"]:
        wanted["time_zone"] = data["time_zone"]
    if data.get("clear_bounce") == "1":
        wanted = {"clear_bounce": True}
    try:
        await save_settings(_res(request), user, check_settings(wanted))
    except AppError as exc:
        return await _settings_page(request, form=Form.failed(data, exc, SETTINGS_FIELDS), status=exc.status)
    notice = _("We will try your address again.") if wanted.get("clear_bounce") else _("Saved.")
    return await _settings_page(request, notice=notice)


routes = [
    Route("/notifications", inbox, methods=["GET"]),
    Route("/notifications/read", inbox_read, methods=["POST"]),
    Route("/settings/notifications", settings_page, methods=["GET"]),
    Route("/settings/notifications", settings_submit, methods=["POST"]),
]
