"""``create_app(settings)``: routes, middleware, and a lifespan that owns the resources."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from innovate import metrics, migrations
from innovate.accounts import links, sessions
from innovate.accounts.cache import token_cache
from innovate.accounts.local import user_count
from innovate.accounts.sessions import AuthMiddleware
from innovate.auth import oidc as sign_in
from innovate.auth.views import routes as auth_routes
from innovate.communities import requests as join_requests
from innovate.db import create_engine, create_session_factory
from innovate.errors import (
    AppError,
    app_error_handler,
    http_error_handler,
    server_error_handler,
)
from innovate.home import routes as home_routes
from innovate.i18n import adopt_locale
from innovate.i18n.middleware import LocaleMiddleware, choose_locale, time_zone_of
from innovate.inputs import JSON
from innovate.live.feed import RoomFeed
from innovate.mail import worker as mail_worker
from innovate.notifications import service as notifications
from innovate.notifications.bell import BellMiddleware
from innovate.observability import (
    RequestObservabilityMiddleware,
    assign_request_id,
    configure_logging,
    request_id_var,
)
from innovate.people.retention import retention
from innovate.realtime.brokers import create_broker
from innovate.realtime.hub import Hub
from innovate.resources import Resources
from innovate.rooms.scheduler import scheduler
from innovate.security import RequestGuardMiddleware, SecurityHeadersMiddleware
from innovate.settings import STATIC_DIR, Settings
from innovate.sqlite_checkpoints import wal_checkpoints
from innovate.web import create_templates

log = logging.getLogger("innovate")


class NotMigrated(RuntimeError):
    """The database schema is behind the code; the message says which command fixes it."""


async def open_resources(settings: Settings) -> Resources:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    # The pool size is PostgreSQL's setting; SQLite's connections are files in this process.
    engine = (create_engine(settings.resolved_database_url) if settings.is_sqlite
              else create_engine(settings.resolved_database_url, pool_size=settings.database_pool_size))
    try:
        if not await migrations.is_up_to_date(engine):
            if settings.is_sqlite:
                # The embedded default looks after itself.
                await migrations.upgrade(engine)
            else:
                raise NotMigrated(
                    "The database schema is out of date; run `innovate db upgrade` (same INNOVATE_DATABASE_URL) and start again."
                )
    except BaseException:
        await engine.dispose()
        raise
    broker = create_broker(settings.broker, settings.resolved_database_url)
    return Resources(settings=settings, engine=engine, db=create_session_factory(engine), broker=broker)


async def announce_setup_link(resources: Resources) -> str | None:
    """On an empty database, print a one-time link that creates the first admin."""
    if await user_count(resources) > 0:
        return None
    url = await links.create_link(resources, links.SETUP)
    print(f"\n  Innovate has no accounts yet. Create the first admin here (one use):\n\n    {url}\n", flush=True)
    return url


def warn_about_settings(settings: Settings) -> None:
    """Settings that start fine but do not do what their operator meant, said once at start."""
    if settings.allow_local_guests and not settings.mail_enabled:
        log.warning("INNOVATE_ALLOW_LOCAL_GUESTS is on, but e-mail is not set up (INNOVATE_SMTP_URL): a guest "
                    "account with a password needs its address confirmed by mail, so invite links offer none. "
                    "Set INNOVATE_SMTP_URL, or add a guest sign-in provider")


async def healthz(request: Request) -> Response:
    return JSON({"status": "ok"})


async def readyz(request: Request) -> Response:
    resources: Resources = request.app.state.resources
    checks: dict[str, str] = {}
    try:
        async with resources.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports, it does not raise
        checks["database"] = f"error: {type(exc).__name__}"
    checks["broker"] = "ok" if await resources.broker.ping() else "error"
    ok = all(v == "ok" for v in checks.values())
    return JSON({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)


def build_routes(settings: Settings, extra: list[BaseRoute]) -> list[BaseRoute]:
    return [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        *auth_routes,
        *home_routes,
        *extra,
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]


class InnovateApp(Starlette):
    """Starlette, with a shorter way in for WebSockets.

    A live socket keeps every layer it passed through (a coroutine frame each, and what each
    frame holds) for as long as it is open. The HTTP-only middleware (error pages, metrics
    endpoint, security headers, CSRF and body limits) only passes sockets through, and what
    the rest does for a socket is done before its handshake reaches the router, with no
    frame left around it: a request id, sign-in and the language, each set in the socket's
    own task context (which ends with the socket).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        settings: Settings = self.state.settings
        request_id_var.set(assign_request_id(scope))
        await sessions.sign_in(self.state.resources, scope)
        adopt_locale(choose_locale(scope, settings.default_locale, settings.pseudo_locale), time_zone_of(scope))
        await self.router(scope, receive, send)


