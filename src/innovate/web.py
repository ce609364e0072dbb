"""The web toolkit every page handler is built from.

- templates: one Jinja2 environment (autoescape on) shared by pages and live fragments;
- rendering: ``page`` (a whole page with its flash), ``render_to_string`` and ``html`` (parts),
  and htmx 4 out-of-band parts (``partial``, ``announce``);
- flash messages and redirects: 303 for a plain post, ``HX-Redirect`` for htmx;
- ``reply``: the htmx-or-page tail of a handler;
- ``form_post``: a service call behind a form, whose refusal re-renders the form (and
  ``page_again``, for a form on a page another handler serves);
- ``view``: the decorator every page handler wears;
- the ``id`` path convertor, and ids in query strings.

Each form works two ways:

- plain post (no JavaScript): success redirects back (303, post/redirect/get); a refused
  post re-renders the whole page with the form's errors, with the error's status;
- htmx (``HX-Request``): success answers the form's partial plus out-of-band updates; a
  refused post answers the form partial with the field errors and the 4xx status (htmx 4
  swaps error responses too). Errors without a form land in the page's ``#flash`` region.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import escape
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Match, Route
from starlette.templating import Jinja2Templates

from innovate.errors import AppError, Invalid, NotFound, NotSignedIn, field_label, field_message
from innovate.i18n.jinja import install as install_i18n
from innovate.inputs import ID_DIGITS, Input
from innovate.resources import Resources
from innovate.security import csrf_token
from innovate.settings import TEMPLATES_DIR

T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]
Parts = str | Sequence[str]

# Templates ----------------------------------------------------------------------------------


def _request_context(request: Request) -> dict[str, Any]:
    return {
        "user": request.scope.get("user"),
        "csp_nonce": request.scope.get("csp_nonce", ""),
        "csrf_token": lambda: csrf_token(request.scope),
        "settings": request.app.state.resources.settings,
    }


def _isotime(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def create_templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
        extensions=["jinja2.ext.i18n"],
    )
    install_i18n(env)
    env.globals["field_label"] = field_label
    env.filters["isotime"] = _isotime
    return Jinja2Templates(env=env, context_processors=[_request_context])


def resources(request: Request) -> Resources:
    """What the running app owns (the lifespan put it on the app's state)."""
    owned: Resources = request.app.state.resources
    return owned


def _templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


# Rendering ----------------------------------------------------------------------------------


def is_htmx(request: Request) -> bool:
    """An htmx request that wants a partial (history restores want the whole page)."""
    headers = request.headers
    return (headers.get("hx-request") == "true" and "hx-history-restore-request" not in headers
            and headers.get("hx-request-type") != "full")


def render_to_string(request: Request, name: str, context: dict[str, Any]) -> str:
    templates = _templates(request)
    merged: dict[str, Any] = {"request": request}
    for processor in templates.context_processors:
        merged.update(processor(request))
    merged.update(context)
    return templates.get_template(name).render(merged)


def template(request: Request, name: str, context: dict[str, Any], *, status: int = 200,
             headers: dict[str, str] | None = None) -> Response:
    """A template as a whole response, as it is (pages outside the rooms: sign-in, invites)."""
    return _templates(request).TemplateResponse(request, name, context, status_code=status, headers=headers)


def page(request: Request, name: str, context: dict[str, Any], *, status: int = 200,
         headers: dict[str, str] | None = None) -> Response:
    """A page of the app: it shows the flash message a redirect left, and offers the live
    connection once the app serves it."""
    context = {"flash": take_flash(request), "live": _live_enabled(request), **context}
    return template(request, name, context, status=status, headers=headers)


def _live_enabled(request: Request) -> bool:
    return any(getattr(route, "path", None) == "/rooms/{slug}/live" for route in request.app.routes)


def html(*parts: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse("".join(parts), status_code=status, headers=headers)


def partial(target: str, swap: str, html: str) -> str:
    """One out-of-band change: ``html`` goes to ``target`` (a CSS selector) with ``swap``."""
    return f'<hx-partial hx-target="{escape(target)}" hx-swap="{escape(swap)}">{html}</hx-partial>'


def announce(text: str) -> str:
    """Text for screen readers, read out by the page's polite live region."""
    return partial("#live-announcer", "innerHTML", str(escape(text)))


# Flash and redirects ------------------------------------------------------------------------


def flash(request: Request, text: str) -> None:
    """A one-off notice for the next page this session sees."""
    request.scope.setdefault("session", {})["flash"] = text


def take_flash(request: Request) -> str | None:
    session = request.scope.get("session") or {}
    notice: str | None = session.pop("flash", None)
    return notice


def flash_part(request: Request, text: str) -> str:
    """The page's ``#flash`` region with ``text``, as an out-of-band part."""
    return partial("#flash", "outerHTML", render_to_string(request, "rooms/_flash.html", {"flash": text}))


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def redirect(request: Request, url: str) -> Response:
    """Load ``url`` as a whole page: htmx follows ``HX-Redirect``, a plain post a 303."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return see_other(url)


def back(request: Request, fallback: str, anchor: str = "") -> str:
    """Where a plain form post returns: the same-site room or admin page it came from (at
    ``anchor``), else ``fallback``."""
    parts = urlsplit(request.headers.get("referer", ""))
    if parts.netloc and f"{parts.scheme}://{parts.netloc}" != resources(request).settings.public_origin:
        return fallback
    if not parts.path.startswith(("/rooms/", "/admin/")):
        return fallback
    return parts.path + (f"?{parts.query}" if parts.query else "") + (f"#{anchor}" if anchor else "")


# The htmx-or-page tail ----------------------------------------------------------------------

Render = Callable[[], Parts | Awaitable[Parts]]
Plain = Callable[[], Response | Awaitable[Response]]


async def reply(request: Request, htmx: Render, plain: str | Plain, *, done: str | None = None,
                status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Answer htmx with ``htmx()`` (the partial, then any out-of-band parts) and a plain
    request with ``plain``: a URL is a 303 to it (post/redirect/get, ``done`` becoming the
    flash message there); a callable renders the whole page. Only the branch taken renders.
    ``status`` and ``headers`` (a refusal's, e.g. ``Retry-After``) go on either answer."""
    if is_htmx(request):
        parts = await _settle(htmx())
        return html(*([parts] if isinstance(parts, str) else parts), status=status, headers=headers)
    if isinstance(plain, str):
        if done is not None:
            flash(request, done)
        return see_other(plain)
    response = await _settle(plain())
    response.status_code = status
    response.headers.update(headers or {})
    return response


async def _settle(value: T | Awaitable[T]) -> T:
    if inspect.isawaitable(value):
        settled: T = await value
        return settled
    return value


# Forms --------------------------------------------------------------------------------------


@dataclass
class Form:
    """A form's state for re-rendering: submitted values, field errors, a form-level message."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    ok: bool = False

    @classmethod
    def failed(cls, values: Input, exc: AppError, fields: Sequence[str]) -> Form:
        """Field errors go next to their inputs; anything else becomes the form's message
        (the errors of fields the form has no input for, or the error's own message)."""
        errors = {k: v for k, v in (exc.fields or {}).items() if k in fields}
        others = {k: v for k, v in (exc.fields or {}).items() if k not in fields}
        message = ("; ".join(field_message(k, v) for k, v in others.items()) if others
                   else None if errors else exc.message)
        return cls(values={k: v for k, v in values.items() if isinstance(v, str)}, errors=errors, message=message)


Refused = Callable[[Form, AppError], Response | Awaitable[Response]]


class _Answered(Exception):
    """A handler's answer, decided below it (a refused form): ``view`` returns it."""

    def __init__(self, response: Response) -> None:
        super().__init__("answered")
        self.response = response


async def form_post(data: Input, action: Awaitable[T], fields: Sequence[str], refused: Refused, *,
                    raises: tuple[type[AppError], ...] = ()) -> T:
    """What ``action`` (one service call) returns, for a form posted with ``data``.

    If the service refuses, the answer is ``refused(form, error)``: the form again, with
    every error on ``fields`` at its field, the rest as its message, the error's status and
    its headers (``Retry-After`` on a 429). "Sign in" and "not found" are never the form's
    to show, nor the errors in ``raises``: they go up to :func:`view`, as does an error
    ``refused`` raises. Only handlers that wear :func:`view` call this.
    """
    not_the_forms: tuple[type[AppError], ...] = (NotSignedIn, NotFound, *raises)
    try:
        return await action
    except not_the_forms:
        raise
    except AppError as exc:
        response = await _settle(refused(Form.failed(data, exc, fields), exc))
        response.status_code = exc.status
        response.headers.update(exc.headers)
        raise _Answered(response) from exc


# Where a form lives on a page another handler serves (the composer is on the room page and on
# every idea's page), a refused plain post is answered by that page's own handler, asked
# again with the forms as they were posted.
_POSTED = "innovate.posted_forms"


async def page_again(request: Request, url: str, **forms: Form) -> Response:
    """The page at ``url`` (a page of this app), rendered by its handler with ``forms`` in
    the state they were posted in (see :func:`posted_forms`)."""
    path, _, query = url.partition("?")
    scope = {**request.scope, "method": "GET", "path": unquote(path), "raw_path": path.encode(),
             "query_string": query.encode(), _POSTED: forms}
    for route in request.app.router.routes:
        if isinstance(route, Route):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                handler: Handler = route.endpoint
                return await handler(Request({**scope, **child_scope}, request.receive))
    raise NotFound()


def posted_forms(request: Request) -> dict[str, Form]:
    """The forms a refused post left for this page (none on a plain visit)."""
    forms: dict[str, Form] = request.scope.get(_POSTED, {})
    return forms


# The view decorator -------------------------------------------------------------------------


def view(handler: Handler) -> Handler:
    """Signed-out visitors go to sign-in (htmx with ``HX-Redirect``); an htmx request's error
    that no form showed goes to the page's ``#flash`` region; a refused form is answered."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except _Answered as answered:
            return answered.response
        except NotSignedIn:
            query = f"?{request.url.query}" if request.url.query else ""
            return redirect(request, "/login?" + urlencode({"next": request.url.path + query}))
        except AppError as exc:
            if is_htmx(request):
                return _flash_error(request, exc)
            raise

    return wrapped


def _flash_error(request: Request, exc: AppError) -> Response:
    body = render_to_string(request, "rooms/_flash.html", {"flash": exc.message})
    return html(body, status=exc.status, headers={"HX-Retarget": "#flash", "HX-Reswap": "outerHTML", **exc.headers})


# Ids ----------------------------------------------------------------------------------------

class IdConvertor(Convertor[int]):
    """``{name:id}`` in a route: a row id (at most ``ID_DIGITS`` digits, so it fits the
    database's integer columns). Anything else in its place matches no route (404)."""

    regex = f"[0-9]{{1,{ID_DIGITS}}}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        if not 0 <= value < 10**ID_DIGITS:
            raise ValueError(f"not an id: {value}")
        return str(value)


register_url_convertor("id", IdConvertor())


def as_id(raw: object) -> int | None:
    """``raw`` (text from a form or a query string) as an id, if it is one."""
    return int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) <= ID_DIGITS else None


def query_id(request: Request, name: str) -> int | None:
    """An id in the query string of a page (``?before=``, ``?reply_to=``); anything else is
    no id, as a link that lost its parameter would be."""
    return as_id(request.query_params.get(name))


def api_query_id(request: Request, name: str) -> int | None:
    """An id in the query string of the JSON API: absent is ``None``; malformed is a 422
    naming the parameter."""
    raw = request.query_params.get(name, "")
    if raw == "":
        return None
    value = as_id(raw)
    if value is None:
        raise Invalid.field(name, f"expected an id (a whole number of at most {ID_DIGITS} digits)")
    return value
