"""The room pages: directory, new challenge, room, idea, settings, and their form posts.

Views stay thin: reads build context in rooms/pages.py, every write calls one service
function. Each form works two ways:

- plain post (no JavaScript): success redirects back (303, post/redirect/get); a refused
  post re-renders the whole page with the form's errors, with the error's status;
- htmx (``HX-Request``): success answers the form's partial plus out-of-band updates; a
  refused post answers the form partial with the field errors and the 4xx status (htmx 4
  swaps error responses too). Errors without a form land in the page's #flash region.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from innovate.accounts.models import User
from innovate.errors import AppError, Forbidden, Invalid, NotFound, NotSignedIn
from innovate.inputs import Input, read_input
from innovate.resources import Resources
from innovate.rooms import pages
from innovate.rooms.access import room_access
from innovate.rooms.discussion.service import (
    delete_message,
    edit_message,
    message_in_room,
    post_message,
)
from innovate.rooms.ideas.search import similar_ideas
from innovate.rooms.ideas.service import (
    edit_idea,
    idea_in_room,
    merge_ideas,
    set_idea_status,
    submit_idea,
)
from innovate.rooms.ideas.votes import cast_vote, retract_vote
from innovate.rooms.models import PHASES, Idea, Membership
from innovate.rooms.pages import Form
from innovate.rooms.queries import IDEA_SORTS, ideas_json, viewer_for
from innovate.rooms.serializers import member_json, message_json
from innovate.rooms.service import (
    change_phase,
    create_room,
    join_room,
    leave_room,
    update_room,
)
from innovate.web import partial

Handler = Callable[[Request], Awaitable[Response]]

ROOM_FIELDS = ("slug", "title", "brief", "cover_url", "visibility", "voting_mode", "budget", "max_per_idea",
               "votes_in_open", "hide_tallies_until_closed", "allow_anonymous", "opens_at", "voting_at", "closes_at",
               "archives_at", "phase")
ROOM_FLAGS = ("votes_in_open", "hide_tallies_until_closed", "allow_anonymous")
SCHEDULE = ("opens_at", "voting_at", "closes_at", "archives_at")
LOCAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
TZ_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")


# Plumbing -----------------------------------------------------------------------------------


def _resources(request: Request) -> Resources:
    return request.app.state.resources


def is_htmx(request: Request) -> bool:
    """An htmx request that wants a partial (history restores want the whole page)."""
    headers = request.headers
    return (headers.get("hx-request") == "true" and "hx-history-restore-request" not in headers
            and headers.get("hx-request-type") != "full")


def _user(request: Request) -> User:
    user = request.scope.get("user")
    if user is None:
        raise NotSignedIn("Sign in first.")
    return user


def _context(request: Request, context: dict[str, Any]) -> dict[str, Any]:
    templates = request.app.state.templates
    merged: dict[str, Any] = {"request": request}
    for processor in templates.context_processors:
        merged.update(processor(request))
    merged.update(context)
    return merged


def render_to_string(request: Request, name: str, context: dict[str, Any]) -> str:
    return request.app.state.templates.get_template(name).render(_context(request, context))


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    context = {"flash": take_flash(request), "live": _live_enabled(request), **context}
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status)


def html(*parts: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse("".join(parts), status_code=status, headers=headers)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def flash(request: Request, text: str) -> None:
    request.scope.setdefault("session", {})["flash"] = text


def take_flash(request: Request) -> str | None:
    session = request.scope.get("session") or {}
    return session.pop("flash", None) if "flash" in session else None


def _live_enabled(request: Request) -> bool:
    """The live connection is offered once the app serves it."""
    return any(getattr(route, "path", None) == "/rooms/{slug}/live" for route in request.app.routes)


def _login_redirect(request: Request) -> Response:
    target = "/login?" + urlencode({"next": request.url.path + (f"?{request.url.query}" if request.url.query else "")})
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return see_other(target)


def _flash_error(request: Request, exc: AppError) -> Response:
    """An htmx request failed and no form owns the error: show it in the page's #flash."""
    body = render_to_string(request, "rooms/_flash.html", {"flash": exc.message})
    headers = {"HX-Retarget": "#flash", "HX-Reswap": "outerHTML", **exc.headers}
    return html(body, status=exc.status, headers=headers)


