"""Unsubscribing from a mail, without signing in (RFC 8058).

``GET /mail/unsubscribe/{token}`` shows what the link switches off and a button (a link
preview or a mail scanner changes nothing); ``POST`` switches it off. Mail providers post
``List-Unsubscribe=One-Click`` to the same address and get a short plain answer.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext
from innovate.kinds import Category
from innovate.mail.unsubscribe import DIGEST, Unsubscribe, read_token
from innovate.notifications.service import switch_off

# What an unsubscribe link stops, as a phrase that fits "Stop …?" and "You will no longer get …".
WHAT = {
    DIGEST: lazy_gettext("the digest mails (daily or weekly summaries)"),
    Category.MENTIONS.value: lazy_gettext("mails about mentions, replies to you, and your held posts reviewed"),
    Category.IDEAS.value: lazy_gettext("mails about your ideas: comments, threads you took part in, status changes"),
    Category.PHASES.value: lazy_gettext("mails about room phases: voting opens, a room closes"),
    Category.INVITATIONS.value: lazy_gettext("mails about invitations and access: added to a room, made moderator, "
                                             "requests to join your community and the answer to yours, "
                                             "guest access ending"),
    Category.PULSES.value: lazy_gettext("mails about HR pulses: short messages and questions from HR"),
}


def _what(found: Unsubscribe) -> str:
    return str(WHAT[found.category])


def _token(request: Request) -> Unsubscribe | None:
    return read_token(request.app.state.resources.settings.secret_key, request.path_params["token"])


def _page(request: Request, found: Unsubscribe | None, *, done: bool = False, status: int = 200) -> Response:
    return request.app.state.templates.TemplateResponse(
        request, "notifications/unsubscribe.html",
        {"found": found, "what": _what(found) if found else None, "done": done}, status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


async def unsubscribe_page(request: Request) -> Response:
    found = _token(request)
    return _page(request, found, status=200 if found else 404)


async def unsubscribe(request: Request) -> Response:
    found = _token(request)
    one_click = "one-click" in (await request.body()).decode("latin-1", "replace").lower()
    if found is None:
        if one_click:
            return PlainTextResponse(_("This link is not valid any more."), status_code=404)
        return _page(request, None, status=404)
    await switch_off(request.app.state.resources, found.user_id, found.category)
    if one_click:
        return PlainTextResponse(_("Unsubscribed from %(what)s.", what=_what(found)))
    return _page(request, found, done=True)


routes = [
    Route("/mail/unsubscribe/{token}", unsubscribe_page, methods=["GET"]),
    Route("/mail/unsubscribe/{token}", unsubscribe, methods=["POST"]),
]
