"""Sign-in with a provider, its per-provider callback, and the account page for linked sign-ins.

The flow's own context (where to go next, a pending invite, an identity to link) waits in the
server-side session under ``_signin``; keys starting with ``_`` do not survive the session
rotation that follows a successful sign-in.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts import language
from innovate.accounts.guards import require_user
from innovate.accounts.sessions import rotate_session
from innovate.auth.identities import (
    link_identity,
    list_identities,
    sign_in_identity,
    unlink_identity,
)
from innovate.auth.invites import Joiner, redeem_invite
from innovate.auth.oidc import SignInFailed, is_employee, sign_in_providers
from innovate.auth.views import safe_next
from innovate.errors import AppError, NotSignedIn
from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext
from innovate.inputs import read_input
from innovate.web import Form, form_post, resources, see_other, template, view

PENDING_KEY = "_signin"


def failure_page(request: Request, title: str, message: str, status: int,
                 headers: dict[str, str] | None = None) -> Response:
    return template(request, "auth/failed.html", {"title": title, "message": message}, status=status, headers=headers)


async def start_sign_in(request: Request, provider: str, *, next_url: str = "/", invite: str | None = None,
                        link_user: int | None = None) -> Response:
    """Send the browser to ``provider``; the callback picks the context up from the session."""
    providers = sign_in_providers(resources(request))
    providers.config(provider)  # 404 for an unknown provider
    try:
        url, state = await providers.authorization_url(request, provider)
    except SignInFailed as exc:
        return failure_page(request, _("Sign-in is not available"), exc.message, exc.status)
    request.session[PENDING_KEY] = {"provider": provider, "state": state, "next": next_url,
                                    "invite": invite, "link": link_user}
    return see_other(url)


async def provider_login(request: Request) -> Response:
    data = await read_input(request)
    next_value = data.get("next") if isinstance(data.get("next"), str) else None
    return await start_sign_in(request, request.path_params["provider"], next_url=safe_next(next_value))


def _pending(request: Request, provider: str) -> dict[str, Any]:
    """The flow context, if it belongs to this provider's answer (else a plain sign-in)."""
    pending = request.session.pop(PENDING_KEY, None)
    if (
        isinstance(pending, dict)
        and pending.get("provider") == provider
        and pending.get("state") == request.query_params.get("state")
    ):
        return pending
    return {}


async def provider_callback(request: Request) -> Response:
    res = resources(request)
    name = request.path_params["provider"]
    providers = sign_in_providers(res)
    provider = providers.config(name)
    pending = _pending(request, name)
    try:
        identity = await providers.finish(request, name)
    except SignInFailed as exc:
        return failure_page(request, _("Sign-in did not complete"), exc.message, exc.status)
    employee = is_employee(provider, identity)
    try:
        if pending.get("link") is not None:
            return await _finish_link(request, pending, identity, employee)
        if pending.get("invite"):
            redemption = await redeem_invite(res, str(pending["invite"]), Joiner(identity=identity, employee=employee))
            await rotate_session(request.scope, redemption.user)
            return see_other(f"/rooms/{redemption.room_slug}")
        user = await sign_in_identity(res, identity, employee=employee)
    except AppError as exc:
        title = _("This link is not valid any more") if exc.code == "invite_not_valid" else _("You cannot sign in here")
        return failure_page(request, title, exc.message, exc.status, exc.headers)
    await rotate_session(request.scope, user)
    return see_other(safe_next(pending.get("next")))


async def _finish_link(request: Request, pending: dict[str, Any], identity: Any, employee: bool) -> Response:
    user = request.scope.get("user")
    if user is None or user.id != pending.get("link"):
        return failure_page(request, _("Linking did not complete"),
                            _("You were signed out while linking; sign in and try again."), 400)
    if user.kind == "employee" and not employee:
        return failure_page(request, _("This sign-in cannot be linked"),
                            _("An employee account can only be linked to sign-ins that count as company accounts."), 403)
    await link_identity(resources(request), user, identity)
    return see_other("/account?done=linked")


# The account page --------------------------------------------------------------------------


def _session_user(request: Request) -> Any:
    user = require_user(request)
    if request.scope.get("auth") != "session":
        raise NotSignedIn(lazy_gettext("Sign in with the browser to manage your sign-ins."))
    return user


async def account_page(request: Request) -> Response:
    if request.scope.get("user") is None:
        return see_other("/login?next=/account")
    return await _account(request, Form())


async def _account(request: Request, language_form: Form) -> Response:
    user = _session_user(request)
    res = resources(request)
    providers = sign_in_providers(res)
    identities = await list_identities(res, user)
    issuers = {p.issuer: p for p in providers.configs.values() if p.issuer}
    rows = [
        {"id": i.id, "local": i.issuer == "local", "label": _("E-mail and password") if i.issuer == "local" else
         (issuers[i.issuer].display_name if i.issuer in issuers else i.issuer),
         "email": i.email, "verified": i.email_verified, "created_at": i.created_at, "last_used_at": i.last_used_at}
        for i in identities
    ]
    linkable = [p.public() for p in providers.configs.values()
                if user.kind == "guest" or p.is_employee_provider]
    done = request.query_params.get("done")
    notice = {"linked": _("The sign-in was linked to your account."),
              "unlinked": _("The sign-in was removed from your account."),
              "language": _("Your language was saved.")}.get(done or "")
    return template(request, "auth/account.html", {
        "identities": rows, "linkable": linkable, "notice": notice, "can_unlink": len(rows) > 1,
        "languages": language.choices(pseudo=res.settings.pseudo_locale), "language_form": language_form})


@view
async def language_submit(request: Request) -> Response:
    """The person's language for pages and mail; empty: follow the browser."""
    user = _session_user(request)
    res = resources(request)
    data = await read_input(request)

    async def choose() -> None:
        await language.set_language(res, user, language.read_choice(data.get("locale"),
                                                                    pseudo=res.settings.pseudo_locale))

    await form_post(data, choose(), ("locale",), lambda form, _exc: _account(request, form))
    return see_other("/account?done=language")


async def link_start(request: Request) -> Response:
    user = _session_user(request)
    return await start_sign_in(request, request.path_params["provider"], next_url="/account", link_user=user.id)


async def unlink(request: Request) -> Response:
    user = _session_user(request)
    await unlink_identity(resources(request), user, request.path_params["identity_id"])
    return see_other("/account?done=unlinked")


routes = [
    Route("/auth/{provider}/login", provider_login, methods=["POST"]),
    Route("/auth/{provider}/callback", provider_callback, methods=["GET"]),
    Route("/account", account_page, methods=["GET"]),
    Route("/account/language", language_submit, methods=["POST"]),
    Route("/account/identities/{provider}/link", link_start, methods=["POST"]),
    Route("/account/identities/{identity_id:id}/unlink", unlink, methods=["POST"]),
]