def room_view(handler: Handler) -> Handler:
    """Signed-out visitors go to sign-in; htmx requests get their unhandled errors in #flash."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except NotSignedIn:
            return _login_redirect(request)
        except AppError as exc:
            if is_htmx(request):
                return _flash_error(request, exc)
            raise

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


def _slug(request: Request) -> str:
    return request.path_params["slug"]


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 18 else None


def _path_id(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if not raw.isdigit() or len(raw) > 17:
        raise NotFound("Not found")
    return int(raw)


def _room_url(slug: str, anchor: str = "") -> str:
    return f"/rooms/{quote(slug)}" + (f"#{anchor}" if anchor else "")


def _idea_url(slug: str, idea_id: int, anchor: str = "") -> str:
    return f"/rooms/{quote(slug)}/ideas/{idea_id}" + (f"#{anchor}" if anchor else "")


def _back(request: Request, fallback: str, anchor: str) -> str:
    """Where a plain form post returns: the same-site page it came from, else ``fallback``."""
    referer = request.headers.get("referer", "")
    parts = urlsplit(referer)
    if parts.netloc and f"{parts.scheme}://{parts.netloc}" != _resources(request).settings.public_origin:
        return fallback
    if not parts.path.startswith("/rooms/"):
        return fallback
    return parts.path + (f"?{parts.query}" if parts.query else "") + f"#{anchor}"


async def _check_idea(request: Request, user: User, slug: str, idea_id: int) -> None:
    """The idea exists, is visible to the caller and belongs to this room (else 404)."""
    async with _resources(request).db() as db:
        access, _ = await idea_in_room(db, user, idea_id)
        if access.room.slug != slug:
            raise NotFound("No such idea.")


async def _check_message(request: Request, user: User, slug: str, message_id: int) -> None:
    async with _resources(request).db() as db:
        access, _ = await message_in_room(db, user, message_id)
        if access.room.slug != slug:
            raise NotFound("No such message.")


# The directory and new rooms ------------------------------------------------------------------


@room_view
async def directory(request: Request) -> Response:
    user = _user(request)
    if user.is_guest:
        raise NotFound("Not found")
    query = request.query_params.get("q", "").strip()[:100]
    phase = request.query_params.get("phase") or None
    if phase not in PHASES:
        phase = None
    async with _resources(request).db() as db:
        rooms = await pages.directory(db, user, query=query, phase=phase)
    context = {"rooms": rooms, "query": query, "phase": phase}
    if is_htmx(request):
        return html(render_to_string(request, "rooms/_directory_results.html", context))
    return page(request, "rooms/directory.html", context)


def _require_creator(user: User) -> None:
    if not user.can_create_rooms:
        raise NotFound("Not found")


def room_form_input(data: Input) -> Input:
    """Adapt the HTML form to the service's input: unticked boxes are explicit ``false``;
    datetime-local values get the browser's offset (sent by room.js), or UTC without it."""
    values = dict(data)
    for flag in ROOM_FLAGS:
        values[flag] = "true" if values.get(flag) in ("true", "on") else "false"
    offset = values.pop("tz_offset", "")
    suffix = offset if isinstance(offset, str) and TZ_OFFSET.match(offset) else "+00:00"
    for name in SCHEDULE:
        raw = values.get(name)
        if isinstance(raw, str) and LOCAL_DATETIME.match(raw.strip()):
            values[name] = raw.strip() + suffix
    values.pop("csrf_token", None)
    return values


@room_view
async def new_room_page(request: Request) -> Response:
    user = _user(request)
    _require_creator(user)
    form = Form(values={"visibility": "employees", "voting_mode": "updown", "votes_in_open": "true", "phase": "draft"})
    return page(request, "rooms/new.html", {"form": form})


@room_view
async def new_room_submit(request: Request) -> Response:
    user = _user(request)
    _require_creator(user)
    data = await read_input(request)
    try:
        room = await create_room(_resources(request), user, room_form_input(data))
    except (NotFound, NotSignedIn):
        raise
    except AppError as exc:
        form = Form.failed(data, exc, ROOM_FIELDS)
        if is_htmx(request):
            context = {"form": form, "action": "/rooms/new", "creating": True}
            return html(render_to_string(request, "rooms/_room_form.html", context), status=exc.status)
        return page(request, "rooms/new.html", {"form": form}, status=exc.status)
    flash(request, "Challenge created. Open it when the brief is ready." if room.phase == "draft"
          else "Challenge created and open.")
    url = _room_url(room.slug)
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return see_other(url)