def create_app(settings: Settings, *, resources: Resources | None = None) -> Starlette:
    """Build the app. Tests may pass ready ``resources``; otherwise the lifespan opens them."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        owned = resources is None
        res = resources or await open_resources(settings)
        app.state.resources = res
        app.state.templates = templates
        sign_in.install(res)
        join_requests.install(res)  # a community that stops being by request settles its requests
        notifications.install(res)  # notifications are written in every write transaction
        feed = app.state.feed = RoomFeed(res.db, templates)
        hub = res.hub = Hub(res.broker, feed, res.settings, res.writes)
        await hub.start()
        token_cache(res)  # listens to notices from now on

        async def deliver(message: dict[str, Any]) -> None:
            for hook in res.notice_hooks:
                hook(message)
            await hub.deliver(message)

        await res.broker.start(deliver)
        metrics.watch_pool(res.engine)
        if owned:
            await announce_setup_link(res)
        warn_about_settings(res.settings)
        try:
            async with scheduler(res), mail_worker.running(res), retention(res), wal_checkpoints(res.engine):
                yield {}
        finally:
            # Sockets first (1012: reconnect), while the broker can still say who left.
            await hub.close()
            await res.broker.close()
            res.hub = None
            metrics.forget_process()
            if owned:
                await res.engine.dispose()

    templates = create_templates()
    app = InnovateApp(
        routes=build_routes(settings, _feature_routes()),
        middleware=[
            Middleware(RequestObservabilityMiddleware),
            Middleware(metrics.MetricsEndpoint, token=settings.metrics_token, enabled=not settings.metrics_port),
            Middleware(SecurityHeadersMiddleware, https=settings.https),
            Middleware(AuthMiddleware),
            Middleware(LocaleMiddleware, default=settings.default_locale, pseudo=settings.pseudo_locale),
            Middleware(RequestGuardMiddleware, public_origin=settings.public_origin,
                       max_body_bytes=settings.max_body_bytes, upload_max_bytes=settings.upload_max_bytes),
            Middleware(BellMiddleware),
        ],
        exception_handlers={
            AppError: app_error_handler,
            HTTPException: http_error_handler,
            Exception: server_error_handler,
        },
        lifespan=lifespan,
    )
    app.state.templates = templates
    app.state.settings = settings
    return app


def _feature_routes() -> list[BaseRoute]:
    """Routes of the feature packages (rooms, live, invites...), collected in one place."""
    from innovate.auth.invite_routes import routes as invite_routes
    from innovate.auth.signin import routes as signin_routes
    from innovate.communities import api as communities_api
    from innovate.communities import routes as community_pages
    from innovate.foryou import api as foryou_api
    from innovate.insights import api as insights_api
    from innovate.insights import routes as insights_pages
    from innovate.live.endpoint import routes as live_routes
    from innovate.mail.routes import routes as mail_routes
    from innovate.media.routes import routes as media_routes
    from innovate.moderation import api as moderation_api
    from innovate.moderation import audit_routes, content_routes, member_routes
    from innovate.moderation import routes as moderation_pages
    from innovate.notifications.api import routes as notification_api_routes
    from innovate.notifications.routes import routes as notification_page_routes
    from innovate.people.api import routes as people_api_routes
    from innovate.people.personal_routes import routes as personal_routes
    from innovate.people.routes import routes as people_pages
    from innovate.personas import api as personas_api
    from innovate.personas import routes as persona_pages
    from innovate.pulses import api as pulses_api
    from innovate.pulses import routes as pulse_pages
    from innovate.rooms import api as rooms_api
    from innovate.rooms import routes as room_pages
    from innovate.rooms.discussion import api as discussion_api
    from innovate.rooms.discussion import routes as discussion_pages
    from innovate.rooms.ideas import api as ideas_api
    from innovate.rooms.ideas import routes as idea_pages
    from innovate.rooms.reviews import api as reviews_api
    from innovate.rooms.reviews import routes as review_pages
    from innovate.scim.routes import routes as scim_routes
    from innovate.scim.token_routes import routes as scim_token_routes
    from innovate.search import routes as search_routes
    from innovate.showcase import api as showcase_api
    from innovate.showcase import pages as showcase_pages
    from innovate.showcase import routes as showcase_routes

    return [*rooms_api.routes, *ideas_api.routes, *discussion_api.routes, *signin_routes, *invite_routes,
            *people_api_routes, *room_pages.routes, *idea_pages.routes, *discussion_pages.routes, *live_routes,
            *moderation_api.routes, *moderation_pages.routes, *content_routes.routes, *member_routes.routes,
            *audit_routes.routes, *insights_api.routes, *insights_pages.routes,
            *notification_api_routes, *notification_page_routes, *mail_routes, *media_routes,
            *showcase_api.routes, *showcase_routes.routes, *showcase_pages.routes, *reviews_api.routes,
            *communities_api.routes, *community_pages.routes, *personas_api.routes, *persona_pages.routes,
            *foryou_api.routes, *review_pages.routes, *search_routes.routes, *pulses_api.routes,
            *pulse_pages.routes, *personal_routes, *people_pages,
            *scim_routes, *scim_token_routes]


def app_from_env() -> Starlette:
    """uvicorn factory: read the settings from the environment, exit with one line if bad."""
    from innovate.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise SystemExit(f"innovate: {exc}") from None
    configure_logging(settings.log_format, settings.log_level)
    app = create_app(settings)
    _tune_gc()
    return app


def _tune_gc() -> None:
    """Keep the cyclic garbage collector's pauses off the live path of a server process.

    Each open socket keeps about 90 objects the collector tracks, so with 5,000 sockets a
    full collection walks ~600,000 objects and stops the process for about half a second
    (measured with the bench's 5,000 x 10/s scenario: p95 480 ms, p99 570 ms, all from
    such pauses). What was loaded at start-up (modules, templates, the engine) lives as
    long as the process: it is frozen out of every collection. The young generations are
    collected less often, and a full collection waits for 100 of the middle one instead
    of 10, so a room filling up with sockets no longer triggers one after another
    (same scenario: p99 90-260 ms over six runs, no full collection during them).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 100)
