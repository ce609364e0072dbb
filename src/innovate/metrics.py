"""Prometheus metrics: the metric objects the app updates, and the ``/metrics`` exposition.

Other modules import the objects and update them where things happen::

    from innovate import metrics

    metrics.WS_CONNECTIONS.inc()                        # a socket was accepted (dec() when it closes)
    metrics.EVENTS_PUBLISHED.labels(kind).inc()          # one room event handed to the broker
    metrics.EVENTS_DELIVERED.inc(n)                      # n frames written to sockets
    metrics.FANOUT_LATENCY.observe(seconds)              # commit/publish -> frame handed to a socket
    metrics.WS_SLOW_CONSUMERS.inc()                      # a socket closed because its queue overflowed
    metrics.WS_CLOSED.labels(str(code)).inc()            # any server-side close, by close code
    metrics.BROKER_RECONNECTS.labels(broker.name).inc()  # the broker lost its connection and got it back

Events per second is ``rate(innovate_events_published_total[1m])`` in PromQL.

With several worker processes (``innovate serve --workers N``), ``PROMETHEUS_MULTIPROC_DIR``
points at a directory the workers share; it must be set before ``prometheus_client`` is
imported, which ``innovate serve`` does. Each worker writes its values there and a scrape
answered by any worker reports the sum over all of them.
"""

from __future__ import annotations

import hmac
import os
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.exposition import ThreadingWSGIServer, choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from innovate.errors import error_response

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PATH = "/metrics"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


# The registry the metric objects live in. In multiprocess mode their values go to files in
# PROMETHEUS_MULTIPROC_DIR and a scrape reads those instead (see ``exposition_registry``).
REGISTRY = CollectorRegistry(auto_describe=True)
if multiprocess_dir() is None:
    ProcessCollector(registry=REGISTRY)
    PlatformCollector(registry=REGISTRY)
    GCCollector(registry=REGISTRY)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_FANOUT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# HTTP --------------------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "innovate_http_requests", "HTTP requests answered, by route template and status class.",
    ["method", "route", "status"], registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "innovate_http_request_duration_seconds", "Time from request start to the end of the response body.",
    ["method", "route"], buckets=_LATENCY_BUCKETS, registry=REGISTRY,
)
HTTP_IN_FLIGHT = Gauge(
    "innovate_http_requests_in_flight", "HTTP requests being handled now.",
    multiprocess_mode="livesum", registry=REGISTRY,
)

# Live rooms --------------------------------------------------------------------------------

WS_CONNECTIONS = Gauge(
    "innovate_ws_connections", "Open live WebSocket connections.",
    multiprocess_mode="livesum", registry=REGISTRY,
)
EVENTS_PUBLISHED = Counter(
    "innovate_events_published", "Room events published to the broker after commit, by kind.",
    ["kind"], registry=REGISTRY,
)
EVENTS_DELIVERED = Counter(
    "innovate_events_delivered", "Event frames handed to live sockets.", registry=REGISTRY,
)
FANOUT_LATENCY = Histogram(
    "innovate_fanout_latency_seconds", "Time from an event's publish to its frame being handed to a socket.",
    buckets=_FANOUT_BUCKETS, registry=REGISTRY,
)
WS_SLOW_CONSUMERS = Counter(
    "innovate_ws_slow_consumer_disconnects",
    "Live sockets closed because their outbound queue overflowed.", registry=REGISTRY,
)
WS_CLOSED = Counter(
    "innovate_ws_closed", "Live sockets closed by the server, by close code.", ["code"], registry=REGISTRY,
)
BROKER_RECONNECTS = Counter(
    "innovate_broker_reconnects", "Times the event broker re-established a lost connection.",
    ["broker"], registry=REGISTRY,
)

# Notifications and mail ----------------------------------------------------------------------

NOTIFICATIONS_CREATED = Counter(
    "innovate_notifications_created", "New notification items (not counting events added to an unread one), by kind.",
    ["kind"], registry=REGISTRY,
)
MAILS_QUEUED = Counter(
    "innovate_mails_queued", "Mails put in the outbox, by purpose.", ["purpose"], registry=REGISTRY,
)
MAILS_SENT = Counter(
    "innovate_mails_sent", "Mails the SMTP server accepted.", registry=REGISTRY,
)
MAILS_FAILED = Counter(
    "innovate_mails_failed", "Mails given up: permanent refusals, too many tries, or in doubt after a crash.",
    ["reason"], registry=REGISTRY,
)
MAILS_RETRIED = Counter(
    "innovate_mails_retried", "Temporary SMTP failures (4xx, connection refused); the mail waits and is tried again.",
    registry=REGISTRY,
)
MAIL_OUTBOX = Gauge(
    "innovate_mail_outbox", "Mails in the outbox now, by state (queued, sent, failed), as the sender last counted.",
    ["state"], multiprocess_mode="mostrecent", registry=REGISTRY,
)
MAIL_BOUNCING = Gauge(
    "innovate_mail_bouncing_addresses", "People whose address bounced (no mail goes to it until they fix it).",
    multiprocess_mode="mostrecent", registry=REGISTRY,
)


# Database pool -----------------------------------------------------------------------------