# Room settings ----------------------------------------------------------------------------------


def _settings_values(room: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {k: room.get(k) for k in ("title", "brief", "cover_url", "visibility")}
    voting = room["voting"]
    values.update(voting_mode=voting["mode"], budget=voting.get("budget"), max_per_idea=voting.get("max_per_idea"),
                  votes_in_open=voting["votes_in_open"], hide_tallies_until_closed=voting["hide_tallies_until_closed"],
                  allow_anonymous=voting["allow_anonymous"])
    for name in SCHEDULE:
        at = room["schedule"].get(name)
        values[name] = at[:16] if at else ""
        values[f"{name}_utc"] = at or ""
    return values


async def _settings_context(request: Request, user: User, slug: str) -> dict[str, Any]:
    async with _resources(request).db() as db:
        access, context = await pages.room_base(db, user, slug)
    if not access.can_moderate:
        raise Forbidden("Only this room's moderators may change its settings.")
    return context


@room_view
async def settings_page(request: Request) -> Response:
    user = _user(request)
    context = await _settings_context(request, user, _slug(request))
    return page(request, "rooms/settings.html", {**context, "form": Form(values=_settings_values(context["room"]))})


@room_view
async def settings_submit(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    context = await _settings_context(request, user, slug)
    data = await read_input(request)
    values = room_form_input(data)
    values.pop("slug", None)
    values.pop("phase", None)
    action = f"/rooms/{slug}/settings"
    try:
        await update_room(_resources(request), user, slug, values)
    except (NotFound, NotSignedIn):
        raise
    except AppError as exc:
        form = Form.failed(data, exc, ROOM_FIELDS)
        if is_htmx(request):
            return html(render_to_string(request, "rooms/_room_form.html",
                                         {"form": form, "action": action, "creating": False}), status=exc.status)
        return page(request, "rooms/settings.html", {**context, "form": form}, status=exc.status)
    if is_htmx(request):
        context = await _settings_context(request, user, slug)
        form = Form(values=_settings_values(context["room"]), ok=True)
        return html(render_to_string(request, "rooms/_room_form.html", {"form": form, "action": action, "creating": False}))
    flash(request, "Settings saved.")
    return see_other(_room_url(slug))


# The room page ----------------------------------------------------------------------------------


def _sort(request: Request) -> str:
    sort = request.query_params.get("sort", "top")
    return sort if sort in IDEA_SORTS else "top"


def _room_forms(**forms: Form) -> dict[str, Form]:
    return {"composer_form": forms.get("composer_form", Form()), "idea_form": forms.get("idea_form", Form())}


async def render_room(request: Request, user: User, slug: str, *, status: int = 200, **forms: Form) -> Response:
    async with _resources(request).db() as db:
        context = await pages.room_page(
            db, user, slug, sort=_sort(request), cursor=request.query_params.get("cursor") or None,
            before=_int_param(request, "before"), reply_to=_int_param(request, "reply_to"))
    return page(request, "rooms/room.html", {**context, **_room_forms(**forms)}, status=status)


@room_view
async def room_page(request: Request) -> Response:
    return await render_room(request, _user(request), _slug(request))


@room_view
async def join(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    await join_room(_resources(request), user, slug)
    flash(request, "Welcome! You can now post, submit ideas and vote.")
    return see_other(_room_url(slug))


@room_view
async def leave(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    await leave_room(_resources(request), user, slug)
    flash(request, "You left the challenge.")
    return see_other("/" if user.is_guest else "/rooms")


@room_view
async def phase_submit(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    data = await read_input(request)
    target = data.get("phase")
    try:
        await change_phase(_resources(request), user, slug, target if isinstance(target, str) else None)  # type: ignore[arg-type]
    except (NotFound, NotSignedIn):
        raise
    except AppError as exc:
        if not is_htmx(request):
            raise
        async with _resources(request).db() as db:
            _, context = await pages.room_base(db, user, slug)
        form = Form(message=exc.message)
        return html(render_to_string(request, "rooms/_phase_controls.html", {**context, "form": form}), status=exc.status)
    async with _resources(request).db() as db:
        _, context = await pages.room_base(db, user, slug)
    message = f"The room is now in phase “{context['room']['phase']}”."
    if not is_htmx(request):
        flash(request, message)
        return see_other(_room_url(slug, "phase-banner"))
    return html(
        render_to_string(request, "rooms/_phase_controls.html", {**context, "form": Form(message=message, ok=True)}),
        partial("#phase-banner", "outerHTML", render_to_string(request, "rooms/_phase_banner.html", context)),
    )


# Messages ---------------------------------------------------------------------------------------


async def _message_dict(request: Request, user: User, message_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(message as the caller sees it, the room context) after a write."""
    async with _resources(request).db() as db:
        access, message = await message_in_room(db, user, message_id)
        author = await db.get(User, message.author_id) if message.author_id else None
        _, context = await pages.room_base(db, user, access.room.slug)
        data = message_json(message, access.room, author, viewer_for(access))
        context["parents"] = await pages.parent_names(db, access, [data])
    return data, context


def _composer(request: Request, idea_id: int | None, form: Form, context: dict[str, Any]) -> str:
    key = f"idea-{idea_id}" if idea_id else "room"
    return render_to_string(request, "rooms/_composer.html",
                            {**context, "form": form, "thread_key": key, "idea_id": idea_id, "reply": None})


@room_view
async def message_submit(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    data = await read_input(request)
    raw_idea = data.get("idea_id")
    idea_id = int(raw_idea) if isinstance(raw_idea, str) and raw_idea.isdigit() and len(raw_idea) < 18 else None
    try:
        message = await post_message(_resources(request), user, slug, data)
    except (NotFound, NotSignedIn):
        raise
    except AppError as exc:
        form = Form.failed(data, exc, ("body", "reply_to"))
        if is_htmx(request):
            async with _resources(request).db() as db:
                _, context = await pages.room_base(db, user, slug)
            return html(_composer(request, idea_id, form, context), status=exc.status, headers=exc.headers)
        if idea_id is not None:
            response = await render_idea(request, user, slug, idea_id, status=exc.status, composer_form=form)
        else:
            response = await render_room(request, user, slug, status=exc.status, composer_form=form)
        response.headers.update(exc.headers)  # Retry-After on a 429
        return response
    anchor = f"message-{message.id}"
    if not is_htmx(request):
        return see_other(_idea_url(slug, idea_id, anchor) if idea_id else _room_url(slug, anchor))
    data_out, context = await _message_dict(request, user, message.id)
    key = f"idea-{idea_id}" if idea_id else "room"
    return html(
        _composer(request, idea_id, Form(), context),
        partial(f"#thread-{key}", "beforeend", render_to_string(request, "rooms/_message.html", {**context, "m": data_out})),
        partial(f"#empty-{key}", "delete", ""),
    )


@room_view
async def older_messages(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    idea_id = _int_param(request, "idea")
    before = _int_param(request, "before")
    if not is_htmx(request):
        query = f"?before={before}" if before else ""
        return see_other((_idea_url(slug, idea_id) if idea_id else _room_url(slug)) + query
                         + f"#thread-{'idea-' + str(idea_id) if idea_id else 'room'}")
    async with _resources(request).db() as db:
        access, context = await pages.room_base(db, user, slug)
        if idea_id is not None:
            _, idea = await idea_in_room(db, user, idea_id)
            if idea.room_id != access.room.id:
                raise NotFound("No such idea.")
        context.update(await pages.thread_context(db, access, idea_id, before))
    return html(render_to_string(request, "rooms/_older_page.html", context))


@room_view
async def message_fragment(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    message_id = _path_id(request, "message_id")
    await _check_message(request, user, slug, message_id)
    data, context = await _message_dict(request, user, message_id)
    if not is_htmx(request):
        return see_other((_idea_url(slug, data["idea_id"]) if data["idea_id"] else _room_url(slug))
                         + f"#message-{message_id}")
    return html(render_to_string(request, "rooms/_message.html", {**context, "m": data}))


def _edit_message_response(request: Request, data: dict[str, Any], context: dict[str, Any], form: Form,
                           status: int = 200) -> Response:
    values = {**context, "m": data, "form": form}
    if is_htmx(request):
        return html(render_to_string(request, "rooms/_message_edit.html", values), status=status)
    return page(request, "rooms/message_edit.html", values, status=status)


@room_view
async def message_edit_page(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    message_id = _path_id(request, "message_id")
    await _check_message(request, user, slug, message_id)
    data, context = await _message_dict(request, user, message_id)
    if not data["author"] or data["author"]["id"] != user.id:
        raise Forbidden("Only the author may edit a message.")
    return _edit_message_response(request, data, context, Form())


@room_view
async def message_edit_submit(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    message_id = _path_id(request, "message_id")
    await _check_message(request, user, slug, message_id)
    data = await read_input(request)
    try:
        await edit_message(_resources(request), user, message_id, data)
    except (NotFound, NotSignedIn):
        raise
    except AppError as exc:
        message, context = await _message_dict(request, user, message_id)
        return _edit_message_response(request, message, context, Form.failed(data, exc, ("body",)), exc.status)
    message, context = await _message_dict(request, user, message_id)
    if not is_htmx(request):
        return see_other((_idea_url(slug, message["idea_id"]) if message["idea_id"] else _room_url(slug))
                         + f"#message-{message_id}")
    return html(render_to_string(request, "rooms/_message.html", {**context, "m": message}))


@room_view
async def message_delete(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    message_id = _path_id(request, "message_id")
    await _check_message(request, user, slug, message_id)
    await delete_message(_resources(request), user, message_id)
    message, context = await _message_dict(request, user, message_id)
    if not is_htmx(request):
        return see_other((_idea_url(slug, message["idea_id"]) if message["idea_id"] else _room_url(slug))
                         + f"#message-{message_id}")
    return html(render_to_string(request, "rooms/_message.html", {**context, "m": message}))


# Ideas ------------------------------------------------------------------------------------------


@room_view
async def ideas_list(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    sort = _sort(request)
    cursor = request.query_params.get("cursor") or None
    if not is_htmx(request):
        query = urlencode({"sort": sort, **({"cursor": cursor} if cursor else {})})
        return see_other(f"{_room_url(slug)}?{query}#ideas-board")
    async with _resources(request).db() as db:
        access, context = await pages.room_base(db, user, slug)
        context.update(await pages.ideas_context(db, access, sort, cursor))
    name = "rooms/_ideas_page.html" if cursor else "rooms/_ideas_results.html"
    return html(render_to_string(request, name, context))


@room_view
async def similar(request: Request) -> Response:
    user = _user(request)
    title = request.query_params.get("title", "")
    async with _resources(request).db() as db:
        access = await room_access(db, user, _slug(request))
        found = await similar_ideas(db, access.room.id, title, limit=5)
        items = await ideas_json(db, access, found)
    room = {"slug": access.room.slug}
    return html(render_to_string(request, "rooms/_similar.html", {"similar": items, "room": room}))


@room_view
async def idea_submit(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    data = await read_input(request)
    try:
        idea = await submit_idea(_resources(request), user, slug, data)
    except (NotFound, NotSignedIn):
        raise
    except AppError as exc:
        form = Form.failed(data, exc, ("title", "body", "anonymous"))
        if not is_htmx(request):
            response = await render_room(request, user, slug, status=exc.status, idea_form=form)
            response.headers.update(exc.headers)  # Retry-After on a 429
            return response
        async with _resources(request).db() as db:
            _, context = await pages.room_base(db, user, slug)
        return html(render_to_string(request, "rooms/_idea_form.html", {**context, "form": form}), status=exc.status,
                    headers=exc.headers)
    if not is_htmx(request):
        flash(request, "Your idea is in. Others can now discuss and vote on it.")
        return see_other(_idea_url(slug, idea.id))
    async with _resources(request).db() as db:
        access, context = await pages.room_base(db, user, slug)
        _, row = await idea_in_room(db, user, idea.id)
        card = (await ideas_json(db, access, [row]))[0]
    return html(
        render_to_string(request, "rooms/_idea_form.html", {**context, "form": Form()}),
        partial("#ideas-list", "afterbegin", render_to_string(request, "rooms/_idea_card.html", {**context, "idea": card})),
        partial("#ideas-empty", "delete", ""),
        partial("#flash", "outerHTML", render_to_string(request, "rooms/_flash.html", {
            "flash": f"Your idea “{card['title']}” is in."})),
    )


def _idea_forms(**forms: Form) -> dict[str, Form]:
    names = ("composer_form", "edit_form", "status_form", "merge_form")
    return {name: forms.get(name, Form()) for name in names}


async def render_idea(request: Request, user: User, slug: str, idea_id: int, *, status: int = 200,
                      **forms: Form) -> Response:
    async with _resources(request).db() as db:
        context = await pages.idea_page(db, user, slug, idea_id, before=_int_param(request, "before"),
                                        reply_to=_int_param(request, "reply_to"))
    return page(request, "rooms/idea.html", {**context, **_idea_forms(**forms)}, status=status)


@room_view
async def idea_page(request: Request) -> Response:
    return await render_idea(request, _user(request), _slug(request), _path_id(request, "idea_id"))


async def _idea_context(request: Request, user: User, slug: str, idea_id: int) -> dict[str, Any]:
    async with _resources(request).db() as db:
        return await pages.idea_page(db, user, slug, idea_id)


def _idea_action(form_name: str, template: str, service: Callable[..., Awaitable[Any]],
                 fields: tuple[str, ...], done: str) -> Handler:
    """A moderator/author form on the idea page: edit, status, merge."""

    @room_view
    async def handler(request: Request) -> Response:
        user = _user(request)
        slug = _slug(request)
        idea_id = _path_id(request, "idea_id")
        await _check_idea(request, user, slug, idea_id)
        data = await read_input(request)
        try:
            await service(_resources(request), user, idea_id, data)
        except (NotFound, NotSignedIn):
            raise
        except AppError as exc:
            form = Form.failed(data, exc, fields)
            if not is_htmx(request):
                return await render_idea(request, user, slug, idea_id, status=exc.status, **{form_name: form})
            context = await _idea_context(request, user, slug, idea_id)
            return html(render_to_string(request, template, {**context, "form": form}), status=exc.status)
        if not is_htmx(request):
            flash(request, done)
            return see_other(_idea_url(slug, idea_id))
        if form_name == "merge_form":
            # The page changes shape (no composer, no controls): load it again.
            flash(request, done)
            return Response(status_code=204, headers={"HX-Redirect": _idea_url(slug, idea_id)})
        context = await _idea_context(request, user, slug, idea_id)
        return html(
            render_to_string(request, template, {**context, "form": Form(ok=True)}),
            partial(f"#idea-detail-{idea_id}", "outerHTML", render_to_string(request, "rooms/_idea_detail.html", context)),
        )

    handler.__name__ = form_name
    return handler


idea_edit_submit = _idea_action("edit_form", "rooms/_idea_edit_form.html", edit_idea, ("title", "body"),
                                "Your idea is updated.")
idea_status_submit = _idea_action("status_form", "rooms/_idea_status_form.html", set_idea_status,
                                  ("status", "reason"), "Status saved.")
idea_merge_submit = _idea_action("merge_form", "rooms/_idea_merge_form.html", merge_ideas, ("into", "reason"),
                                 "Merged: the votes and the discussion moved to the other idea.")


async def _vote_context(request: Request, user: User, slug: str, idea_id: int) -> dict[str, Any]:
    async with _resources(request).db() as db:
        access, context = await pages.room_base(db, user, slug)
        _, row = await idea_in_room(db, user, idea_id)
        if row.room_id != access.room.id:
            raise NotFound("No such idea.")
        context["idea"] = (await ideas_json(db, access, [row]))[0]
    return context


@room_view
async def vote_controls(request: Request) -> Response:
    """The vote buttons of one idea for the caller (live fragments load them this way)."""
    user = _user(request)
    slug = _slug(request)
    idea_id = _path_id(request, "idea_id")
    if not is_htmx(request):
        await _check_idea(request, user, slug, idea_id)
        return see_other(_idea_url(slug, idea_id))
    context = await _vote_context(request, user, slug, idea_id)
    return html(*_vote_parts(request, context))


@room_view
async def vote_submit(request: Request) -> Response:
    user = _user(request)
    slug = _slug(request)
    idea_id = _path_id(request, "idea_id")
    await _check_idea(request, user, slug, idea_id)
    data = await read_input(request)
    value = data.get("value")
    try:
        if value in ("0", 0):
            await retract_vote(_resources(request), user, idea_id)
        elif value is None or value == "":
            raise Invalid.field("value", "choose a vote")
        else:
            await cast_vote(_resources(request), user, idea_id, value)
    except (NotFound, NotSignedIn):
        raise
    except AppError as exc:
        if not is_htmx(request):
            raise
        context = await _vote_context(request, user, slug, idea_id)
        return html(render_to_string(request, "rooms/_votes.html", {**context, "vote_error": exc.message}),
                    status=exc.status, headers=exc.headers)
    if not is_htmx(request):
        return see_other(_back(request, _idea_url(slug, idea_id), f"idea-{idea_id}"))
    context = await _vote_context(request, user, slug, idea_id)
    idea = context["idea"]
    tally = partial(f"#tally-{idea_id}", "outerHTML",
                    render_to_string(request, "rooms/_tally.html", {"idea_id": idea_id, "tally": idea["tally"]}))
    return html(*_vote_parts(request, context), tally)


def _vote_parts(request: Request, context: dict[str, Any]) -> list[str]:
    """The caller's vote controls for one idea, and in budget rooms their dots left."""
    parts = [render_to_string(request, "rooms/_votes.html", context)]
    if context["room"]["voting"]["mode"] == "budget":
        parts.append(partial("#budget-left", "outerHTML", render_to_string(request, "rooms/_budget.html", context)))
    return parts


# Members ----------------------------------------------------------------------------------------


@room_view
async def member_page(request: Request) -> Response:
    """A member's card in this room (where @mentions link): who they are and their ideas."""
    user = _user(request)
    slug = _slug(request)
    member_id = _path_id(request, "user_id")
    async with _resources(request).db() as db:
        access, context = await pages.room_base(db, user, slug)
        row = (await db.execute(
            select(Membership, User).join(User, User.id == Membership.user_id)
            .where(Membership.room_id == access.room.id, Membership.user_id == member_id, Membership.state == "active")
        )).first()
        if row is None:
            raise NotFound("No such member.")
        ideas = list((await db.execute(
            select(Idea).where(Idea.room_id == access.room.id, Idea.author_id == member_id, Idea.state == "visible",
                               Idea.anonymous.is_(False)).order_by(Idea.id.desc()).limit(50)
        )).scalars())
        items = await ideas_json(db, access, ideas)
    return page(request, "rooms/member.html", {**context, "member": member_json(row[0], row[1]), "ideas": items})


routes = [
    Route("/rooms", directory, methods=["GET"]),
    Route("/rooms/new", new_room_page, methods=["GET"]),
    Route("/rooms/new", new_room_submit, methods=["POST"]),
    Route("/rooms/{slug}", room_page, methods=["GET"]),
    Route("/rooms/{slug}/settings", settings_page, methods=["GET"]),
    Route("/rooms/{slug}/settings", settings_submit, methods=["POST"]),
    Route("/rooms/{slug}/join", join, methods=["POST"]),
    Route("/rooms/{slug}/leave", leave, methods=["POST"]),
    Route("/rooms/{slug}/phase", phase_submit, methods=["POST"]),
    Route("/rooms/{slug}/members/{user_id}", member_page, methods=["GET"]),
    Route("/rooms/{slug}/messages", older_messages, methods=["GET"]),
    Route("/rooms/{slug}/messages", message_submit, methods=["POST"]),
    Route("/rooms/{slug}/messages/{message_id}", message_fragment, methods=["GET"]),
    Route("/rooms/{slug}/messages/{message_id}/edit", message_edit_page, methods=["GET"]),
    Route("/rooms/{slug}/messages/{message_id}/edit", message_edit_submit, methods=["POST"]),
    Route("/rooms/{slug}/messages/{message_id}/delete", message_delete, methods=["POST"]),
    Route("/rooms/{slug}/ideas", ideas_list, methods=["GET"]),
    Route("/rooms/{slug}/ideas", idea_submit, methods=["POST"]),
    Route("/rooms/{slug}/ideas/similar", similar, methods=["GET"]),
    Route("/rooms/{slug}/ideas/{idea_id}", idea_page, methods=["GET"]),
    Route("/rooms/{slug}/ideas/{idea_id}/edit", idea_edit_submit, methods=["POST"]),
    Route("/rooms/{slug}/ideas/{idea_id}/status", idea_status_submit, methods=["POST"]),
    Route("/rooms/{slug}/ideas/{idea_id}/merge", idea_merge_submit, methods=["POST"]),
    Route("/rooms/{slug}/ideas/{idea_id}/vote", vote_controls, methods=["GET"]),
    Route("/rooms/{slug}/ideas/{idea_id}/vote", vote_submit, methods=["POST"]),
]
