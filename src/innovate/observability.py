"""Logs and request metrics: a request id on every request, JSON or text log lines, and
redaction so that logs never carry secrets.

- ``RequestObservabilityMiddleware`` (pure ASGI, outermost) gives each request an id (a
  well-formed incoming ``X-Request-ID`` is kept, otherwise a new one), returns it in the
  ``X-Request-ID`` response header, and records the request count and latency by route
  template (``/set-password/{token}``, never the raw path).
- ``logging_config(...)`` is the one ``logging.config.dictConfig`` for the app and uvicorn:
  ``INNOVATE_LOG_FORMAT=json`` writes one JSON object per line with the request id.
- Access log lines show ``/join/[redacted]`` instead of an invite token, and no query
  strings; every line is scrubbed of bearer tokens and secret links before it is written.
"""

from __future__ import annotations

import contextvars
import logging
import logging.config
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.datastructures import MutableHeaders
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from innovate import metrics

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("innovate_request_id", default=None)

# Path prefixes whose next segment is a secret (invite, first-run setup, set-password links).
SECRET_PATH_PREFIXES = ("/join/", "/setup/", "/set-password/")
REDACTED = "[redacted]"
_SECRET_PATH = re.compile(r"(/(?:join|setup|set-password)/)[^/?#\s\"']+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
# SQLAlchemy errors quote the statement's parameters, which may be a message body.
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?(?=\n\(Background on this error|\Z)", re.DOTALL)


def accept_request_id(value: str | None) -> str:
    """Keep a caller's id when it is a plausible one (8-128 of ``A-Za-z0-9._:-``), else a new one."""
    if value and _REQUEST_ID_OK.fullmatch(value):
        return value
    return uuid.uuid4().hex


def redact_path(path: str) -> str:
    """A request path fit for a log line: secret link segments and the query string removed."""
    path, query_sep, _query = path.partition("?")
    path = _SECRET_PATH.sub(lambda m: m.group(1) + REDACTED, path)
    return path + ("?" + REDACTED if query_sep else "")


def scrub(text: str) -> str:
    """Remove bearer tokens, secret link segments and SQL parameters from arbitrary log text."""
    text = _SQL_PARAMETERS.sub("[parameters: " + REDACTED + "]", text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    return _SECRET_PATH.sub(lambda m: m.group(1) + REDACTED, text)


def route_template(scope: Scope) -> str:
    """The matched route's template, so metrics have one series per route, not per URL.
    A middleware that answers a path itself names it in ``scope["route_template"]``."""
    if "route_template" in scope:
        return str(scope["route_template"])
    route = scope.get("route")
    if route is None:
        return "<unmatched>"
    if isinstance(route, Mount):
        return f"{route.path}/{{path}}"
    # Without its convertors: ``/ideas/{idea_id}``, not ``/ideas/{idea_id:id}``.
    return str(getattr(route, "path_format", None) or getattr(route, "path", None) or "<unmatched>")


# The middleware ----------------------------------------------------------------------------


def assign_request_id(scope: Scope) -> str:
    """The request's or socket's id, on its scope: the caller's ``X-Request-ID`` when it is a
    plausible one, else a new one."""
    incoming = None
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            incoming = value.decode("latin-1")
            break
    request_id = accept_request_id(incoming)
    scope["request_id"] = request_id
    return request_id


class RequestObservabilityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = assign_request_id(scope)
        token = request_id_var.set(request_id)
        try:
            await self._http(scope, receive, send, request_id)
        finally:
            request_id_var.reset(token)

    async def _http(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        metrics.HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            metrics.HTTP_IN_FLIGHT.dec()
            method = scope["method"] if scope["method"] in _KNOWN_METHODS else "OTHER"
            route = route_template(scope)
            metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
            metrics.HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)


_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# Logging -----------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Stamp each record with the current request id (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class AccessLogRedactionFilter(logging.Filter):
    """uvicorn's access line is ``'%s - "%s %s HTTP/%s" %d'`` with the path and query string
    as the third argument, and its WebSocket lines ``'%s - "WebSocket %s" ...'`` carry them as
    the second: replace the path with the redacted one, and keep the parts as fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple):
            return True
        if record.name == "uvicorn.access" and len(args) == 5:
            client, method, path, version, status = args
            safe = redact_path(str(path))
            record.args = (client, method, safe, version, status)
            record.http = {"client": client, "method": method, "path": safe, "status": status}
        elif isinstance(record.msg, str) and '"WebSocket %s"' in record.msg and len(args) >= 2:
            safe = redact_path(str(args[1]))
            record.args = (args[0], safe, *args[2:])
            http = {"client": args[0], "method": "WebSocket", "path": safe}
            if len(args) > 2:
                http["status"] = args[2]
            record.http = http
        return True


_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "color_message", "request_id", "http", "taskName",
}


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        http = getattr(record, "http", None)
        if http:
            entry["http"] = http
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """The human format, scrubbed the same way, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.rid = f" [{request_id}]" if request_id else ""
        return scrub(super().format(record))


def logging_config(log_format: str = "text", level: str = "info") -> dict[str, Any]:
    """The dictConfig for the app and uvicorn (passed to uvicorn as ``log_config`` so that the
    supervisor and every worker log alike)."""
    formatter = "json" if log_format == "json" else "text"
    upper = level.upper()
    return {
        "version": 1,
        # Module loggers (innovate.*) exist before this runs; keep them working.
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "innovate.observability.RequestIdFilter"},
            "access_redaction": {"()": "innovate.observability.AccessLogRedactionFilter"},
        },
        "formatters": {
            "json": {"()": "innovate.observability.JSONFormatter"},
            "text": {"()": "innovate.observability.TextFormatter"},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                "formatter": formatter, "filters": ["request_id", "access_redaction"],
            },
            "access": {
                "class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                "formatter": formatter, "filters": ["request_id", "access_redaction"],
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": upper, "propagate": False},
            "uvicorn.error": {"level": upper},
            "uvicorn.access": {"handlers": ["access"], "level": upper, "propagate": False},
        },
        "root": {"handlers": ["default"], "level": upper},
    }


def configure_logging(log_format: str = "text", level: str = "info") -> None:
    logging.config.dictConfig(logging_config(log_format, level))
