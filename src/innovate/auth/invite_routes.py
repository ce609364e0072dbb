"""Invite links over HTTP: the join pages, the moderators' panel, and the JSON API.

``GET /join/{token}`` only shows a confirmation page (link scanners and previews consume
nothing); the POST redeems it for a signed-in user, or starts sign-in with a provider, or
takes a local guest sign-up where the administrator allows it (and mail is set up): the
answer is "check your mail" whatever the address, and ``/join/confirm/{token}``, the link in
that mail, makes the account (guest_signup.py). That page too only asks; its POST acts.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.hashing import token_hash
from innovate.accounts.local import ACCOUNT_FIELDS, check_new_password, normalise_email
from innovate.accounts.sessions import rotate_session
from innovate.accounts.throttles import hit_committed
from innovate.auth.guest_signup import InviteTo, LocalGuestsOff, SignUp, ask_for_guest_account
from innovate.auth.invite_locks import confirms_outside_addresses, lock_warning
from innovate.auth.invites import (
    DEFAULT_EXPIRY_HOURS,
    DEFAULT_MAX_USES,
    MAX_ACCESS_DAYS,
    MAX_EXPIRY_HOURS,
    MAX_MAX_USES,
    InviteNotValid,
    InvitePreview,
    InviteRequest,
    InviteRestricted,
    Joiner,
    check_request,
    confirm_guest_signup,
    create_invite,
    invite_json,
    list_invites,
    listing_json,
    peek_guest_signup,
    peek_invite_hash,
    redeem_invite,
    revoke_invite,
    valid_token_shape,
)
from innovate.auth.oidc import sign_in_providers
from innovate.auth.signin import failure_page, start_sign_in
from innovate.errors import AppError
from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext
from innovate.inputs import JSON, FieldErrors, Input, bool_field, int_field, read_input, text_field
from innovate.web import Form, is_htmx, resources, see_other, template

# Joining --------------------------------------------------------------------------------------


def _invalid_page(request: Request) -> Response:
    return template(request, "invites/invalid.html", {}, status=InviteNotValid.status)


async def _throttle(request: Request) -> None:
    settings = resources(request).settings
    ip = request.client.host if request.client else "unknown"
    await hit_committed(resources(request), f"join:ip:{ip}", limit=settings.invite_attempts_per_ip,
                        window_seconds=settings.invite_attempt_window_seconds,
                        message=lazy_gettext("Too many invite-link attempts from your network; wait a few minutes "
                                             "and try again."))


def _digest(request: Request) -> str | None:
    token = request.path_params["token"]
    return token_hash(token) if valid_token_shape(token) else None


def _join_context(request: Request, preview: Any, **extra: Any) -> dict[str, Any]:
    res = resources(request)
    providers = sign_in_providers(res).public_list()
    return {
        "token": request.path_params["token"],
        "invite": preview,
        "providers": providers,
        "allow_local": res.settings.local_guest_signup and not preview.restricted,
        "form": Form(),
        **extra,
    }


async def join_page(request: Request) -> Response:
    try:
        await _throttle(request)
    except AppError as exc:
        return failure_page(request, _("Slow down"), exc.message, exc.status, exc.headers)
    digest = _digest(request)
    preview = await peek_invite_hash(resources(request), digest) if digest else None
    if preview is None:
        return _invalid_page(request)
    return template(request, "invites/join.html", _join_context(request, preview))


async def join_submit(request: Request) -> Response:
    res = resources(request)
    try:
        await _throttle(request)
    except AppError as exc:
        return failure_page(request, _("Slow down"), exc.message, exc.status, exc.headers)
    digest = _digest(request)
    if digest is None:
        return _invalid_page(request)
    data = await read_input(request)
    user = request.scope.get("user")
    try:
        if user is not None:
            redemption = await redeem_invite(res, digest, Joiner(user=user))
            return see_other(f"/rooms/{redemption.room_slug}")
        preview = await peek_invite_hash(res, digest)
        if preview is None:
            return _invalid_page(request)
        provider = data.get("provider")
        if isinstance(provider, str) and provider:
            return await start_sign_in(request, provider, next_url=f"/rooms/{preview.room_slug}", invite=digest)
        if data.get("action") == "local":
            return await _join_as_local_guest(request, preview, data)
    except InviteNotValid:
        return _invalid_page(request)
    except AppError as exc:
        return failure_page(request, _("You cannot join with this link"), exc.message, exc.status, exc.headers)
    return see_other(request.url.path)


async def _join_as_local_guest(request: Request, preview: InvitePreview, data: Input) -> Response:
    res = resources(request)
    if not res.settings.local_guest_signup:
        raise LocalGuestsOff()
    if preview.restricted:
        raise InviteRestricted()  # the form is not offered: a self-made account meets no lock
    try:
        errors = FieldErrors()
        name = errors.check(text_field, data, "name", max_length=120) or ""
        email = errors.check(text_field, data, "email", max_length=320) or ""
        if email:
            errors.check(normalise_email, email)
        password = check_new_password(data, errors)
        errors.raise_if_any()
    except AppError as exc:
        # Only what was typed is judged here (its form), never whether the address is known.
        context = _join_context(request, preview, form=Form.failed(data, exc, ACCOUNT_FIELDS))
        return template(request, "invites/join.html", context, status=exc.status)
    await ask_for_guest_account(res, InviteTo(preview.invite_id, preview.room_title, preview.invited_by),
                                SignUp(name=name, email=email, password=password[:1024]),
                                ip=request.client.host if request.client else "unknown")
    return template(request, "invites/check_mail.html", {"invite": preview, "email": normalise_email(email)},
                    headers={"Cache-Control": "no-store"})


async def confirm_page(request: Request) -> Response:
    """What a mailed confirmation link opens: who and which room, and a button."""
    return await _confirmation(request, submit=False)


async def confirm_submit(request: Request) -> Response:
    return await _confirmation(request, submit=True)


async def _confirmation(request: Request, *, submit: bool) -> Response:
    res, token = resources(request), request.path_params["token"]
    try:
        await _throttle(request)
        if submit:
            redemption = await confirm_guest_signup(res, token)
        else:
            pending = await peek_guest_signup(res, token)
    except InviteNotValid:
        return _invite_gone_page(request)
    except AppError as exc:
        title = _("No account was made") if submit else _("This link cannot be used")
        return failure_page(request, title, exc.message, exc.status, exc.headers)
    if submit:
        await rotate_session(request.scope, redemption.user)
        return see_other(f"/rooms/{redemption.room_slug}")
    return template(request, "invites/confirm.html", {"pending": pending, "token": token},
                    headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def _invite_gone_page(request: Request) -> Response:
    return failure_page(request, _("The invitation is not valid any more"),
                        _("The invitation this link belongs to was withdrawn, used up or has expired, so no account "
                          "was made. Ask the person who invited you for a new link."), InviteNotValid.status)



# Creating, listing, revoking -------------------------------------------------------------------


INVITE_FIELDS = ("max_uses", "expires_in_hours", "email", "domain", "note", "send", "access_days")


def _invite_request(data: Input) -> InviteRequest:
    errors = FieldErrors()
    max_uses = errors.check(int_field, data, "max_uses", minimum=1, maximum=MAX_MAX_USES, required=False)
    hours = errors.check(int_field, data, "expires_in_hours", minimum=1, maximum=MAX_EXPIRY_HOURS, required=False)
    request = InviteRequest(
        max_uses=max_uses or DEFAULT_MAX_USES,
        expires_in_hours=hours or DEFAULT_EXPIRY_HOURS,
        email=errors.check(text_field, data, "email", max_length=320, required=False),
        domain=errors.check(text_field, data, "domain", max_length=253, required=False),
        note=errors.check(text_field, data, "note", max_length=200, required=False),
        send=bool(errors.check(bool_field, data, "send")),
        access_days=errors.check(int_field, data, "access_days", minimum=0, maximum=MAX_ACCESS_DAYS, required=False),
    )
    checked = errors.check(check_request, request)  # the checks across fields, with the unreadable ones
    errors.raise_if_any()
    assert checked is not None  # no error was kept, so the check answered
    return checked


async def api_invites(request: Request) -> Response:
    res = resources(request)
    slug = request.path_params["slug"]
    user = request.scope.get("user")
    if request.method == "GET":
        return JSON({"items": [listing_json(item) for item in await list_invites(res, user, slug)]})
    data = await read_input(request)
    invite, url = await create_invite(res, user, slug, _invite_request(data))
    warning = lock_warning(res.settings, invite.email, invite.domain)
    return JSON({**invite_json(invite), "url": url, "warning": warning}, status_code=201,
                headers={"Cache-Control": "no-store"})


async def api_invite_revoke(request: Request) -> Response:
    await revoke_invite(resources(request), request.scope.get("user"), request.path_params["slug"], request.path_params["invite_id"])
    return Response(status_code=204)


async def _panel(request: Request, *, status: int = 200, new_url: str | None = None, form: Form | None = None,
                 sent_to: str | None = None, warning: str | None = None) -> Response:
    slug = request.path_params["slug"]
    settings = resources(request).settings
    listings = await list_invites(resources(request), request.scope.get("user"), slug)
    context = {
        "room_slug": slug,
        "invites": listings,
        "new_invite_url": new_url,
        "sent_to": sent_to,
        "lock_warning": warning,
        "locks_usable": confirms_outside_addresses(settings),
        "form": form or Form(),
        "defaults": {"max_uses": DEFAULT_MAX_USES, "expires_in_hours": DEFAULT_EXPIRY_HOURS,
                     "max_expiry_hours": MAX_EXPIRY_HOURS, "max_max_uses": MAX_MAX_USES,
                     "access_days": resources(request).settings.guest_access_days, "max_access_days": MAX_ACCESS_DAYS},
    }
    name = "invites/_panel.html" if is_htmx(request) else "invites/page.html"
    headers = {"Cache-Control": "no-store"} if new_url else None
    return template(request, name, context, status=status, headers=headers)


async def invites_page(request: Request) -> Response:
    if request.scope.get("user") is None:
        return see_other(f"/login?next={request.url.path}")
    return await _panel(request)


async def invites_create(request: Request) -> Response:
    data = await read_input(request)
    try:
        invite, url = await create_invite(resources(request), request.scope.get("user"), request.path_params["slug"],
                                           _invite_request(data))
    except AppError as exc:
        if exc.status in (401, 403, 404):
            raise  # not this caller's panel: the error page says so
        return await _panel(request, status=exc.status, form=Form.failed(data, exc, INVITE_FIELDS))
    warning = lock_warning(resources(request).settings, invite.email, invite.domain)
    if bool_field(data, "send"):  # the link went to them, not through this page
        return await _panel(request, sent_to=invite.email, warning=warning)
    return await _panel(request, new_url=url, warning=warning)


async def invites_revoke(request: Request) -> Response:
    await revoke_invite(resources(request), request.scope.get("user"), request.path_params["slug"], request.path_params["invite_id"])
    if is_htmx(request):
        return await _panel(request)
    return see_other(f"/rooms/{request.path_params['slug']}/invites")


routes = [
    Route("/join/confirm/{token}", confirm_page, methods=["GET"]),
    Route("/join/confirm/{token}", confirm_submit, methods=["POST"]),
    Route("/join/{token}", join_page, methods=["GET"]),
    Route("/join/{token}", join_submit, methods=["POST"]),
    Route("/rooms/{slug}/invites", invites_page, methods=["GET"]),
    Route("/rooms/{slug}/invites", invites_create, methods=["POST"]),
    Route("/rooms/{slug}/invites/{invite_id:id}/revoke", invites_revoke, methods=["POST"]),
    Route("/api/v1/rooms/{slug}/invites", api_invites, methods=["GET", "POST"]),
    Route("/api/v1/rooms/{slug}/invites/{invite_id:id}", api_invite_revoke, methods=["DELETE"]),
]
