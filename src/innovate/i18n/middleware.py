"""Each request and socket in its person's language: their own choice, else their browser's,
else the site's default (for the API, the request's Accept-Language first). Sits inside the
sign-in middleware, which puts the person on the scope."""

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
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        user = scope.get("user")
        accept = next((value.decode("latin-1") for key, value in scope["headers"] if key == b"accept-language"), None)
        choice = getattr(user, "locale", None)
        if accept and scope["path"].startswith("/api/"):
            # An API client's Accept-Language is asked per request: it wins over the person's
            # page language (which stays the fallback).
            locale = negotiate(None, accept, choice or self.default, pseudo=self.pseudo)
        else:
            locale = negotiate(choice, accept, self.default, pseudo=self.pseudo)
        scope[SCOPE_LOCALE] = locale
        with use_locale(locale, getattr(user, "time_zone", None)):
            await self.app(scope, receive, send)
