"""Sign-in, sign-out, first-run setup, set-password links, and the caller's own account API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts import language, links
from innovate.accounts.guards import require_user
from innovate.accounts.local import ACCOUNT_FIELDS, authenticate, check_name, check_new_password, normalise_email
from innovate.accounts.models import User
from innovate.accounts.sessions import rotate_session
from innovate.accounts.tokens import create_token, list_tokens, revoke_token, token_json
from innovate.errors import AppError, Conflict, Invalid, NotFound
from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext
from innovate.inputs import JSON, FieldErrors, read_input, text_field, text_or_empty
from innovate.web import Form, resources, see_other, template


def safe_next(value: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirects)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else "/"


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "kind": user.kind,
        "is_admin": user.is_admin,
        "is_moderator": user.is_moderator,
        "locale": user.locale,
    }


async def login_page(request: Request) -> Response:
    if request.scope.get("user") is not None:
        return see_other(safe_next(request.query_params.get("next")))
    providers = resources(request).extras.get("login_providers", [])
    return template(request, "login.html", {"next": safe_next(request.query_params.get("next")), "error": None,
                                           "email": "", "providers": providers})


async def login_submit(request: Request) -> Response:
    data = await read_input(request)
    email = text_or_empty(data, "email")
    password = text_or_empty(data, "password")
    next_url = safe_next(data.get("next") if isinstance(data.get("next"), str) else None)
    providers = resources(request).extras.get("login_providers", [])
    context = {"next": next_url, "email": email[:320], "providers": providers}
    try:
        user = await authenticate(resources(request), email[:320], password[:1024],
                                  request.client.host if request.client else None)
    except AppError as exc:
        return template(request, "login.html", {**context, "error": exc.message}, status=exc.status, headers=exc.headers)
    if user is None:
        # One message for unknown account and wrong password: no account enumeration.
        return template(request, "login.html", {**context, "error": _("That e-mail and password do not match.")}, status=400)
    await rotate_session(request.scope, user)
    return see_other(next_url)


async def logout(request: Request) -> Response:
    await rotate_session(request.scope, None)
    return see_other("/login")


async def setup_page(request: Request) -> Response:
    token = request.path_params["token"]
    if await links.peek_link(resources(request), links.SETUP, token) is None:
        raise NotFound(lazy_gettext("This setup link has already been used or has expired."))
    return template(request, "setup.html", {"token": token, "form": Form()})


async def setup_submit(request: Request) -> Response:
    """Create the first admin; the link is spent in the same transaction."""
    token = request.path_params["token"]
    data = await read_input(request)
    try:
        errors = FieldErrors()
        errors.check(normalise_email, text_or_empty(data, "email"))
        errors.check(check_name, text_or_empty(data, "name"), "")
        password = check_new_password(data, errors)
        errors.raise_if_any()
        user = await links.set_up_first_admin(resources(request), token, email=text_or_empty(data, "email"),
                                              name=text_or_empty(data, "name"), password=password)
    except (Invalid, Conflict) as exc:
        form = Form.failed(data, exc, ACCOUNT_FIELDS)
        return template(request, "setup.html", {"token": token, "form": form}, status=exc.status)
    await rotate_session(request.scope, user)
    return see_other("/")


async def set_password_page(request: Request) -> Response:
    token = request.path_params["token"]
    if await links.peek_link(resources(request), links.SET_PASSWORD, token) is None:
        raise NotFound(lazy_gettext("This link has already been used or has expired."))
    return template(request, "set_password.html", {"token": token, "form": Form()})


async def set_password_submit(request: Request) -> Response:
    token = request.path_params["token"]
    data = await read_input(request)
    try:
        errors = FieldErrors()
        password = check_new_password(data, errors)
        errors.raise_if_any()
        user = await links.set_password_with_link(resources(request), token, password)
    except Invalid as exc:
        form = Form.failed(data, exc, ACCOUNT_FIELDS)
        return template(request, "set_password.html", {"token": token, "form": form}, status=exc.status)
    await rotate_session(request.scope, user)
    return see_other("/")


async def api_me(request: Request) -> Response:
    return JSON(user_json(require_user(request)))


async def api_my_locale(request: Request) -> Response:
    """``PUT {"locale": "de"}``: the caller's language for pages and mail; ``null`` or ``""``:
    follow the browser."""
    user = require_user(request)
    res = resources(request)
    data = await read_input(request)
    await language.set_language(res, user, language.read_choice(data.get("locale"), pseudo=res.settings.pseudo_locale))
    return JSON(user_json(user))


async def api_tokens(request: Request) -> Response:
    user = require_user(request)
    if request.method == "GET":
        return JSON({"items": [token_json(t) for t in await list_tokens(resources(request), user)]})
    data = await read_input(request)
    name = text_field(data, "name", max_length=100, required=False, default="") or ""
    row, token = await create_token(resources(request), user, name)
    return JSON({**token_json(row), "token": token}, status_code=201)


async def api_token_revoke(request: Request) -> Response:
    user = require_user(request)
    await revoke_token(resources(request), user, request.path_params["token_id"])
    return Response(status_code=204)


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/setup/{token}", setup_page, methods=["GET"]),
    Route("/setup/{token}", setup_submit, methods=["POST"]),
    Route("/set-password/{token}", set_password_page, methods=["GET"]),
    Route("/set-password/{token}", set_password_submit, methods=["POST"]),
    Route("/api/v1/me", api_me, methods=["GET"]),
    Route("/api/v1/me/locale", api_my_locale, methods=["PUT"]),
    Route("/api/v1/tokens", api_tokens, methods=["GET", "POST"]),
    Route("/api/v1/tokens/{token_id:id}", api_token_revoke, methods=["DELETE"]),
]
