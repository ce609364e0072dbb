"""Server-side sessions and bearer tokens, resolved once per request or WebSocket handshake.

:func:`sign_in` sets, on the ASGI scope:
- ``scope["user"]``: the signed-in :class:`User` or None;
- ``scope["auth"]``: ``"session"``, ``"token"`` or None;
- ``scope["session"]``: a dict persisted server-side (CSRF token, OAuth state);
- ``scope["session_id"]``: the Session row id, or None.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from innovate.accounts.cache import token_cache
from innovate.accounts.hashing import new_token, token_hash
from innovate.accounts.models import AccessToken, Session, User
from innovate.db import utcnow
from innovate.errors import error_response
from innovate.i18n import lazy_gettext
from innovate.resources import Resources
from innovate.writes import Outbox, access_changed, write

log = logging.getLogger("innovate.sessions")

# Paths whose requests are authorised by their own bearer token and never by a session.
BEARER_ONLY_PATHS = ("/scim/v2",)


def _cookie_header(name: str, value: str, *, max_age: int, secure: bool) -> str:
    cookie: SimpleCookie = SimpleCookie()
    cookie[name] = value
    morsel = cookie[name]
    morsel["path"] = "/"
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    morsel["max-age"] = max_age
    if secure:
        morsel["secure"] = True
    return morsel.OutputString()


# Built once: constructing a statement per request costs more than running it.
_SESSION_AND_USER = (
    select(Session, User).outerjoin(User, User.id == Session.user_id)
    .where(Session.token_hash == bindparam("hash"))
)
_TOKEN_AND_USER = (
    select(AccessToken, User).join(User, User.id == AccessToken.user_id)
    .where(AccessToken.token_hash == bindparam("hash"))
)


async def load_session_user(resources: Resources, cookie_value: str | None) -> tuple[Session | None, User | None]:
    if not cookie_value or len(cookie_value) > 128:
        return None, None
    now = utcnow()
    async with resources.db.lookup() as db:
        found = (await db.execute(_SESSION_AND_USER, {"hash": token_hash(cookie_value)})).first()
    if found is None:
        return None, None
    row, user = found
    if row.revoked_at is not None or row.expires_at <= now:
        return None, None
    # A deactivated user's session still identifies itself (sign-out, the session row) but
    # signs nobody in.
    return row, user if user is not None and user.is_active else None


async def load_token_user(resources: Resources, token: str) -> User | None:
    now = utcnow()
    key = token_hash(token)
    cache = token_cache(resources)
    found = cache.get(key)
    if found is None:
        generation = cache.generation
        async with resources.db.lookup() as db:
            loaded = (await db.execute(_TOKEN_AND_USER, {"hash": key})).first()
        if loaded is None:
            return None
        found = loaded[0], loaded[1]
        cache.put(key, *found, generation)
    row, user = found
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now) or not user.is_active:
        return None
    # Coarse last-used stamp: at most one write per token per minute. The read session is
    # closed first so a burst of requests never holds two pooled connections each.
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        set_committed_value(row, "last_used_at", now)  # the cached row too: one write, not one per hit
        async with resources.db.begin() as w:
            await w.execute(update(AccessToken).where(AccessToken.id == row.id).values(last_used_at=now))
    return user


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


@dataclass(frozen=True, slots=True)
class SignIn:
    """What :func:`sign_in` found besides the person: a bearer token that matched nobody, and
    for a session cookie, the session's data as read (to persist what a request changes) and
    whether the cookie named no live session."""

    bad_token: bool = False
    original: dict[str, Any] | None = None
    stale_cookie: bool = False


async def sign_in(resources: Resources, scope: Scope) -> SignIn:
    """Put who is signed in on the scope, from a bearer token or the session cookie."""
    scope["user"] = None
    scope["auth"] = None
    scope["session"] = {}
    scope["session_id"] = None
    if scope["path"].startswith(BEARER_ONLY_PATHS):
        # A directory's SCIM requests carry their own token (scim/), which signs nobody
        # in; neither a session nor a personal token counts there.
        return SignIn()
    token = bearer_token(scope)
    if token is not None:
        user = await load_token_user(resources, token)
        scope["user"] = user
        scope["auth"] = "token" if user is not None else None
        return SignIn(bad_token=user is None)
    cookie_value = HTTPConnection(scope).cookies.get(resources.settings.session_cookie_name)
    row, user = await load_session_user(resources, cookie_value)
    original: dict[str, Any] = {}
    if row is not None:
        original = dict(row.data or {})
        scope["session"] = dict(original)
        scope["session_id"] = row.id
        scope["user"] = user
        scope["auth"] = "session" if user is not None else None
    return SignIn(original=original, stale_cookie=cookie_value is not None and row is None)


class AuthMiddleware:
    """:func:`sign_in` for each request, and the session's changes saved with its response.
    A socket's handshake is signed in by the app itself (``innovate.app``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        resources: Resources = scope["app"].state.resources
        signed = await sign_in(resources, scope)
        if signed.bad_token:
            response = error_response(HTTPConnection(scope), 401, "not_signed_in",  # type: ignore[arg-type]
                                      lazy_gettext("The access token is not valid."))
            await response(scope, receive, send)
            return
        original = signed.original
        if original is None:
            await self.app(scope, receive, send)
            return
        stale_cookie = signed.stale_cookie

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                await self._persist(scope, message, resources, original, stale_cookie)
            await send(message)

        await self.app(scope, receive, send_wrapper)

    async def _persist(self, scope: Scope, message: Message, resources: Resources,
                       original: dict[str, Any], stale_cookie: bool) -> None:
        settings = resources.settings
        headers = MutableHeaders(scope=message)
        max_age = settings.session_lifetime_hours * 3600
        new_cookie = scope.pop("set_session_cookie", None)
        if new_cookie is not None:  # sign-in or sign-out already wrote the rows
            headers.append("set-cookie", _cookie_header(
                settings.session_cookie_name, new_cookie, max_age=max_age if new_cookie else 0, secure=settings.https))
            return
        data = scope.get("session", {})
        if data == original:
            if stale_cookie:
                headers.append("set-cookie", _cookie_header(settings.session_cookie_name, "", max_age=0, secure=settings.https))
            return
        if scope.get("session_id") is not None:
            async with resources.db.begin() as db:
                await db.execute(update(Session).where(Session.id == scope["session_id"]).values(data=data))
            return
        # An anonymous visitor needed state (a CSRF token, OAuth state): start a session row.
        cookie = await create_session(resources, None, data, scope)
        headers.append("set-cookie", _cookie_header(settings.session_cookie_name, cookie, max_age=max_age, secure=settings.https))


