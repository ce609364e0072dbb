"""Notifications in the JSON API, for the caller only.

- ``GET /api/v1/me/notifications?unread=1&cursor=&limit=`` → ``{items, next_cursor, unread}``;
- ``POST /api/v1/me/notifications/read`` ``{"ids": [...]}`` or ``{"all": true}`` → ``{read, unread}``;
- ``GET|PUT /api/v1/me/notification-settings``;
- ``POST /api/v1/me/time-zone`` ``{"time_zone"}``: the browser's guess, kept only when none is set.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.accounts.models import User
from innovate.errors import Invalid
from innovate.i18n import lazy_gettext
from innovate.inputs import JSON, REQUIRED, bool_field, int_field, read_input
from innovate.notifications import preferences, queries
from innovate.notifications.service import (
    SettingsChange,
    check_settings,
    mark_read,
    save_settings,
    unread_count,
)
from innovate.resources import Resources

MAX_IDS = 500


def _res(request: Request) -> Resources:
    return request.app.state.resources


async def notifications(request: Request) -> Response:
    user = require_user(request)
    params = dict(request.query_params)
    unread_only = bool_field(params, "unread")
    limit = int_field(params, "limit", minimum=1, maximum=100, required=False, default=queries.PAGE_SIZE)
    async with _res(request).db() as db:
        items, next_cursor = await queries.page(db, user.id, unread_only=unread_only, cursor=params.get("cursor"),
                                                limit=limit or queries.PAGE_SIZE)
        unread = await unread_count(db, user.id)
    return JSON({"items": [i.json() for i in items], "next_cursor": next_cursor, "unread": unread})


def read_request(data: dict[str, Any]) -> tuple[list[int] | None, bool]:
    every = data.get("all", False)
    if not isinstance(every, bool):
        raise Invalid.field("all", lazy_gettext("expected true or false"))
    if every:
        return None, True
    ids = data.get("ids")
    if not isinstance(ids, list) or not ids:
        raise Invalid.field("ids", lazy_gettext("send a list of notification ids, or {\"all\": true}"))
    if len(ids) > MAX_IDS:
        raise Invalid.field("ids", lazy_gettext("at most %(max)d at a time", max=MAX_IDS))
    if not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids):
        raise Invalid.field("ids", lazy_gettext("expected whole numbers"))
    return ids, False


async def notifications_read(request: Request) -> Response:
    user = require_user(request)
    ids, every = read_request(await read_input(request))
    changed = await mark_read(_res(request), user, ids=ids, every=every)
    async with _res(request).db() as db:
        unread = await unread_count(db, user.id)
    return JSON({"read": changed, "unread": unread})


def settings_json(resources: Resources, user: User, prefs: preferences.Preferences) -> dict[str, Any]:
    settings = resources.settings
    bouncing = prefs.bouncing(user.email)
    return {
        "categories": {c: prefs.choice(c) for c in preferences.CATEGORIES},
        "choices": list(preferences.CHOICES),
        "time_zone": prefs.time_zone,
        "digest": prefs.digest,
        "next_digest_at": prefs.next_digest_at.isoformat() if prefs.next_digest_at else None,
        "mail": {
            "enabled": settings.mail_enabled,
            "address": user.email,
            "bouncing": {"address": prefs.bouncing_address, "reason": prefs.bounce_reason,
                         "at": prefs.bounced_at.isoformat() if prefs.bounced_at else None} if bouncing else None,
        },
    }


async def notification_settings(request: Request) -> Response:
    user = require_user(request)
    resources = _res(request)
    if request.method == "PUT":
        prefs = await save_settings(resources, user, check_settings(await read_input(request)))
    else:
        async with resources.db() as db:
            prefs = await preferences.load(db, user.id)
    return JSON(settings_json(resources, user, prefs))


async def time_zone_guess(request: Request) -> Response:
    user = require_user(request)
    change = check_settings({"time_zone": (await read_input(request)).get("time_zone")})
    if change.time_zone is None:
        raise Invalid.field("time_zone", REQUIRED)
    prefs = await save_settings(_res(request), user, SettingsChange(choices={}, time_zone=change.time_zone),
                                only_unset_zone=True)
    return JSON({"time_zone": prefs.time_zone})


routes = [
    Route("/api/v1/me/notifications", notifications, methods=["GET"]),
    Route("/api/v1/me/notifications/read", notifications_read, methods=["POST"]),
    Route("/api/v1/me/notification-settings", notification_settings, methods=["GET", "PUT"]),
    Route("/api/v1/me/time-zone", time_zone_guess, methods=["POST"]),
]