DB_POOL_SIZE = Gauge(
    "innovate_db_pool_size", "Connections the pool keeps (not counting overflow).",
    multiprocess_mode="livesum", registry=REGISTRY,
)
DB_POOL_CHECKED_OUT = Gauge(
    "innovate_db_pool_checked_out", "Pool connections in use now.",
    multiprocess_mode="livesum", registry=REGISTRY,
)
DB_POOL_OVERFLOW = Gauge(
    "innovate_db_pool_overflow", "Connections open beyond the pool size (negative: room left before overflow).",
    multiprocess_mode="livesum", registry=REGISTRY,
)


_POOL_GAUGES = ((DB_POOL_SIZE, "size"), (DB_POOL_CHECKED_OUT, "checkedout"), (DB_POOL_OVERFLOW, "overflow"))


def read_pool(engine: AsyncEngine) -> None:
    """Multiprocess mode: copy this worker's pool counts into the gauges' files (on every
    checkout and checkin, and on a scrape that reaches this worker)."""
    pool: Any = engine.sync_engine.pool
    for gauge, reader in _POOL_GAUGES:
        method = getattr(pool, reader, None)
        if callable(method):
            gauge.set(method())


def watch_pool(engine: AsyncEngine) -> None:
    """Keep the pool gauges current. In one process the gauges read the pool when scraped, so
    a checkout costs nothing extra. In multiprocess mode a scrape reaches one worker only and
    reads the values the workers wrote to files, so each worker writes its own whenever its
    pool changes."""
    pool = engine.sync_engine.pool
    if multiprocess_dir() is None:
        pool_ref = weakref.ref(pool)  # a gauge outlives an engine (tests open several)

        for gauge, reader in _POOL_GAUGES:
            def current(reader: str = reader) -> float:
                live: Any = pool_ref()
                method = getattr(live, reader, None)
                return float(method()) if callable(method) else 0.0

            gauge.set_function(current)
        return

    def refresh(*_args: Any) -> None:
        read_pool(engine)

    for name in ("checkout", "checkin", "connect", "close"):
        if not event.contains(pool, name, refresh):
            event.listen(pool, name, refresh)
    read_pool(engine)


def forget_process() -> None:
    """A worker that stops takes its live gauges (sockets, pool, in-flight) out of the sum."""
    directory = multiprocess_dir()
    if directory is not None:
        multiprocess.mark_process_dead(os.getpid(), directory)


# Exposition --------------------------------------------------------------------------------


def exposition_registry() -> CollectorRegistry:
    directory = multiprocess_dir()
    if directory is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return registry


def render(accept: str = "") -> tuple[bytes, str]:
    """The current metrics in the format the scraper asked for (text format by default)."""
    registry = exposition_registry()
    if accept:
        encoder, content_type = choose_encoder(accept)
        return encoder(registry), content_type
    return generate_latest(registry), CONTENT_TYPE_LATEST


def token_matches(expected: str, authorization: str | None) -> bool:
    """``Authorization: Bearer <expected>``, compared in constant time."""
    if not expected or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


class MetricsEndpoint:
    """Answers ``GET /metrics`` ahead of sign-in handling (the scraper's bearer token is not a
    personal access token, and a scrape should not touch the database).

    - ``token`` empty, or metrics served on their own port: 404, like any unknown path;
    - missing or wrong ``Authorization: Bearer``: 401;
    - otherwise the Prometheus text format (or OpenMetrics when asked for).
    """

    def __init__(self, app: ASGIApp, *, token: str, enabled: bool = True) -> None:
        self.app = app
        self.token = token
        self.enabled = enabled and bool(token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        scope["route_template"] = PATH
        request = Request(scope, receive)
        if not self.enabled:
            response = error_response(request, 404, "not_found", "Not found")
        elif request.method not in ("GET", "HEAD"):
            response = error_response(request, 405, "method_not_allowed", "That method is not allowed here.",
                                      headers={"Allow": "GET, HEAD"})
        elif not token_matches(self.token, request.headers.get("authorization")):
            response = error_response(request, 401, "not_signed_in", "A valid metrics bearer token is required.",
                                      headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        else:
            resources = getattr(request.app.state, "resources", None)
            if resources is not None and multiprocess_dir() is not None:
                read_pool(resources.engine)  # one process reads its pool when collected
            body, content_type = render(request.headers.get("accept", ""))
            response = Response(body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})
        await response(scope, receive, send)


# A port of their own -----------------------------------------------------------------------


def _metrics_wsgi_app(token: str) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if token and not token_matches(token, environ.get("HTTP_AUTHORIZATION")):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')])
            return [b"a valid metrics bearer token is required\n"]
        body, content_type = render(environ.get("HTTP_ACCEPT", ""))
        start_response("200 OK", [("Content-Type", content_type), ("Cache-Control", "no-store")])
        return [body]

    return app


class _QuietHandler(WSGIRequestHandler):
    """Scrapes every few seconds would flood stderr with wsgiref's own access lines."""

    def log_message(self, format: str, *args: Any) -> None:
        return


def serve_port(host: str, port: int, token: str = "") -> WSGIServer:
    """Serve ``/metrics`` on a port of its own from a background thread (the ``innovate serve``
    process, so with several workers the one scrape target reports them all). The token, when
    set, is required there too; otherwise keep the port off the public network."""
    server = make_server(host, port, _metrics_wsgi_app(token), ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="innovate-metrics", daemon=True).start()
    return server
