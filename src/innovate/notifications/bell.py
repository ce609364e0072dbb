"""The bell on every page: the unread count, read before the page renders; and reading a
thing marks its notifications read.

Every notification names the page that shows what it is about (``path``); a signed-in
person opening that page has read it. Both happen here, ahead of the page's own handler,
in one query when nothing was unread there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from starlette.types import ASGIApp, Receive, Scope, Send

from innovate.i18n import current_locale, use_locale
from innovate.notifications.models import Notification, NotificationSettings
from innovate.notifications.service import mark_read

SCOPE_UNREAD = "notifications_unread"
SCOPE_ZONE_UNKNOWN = "time_zone_unknown"
NOT_PAGES = ("/api/", "/static/", "/metrics", "/healthz", "/readyz", "/mail/")


def _is_page(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "GET" or scope.get("user") is None:
        return False
    if scope["path"].startswith(NOT_PAGES) or scope["path"].endswith("/live"):
        return False
    headers = {k: v for k, v in scope["headers"] if k in (b"hx-request", b"hx-history-restore-request", b"accept")}
    if headers.get(b"hx-request") == b"true" and b"hx-history-restore-request" not in headers:
        return False  # a partial: the page around it has its bell already
    accept = headers.get(b"accept", b"").decode("latin-1")
    return not ("application/json" in accept and "text/html" not in accept)


class BellMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _is_page(scope):
            resources = scope["app"].state.resources
            user = scope["user"]
            unread, here, zone = await _look(resources, user.id, scope["path"])
            if here:
                unread -= await mark_read(resources, user, path=scope["path"])
            scope[SCOPE_UNREAD] = max(0, unread)
            scope[SCOPE_ZONE_UNKNOWN] = zone is None
            if zone is not None:
                # The page's dates in the person's own time zone (Babel formats them; see i18n).
                with use_locale(current_locale(), zone):
                    await self.app(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _look(resources: Any, user_id: int, path: str) -> tuple[int, int, str | None]:
    unread = Notification.read_at.is_(None)
    mine = Notification.user_id == user_id
    statement = select(
        select(func.count()).select_from(Notification).where(mine, unread).scalar_subquery(),
        select(func.count()).select_from(Notification).where(mine, unread, Notification.path == path).scalar_subquery(),
        select(NotificationSettings.time_zone).where(NotificationSettings.user_id == user_id).scalar_subquery(),
    )
    async with resources.db.lookup() as db:
        total, here, zone = (await db.execute(statement)).one()
    return int(total), int(here), zone or None