def _client_ip(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def _user_agent(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"user-agent":
            return value.decode("latin-1")[:300]
    return None


async def create_session(resources: Resources, user_id: int | None, data: dict[str, Any], scope: Scope) -> str:
    cookie = new_token()
    async with resources.db.begin() as db:
        db.add(Session(
            token_hash=token_hash(cookie),
            user_id=user_id,
            data=data,
            expires_at=utcnow() + timedelta(hours=resources.settings.session_lifetime_hours),
            ip=_client_ip(scope),
            user_agent=_user_agent(scope),
        ))
    return cookie


async def rotate_session(scope: Scope, user: User | None) -> None:
    """Start a fresh session for ``user`` (sign-in, privilege change) and revoke the old one.

    Rotation defeats session fixation: an id seen before sign-in is useless after it.
    The CSRF token rotates with the session.
    """
    resources: Resources = scope["app"].state.resources
    old_id = scope.get("session_id")
    old_user: User | None = scope.get("user")
    if old_id is not None:
        async with write(resources) as (db, outbox):
            await db.execute(update(Session).where(Session.id == old_id).values(revoked_at=utcnow()))
            if old_user is not None:
                # The live pages of that session close now, not at the next periodic check;
                # the user's other sessions pass the re-check and carry on.
                access_changed(outbox, user_id=old_user.id)
    data = {k: v for k, v in scope.get("session", {}).items() if not k.startswith("_")}
    if user is None:
        scope["set_session_cookie"] = ""
        scope["session"] = {}
        scope["session_id"] = None
        scope["user"] = None
        return
    cookie = await create_session(resources, user.id, data, scope)
    scope["set_session_cookie"] = cookie
    scope["session"] = data
    scope["user"] = user


async def revoke_sessions_in(db: AsyncSession, outbox: Outbox, user_id: int) -> None:
    """Inside the caller's transaction: end every session of a user; after commit, their live
    sockets re-check and close."""
    await db.execute(
        update(Session).where(Session.user_id == user_id, Session.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    access_changed(outbox, user_id=user_id)


async def revoke_user_sessions(resources: Resources, user_id: int) -> None:
    """Cut every session of a user (deactivation, removal of guest access) and their sockets."""
    async with write(resources) as (db, outbox):
        await revoke_sessions_in(db, outbox, user_id)
