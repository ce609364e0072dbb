"""Errors in the one shape the API promises, and the handlers that render them.

``/api/*`` answers ``{"error": {"code", "message", "fields"?}}``; pages get a friendly
HTML page with the same status. Services raise these; views never build error bodies.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

log = logging.getLogger("innovate.errors")


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        return {"error": error}


class Invalid(AppError):
    status = 422
    code = "invalid"

    @classmethod
    def field(cls, name: str, why: str) -> Invalid:
        return cls(f"{name}: {why}", fields={name: why})


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class NotSignedIn(AppError):
    status = 401
    code = "not_signed_in"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"

    def __init__(self, message: str = "Not found", **kwargs: Any):
        super().__init__(message, **kwargs)


class Gone(AppError):
    """A public page that was taken down (unpublished): not coming back at this address."""

    status = 410
    code = "gone"


class Conflict(AppError):
    status = 409
    code = "conflict"


class TooMany(AppError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


def wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api/"):
        return True
    return "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get("accept", "")


def error_response(request: Request, status: int, code: str, message: str, fields: dict[str, str] | None = None,
                   headers: Mapping[str, str] | None = None) -> Response:
    if wants_json(request):
        body: dict[str, Any] = {"code": code, "message": message}
        if fields:
            body["fields"] = fields
        return JSONResponse({"error": body}, status_code=status, headers=headers)
    templates = getattr(request.app.state, "templates", None)
    if templates is None:
        return HTMLResponse(f"<h1>{status}</h1>", status_code=status, headers=headers)
    response = templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "code": code, "message": message, "fields": fields or {}},
        status_code=status,
        headers=headers,
    )
    return response


async def app_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return error_response(request, exc.status, exc.code, exc.message, exc.fields, exc.headers)


_HTTP_CODES = {
    400: ("bad_request", "The request could not be understood."),
    401: ("not_signed_in", "Sign in first."),
    403: ("forbidden", "You may not do that."),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "That method is not allowed here."),
    413: ("too_large", "The request is too large."),
}


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code, message = _HTTP_CODES.get(exc.status_code, ("error", exc.detail or "Error"))
    return error_response(request, exc.status_code, code, message, headers=exc.headers)


async def server_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(request, 500, "server_error", "Something went wrong on our side; it has been logged.")
