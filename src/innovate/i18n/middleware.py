"""Each request and socket in its person's language: their own choice, else their browser's,
else the site's default (for the API, the request's Accept-Language first). The middleware
sits inside the sign-in middleware, which puts the person on the scope; a socket's handshake
gets its language from :func:`choose_locale` in the app itself (``innovate.app``)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from innovate.i18n import negotiate, use_locale

SCOPE_LOCALE = "locale"


class LocaleMiddleware:
    def __init__(self, app: ASGIApp, *, default: str, pseudo: bool = False) -> None:
        self.app = app
        self.default = default
        self.pseudo = pseudo

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with use_locale(choose_locale(scope, self.default, self.pseudo), time_zone_of(scope)):
            await self.app(scope, receive, send)


def choose_locale(scope: Scope, default: str, pseudo: bool) -> str:
    """The request's or socket's language, put on its scope: the person's choice, else the
    browser's; for the API, the request's Accept-Language first."""
    user = scope.get("user")
    accept = next((value.decode("latin-1") for key, value in scope["headers"] if key == b"accept-language"), None)
    choice = getattr(user, "locale", None)
    if accept and scope["path"].startswith("/api/"):
        # An API client's Accept-Language is asked per request: it wins over the person's
        # page language (which stays the fallback).
        locale = negotiate(None, accept, choice or default, pseudo=pseudo)
    else:
        locale = negotiate(choice, accept, default, pseudo=pseudo)
    scope[SCOPE_LOCALE] = locale
    return locale


def time_zone_of(scope: Scope) -> str | None:
    return getattr(scope.get("user"), "time_zone", None)
