"""Sign-in, sign-out, first-run setup, set-password links, and the caller's own account API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from innovate.accounts import links
from innovate.accounts.guards import require_user
from innovate.accounts.local import add_local_user, authenticate, set_local_password
from innovate.accounts.models import User
from innovate.accounts.sessions import rotate_session
from innovate.accounts.tokens import create_token, list_tokens, revoke_token, token_json
from innovate.errors import AppError, Conflict, Invalid, NotFound
from innovate.inputs import JSON, read_input, text_field
from innovate.resources import Resources


def _resources(request: Request) -> Resources:
    return request.app.state.resources


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
    }


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200,
            headers: dict[str, str] | None = None) -> Response:
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status, headers=headers)


async def login_page(request: Request) -> Response:
    if request.scope.get("user") is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    providers = request.app.state.resources.extras.get("login_providers", [])
    return _render(request, "login.html", {"next": safe_next(request.query_params.get("next")), "error": None,
                                           "email": "", "providers": providers})


async def login_submit(request: Request) -> Response:
    data = await read_input(request)
    email = data.get("email") if isinstance(data.get("email"), str) else ""
    password = data.get("password") if isinstance(data.get("password"), str) else ""
    next_url = safe_next(data.get("next") if isinstance(data.get("next"), str) else None)
    providers = request.app.state.resources.extras.get("login_providers", [])
    context = {"next": next_url, "email": email[:320], "providers": providers}
    try:
        user = await authenticate(_resources(request), email[:320], password[:1024],
                                  request.client.host if request.client else None)
    except AppError as exc:
        return _render(request, "login.html", {**context, "error": exc.message}, status=exc.status, headers=exc.headers)
    if user is None:
        # One message for unknown account and wrong password: no account enumeration.
        return _render(request, "login.html", {**context, "error": "That e-mail and password do not match."}, status=400)
    await rotate_session(request.scope, user)
    return RedirectResponse(next_url, status_code=303)


async def logout(request: Request) -> Response:
    await rotate_session(request.scope, None)
    return RedirectResponse("/login", status_code=303)


async def setup_page(request: Request) -> Response:
    token = request.path_params["token"]
    if await links.peek_link(_resources(request), links.SETUP, token) is None:
        raise NotFound("This setup link has already been used or has expired.")
    return _render(request, "setup.html", {"token": token, "error": None, "values": {}})


async def setup_submit(request: Request) -> Response:
    """Create the first admin; the link is spent in the same transaction."""
    resources = _resources(request)
    token = request.path_params["token"]
    data = await read_input(request)
    values = {k: data.get(k) for k in ("email", "name")}
    try:
        password = text_field(data, "password", max_length=1024, multiline=False) or ""
        if password != data.get("password_confirm"):
            raise Invalid.field("password_confirm", "does not match the password")
        async with resources.db.begin() as db:
            if await links.spend_link(db, links.SETUP, token) is None:
                raise NotFound("This setup link has already been used or has expired.")
            if (await db.execute(select(func.count()).select_from(User))).scalar_one() > 0:
                raise Conflict("Innovate is already set up; sign in instead.")
            user = await add_local_user(db, str(data.get("email", "")), password,
                                        name=str(data.get("name", "")), is_admin=True, is_moderator=True)
    except (Invalid, Conflict) as exc:
        return _render(request, "setup.html", {"token": token, "error": exc.message, "values": values}, status=exc.status)
    await rotate_session(request.scope, user)
    return RedirectResponse("/", status_code=303)


async def set_password_page(request: Request) -> Response:
    token = request.path_params["token"]
    if await links.peek_link(_resources(request), links.SET_PASSWORD, token) is None:
        raise NotFound("This link has already been used or has expired.")
    return _render(request, "set_password.html", {"token": token, "error": None})


async def set_password_submit(request: Request) -> Response:
    resources = _resources(request)
    token = request.path_params["token"]
    data = await read_input(request)
    try:
        password = text_field(data, "password", max_length=1024) or ""
        if password != data.get("password_confirm"):
            raise Invalid.field("password_confirm", "does not match the password")
        async with resources.db.begin() as db:
            link = await links.spend_link(db, links.SET_PASSWORD, token)
            if link is None or link.user_id is None:
                raise NotFound("This link has already been used or has expired.")
            user = await db.get(User, link.user_id)
        await set_local_password(resources, link.user_id, password)
    except Invalid as exc:
        return _render(request, "set_password.html", {"token": token, "error": exc.message}, status=exc.status)
    await rotate_session(request.scope, user)
    return RedirectResponse("/", status_code=303)


async def api_me(request: Request) -> Response:
    return JSON(user_json(require_user(request)))


async def api_tokens(request: Request) -> Response:
    user = require_user(request)
    if request.method == "GET":
        return JSON({"items": [token_json(t) for t in await list_tokens(_resources(request), user)]})
    data = await read_input(request)
    name = text_field(data, "name", max_length=100, required=False, default="") or ""
    row, token = await create_token(_resources(request), user, name)
    return JSON({**token_json(row), "token": token}, status_code=201)


async def api_token_revoke(request: Request) -> Response:
    user = require_user(request)
    try:
        token_id = int(request.path_params["token_id"])
    except ValueError:
        raise NotFound("No such active token.") from None
    await revoke_token(_resources(request), user, token_id)
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
    Route("/api/v1/tokens", api_tokens, methods=["GET", "POST"]),
    Route("/api/v1/tokens/{token_id}", api_token_revoke, methods=["DELETE"]),
]
