"""Request hardening: security headers with a CSP nonce, body limits, CSRF and Origin checks.

All three are pure ASGI middleware so they also see WebSocket scopes (and leave them be).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from innovate.errors import error_response

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_SESSION_KEY = "_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
# Paths whose writes are authorised by a signed capability in the URL, not by a session: the
# mail's one-click unsubscribe (RFC 8058), which the mail provider posts without a cookie.
CAPABILITY_PATHS = ("/mail/unsubscribe/",)
# What a multipart form may add to its file: the other fields, boundaries and part headers.
UPLOAD_FORM_BYTES = 65_536
# Paths that never honour a session cookie (SCIM: a directory's bearer token), so a cross-site
# form could not act through them.
COOKIELESS_PATHS = ("/scim/v2",)


def csrf_token(scope: Scope) -> str:
    """The session's CSRF token, created on first use (which makes the session persist)."""
    session: dict[str, Any] = scope.setdefault("session", {})
    token = session.get(CSRF_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope["csp_nonce"] = nonce

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault(
                    "Content-Security-Policy",
                    f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
                    "img-src 'self' data: https:; connect-src 'self'; object-src 'none'; "
                    "frame-ancestors 'none'; base-uri 'self'",
                )
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if self.https:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """Read the whole body, or return None as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # later calls wait for the disconnect, as a server would

    return replay


class RequestGuardMiddleware:
    """Bounded bodies for every request; Origin and CSRF checks for cookie-authenticated writes.

    Runs after authentication, which sets ``scope["auth"]`` (``"token"`` for bearer requests,
    which need no CSRF token) and ``scope["session"]``.
    """

    def __init__(self, app: ASGIApp, *, public_origin: str, max_body_bytes: int, upload_max_bytes: int = 0) -> None:
        self.app = app
        self.public_origin = public_origin
        self.max_body_bytes = max_body_bytes
        # A form with a file (a picture) may carry the file plus the form around it.
        self.upload_body_bytes = max(max_body_bytes, upload_max_bytes + UPLOAD_FORM_BYTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        limit = self.max_body_bytes
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            limit = self.upload_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, receive, send, 413, "too_large", f"The request body is larger than {limit} bytes.")
            return
        body = await _read_body(receive, limit)
        if body is None:
            await self._refuse(scope, receive, send, 413, "too_large", f"The request body is larger than {limit} bytes.")
            return
        replay = _replay(body, receive)
        if scope.get("auth") != "token" and not scope["path"].startswith(CAPABILITY_PATHS + COOKIELESS_PATHS):
            problem = await self._cross_site_problem(scope, body)
            if problem is not None:
                await self._refuse(scope, replay, send, 403, "csrf", problem)
                return
        await self.app(scope, replay, send)

    async def _cross_site_problem(self, scope: Scope, body: bytes) -> str | None:
        request = Request(scope, _replay(body, _never))
        origin = request.headers.get("origin")
        if origin is not None and origin != self.public_origin:
            return "Cross-site request refused (Origin does not match this site)."
        fetch_site = request.headers.get("sec-fetch-site")
        if origin is None and fetch_site not in (None, "same-origin", "none"):
            return "Cross-site request refused (Sec-Fetch-Site)."
        expected = scope.get("session", {}).get(CSRF_SESSION_KEY)
        provided = request.headers.get(CSRF_HEADER)
        if provided is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            try:
                form = await request.form()
            except Exception:  # a malformed form body is reported as a missing token
                form = None
            value = form.get(CSRF_FIELD) if form is not None else None
            provided = value if isinstance(value, str) else None
        if not expected or not provided or not hmac.compare_digest(expected, provided):
            return "The form expired or was not sent from this site; reload the page and try again."
        return None

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str) -> None:
        request = Request(scope, receive)
        response = error_response(request, status, code, message)
        await response(scope, receive, send)


async def _never() -> Message:
    return {"type": "http.disconnect"}
