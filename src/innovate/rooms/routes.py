"""The room pages: the directory, a new challenge, a room's page and its settings, joining,
leaving and moving the phase, and a member's card. Ideas have rooms/ideas/routes.py, the
discussion rooms/discussion/routes.py; how a form answers is said in innovate/web.py."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.accounts.models import User
from innovate.errors import AppError, Forbidden, NotFound
from innovate.i18n import gettext as _
from innovate.inputs import Input, read_input
from innovate.rooms import pages
from innovate.rooms.access import room_access
from innovate.rooms.context import room_base, room_context
from innovate.rooms.ideas.pages import idea_sort
from innovate.rooms.models import PHASES
from innovate.rooms.rules import phase_label
from innovate.rooms.service import create_room, join_room, leave_room, update_room
from innovate.rooms.urls import room_url
from innovate.web import (
    Form,
    flash,
    form_post,
    html,
    is_htmx,
    page,
    partial,
    posted_forms,
    query_id,
    redirect,
    render_to_string,
    reply,
    resources,
    see_other,
    view,
)

ROOM_FIELDS = ("slug", "title", "brief", "cover_url", "visibility", "voting_mode", "budget", "max_per_idea",
               "votes_in_open", "hide_tallies_until_closed", "allow_anonymous", "opens_at", "voting_at", "closes_at",
               "archives_at", "phase", "grown_from", "ideas_board")
ROOM_FLAGS = ("votes_in_open", "hide_tallies_until_closed", "allow_anonymous")
COMMUNITY_FLAGS = ("ideas_board",)
LOCAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
TZ_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")


# The directory and new rooms ------------------------------------------------------------------


@view
async def directory(request: Request) -> Response:
    user = require_user(request)
    if user.is_guest:  # guests see only their own rooms: the directory is theirs alone
        async with resources(request).db() as db:
            mine = await pages.directory(db, user, mine=True)
        return page(request, "rooms/mine.html", {"rooms": mine})
    query = request.query_params.get("q", "").strip()[:100]
    phase = request.query_params.get("phase") or None
    if phase not in PHASES:
        phase = None
    async with resources(request).db() as db:
        rooms = await pages.directory(db, user, query=query, phase=phase)
    context = {"rooms": rooms, "query": query, "phase": phase}
    return await reply(request, lambda: render_to_string(request, "rooms/_directory_results.html", context),
                       lambda: page(request, "rooms/directory.html", context))


def _creator(request: Request) -> User:
    user = require_user(request)
    if not user.can_create_rooms:
        raise NotFound(_("Not found"))
    return user


def room_form_input(data: Input) -> Input:
    """Adapt the HTML form to the service's input: unticked boxes are explicit ``false``;
    datetime-local values get the browser's offset (sent by room.js), or UTC without it."""
    values = dict(data)
    community = values.pop("kind", None) == "community"
    for flag in ROOM_FLAGS + (COMMUNITY_FLAGS if community else ()):
        values[flag] = "true" if values.get(flag) in ("true", "on") else "false"
    offset = values.pop("tz_offset", "")
    suffix = offset if isinstance(offset, str) and TZ_OFFSET.match(offset) else "+00:00"
    for name in pages.SCHEDULE:
        if community:
            values.pop(name, None)
        raw = values.get(name)
        if isinstance(raw, str) and LOCAL_DATETIME.match(raw.strip()):
            values[name] = raw.strip() + suffix
    values.pop("csrf_token", None)
    return values


@view
async def new_room_page(request: Request) -> Response:
    """The new challenge form; ``?from=SLUG`` pre-fills it from a community the challenge grows
    out of. Employees who may not create challenges are offered what they may: a community."""
    user = require_user(request)
    if not user.can_create_rooms and not user.is_guest:
        return see_other("/communities/new")
    user = _creator(request)
    values = {"visibility": "employees", "voting_mode": "updown", "votes_in_open": "true", "phase": "draft"}
    source = request.query_params.get("from")
    if source:
        async with resources(request).db() as db:
            community = (await room_access(db, user, source)).room
        if community.kind == "community":
            values.update(title=community.title, brief=community.brief, grown_from=community.slug)
    return page(request, "rooms/new.html", {"form": Form(values=values)})


@view
async def new_room_submit(request: Request) -> Response:
    user = _creator(request)
    data = await read_input(request)

    async def refused(form: Form, exc: AppError) -> Response:
        context = {"form": form, "action": "/rooms/new", "creating": True}
        return await reply(request, lambda: render_to_string(request, "rooms/_room_form.html", context),
                           lambda: page(request, "rooms/new.html", {"form": form}))

    room = await form_post(data, create_room(resources(request), user, room_form_input(data)), ROOM_FIELDS, refused)
    flash(request, _("Challenge created. Open it when the brief is ready.") if room.phase == "draft"
          else _("Challenge created and open."))
    return redirect(request, room_url(room.slug))


# Room settings ----------------------------------------------------------------------------------


@view
async def settings_page(request: Request) -> Response:
    async with resources(request).db() as db:
        access, context = await room_base(db, require_user(request), request.path_params["slug"])
    if not access.can_moderate:
        raise Forbidden(_("Only this room's moderators may change its settings."))
    return page(request, "rooms/settings.html", {**context, "form": Form(values=pages.settings_values(context["room"]))})


@view
async def settings_submit(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    data = await read_input(request)
    values = room_form_input(data)
    values.pop("slug", None)
    values.pop("phase", None)
    action = f"/rooms/{slug}/settings"

    def form_part(form: Form) -> str:
        return render_to_string(request, "rooms/_room_form.html", {"form": form, "action": action, "creating": False})

    async def refused(form: Form, exc: AppError) -> Response:
        async with resources(request).db() as db:
            _room, context = await room_base(db, user, slug)
        return await reply(request, lambda: form_part(form),
                           lambda: page(request, "rooms/settings.html", {**context, "form": form}))

    # Refusals of the caller (not a moderator) are not the form's: the page would show it.
    access = await form_post(data, update_room(resources(request), user, slug, values), ROOM_FIELDS, refused,
                             raises=(Forbidden,))
    room = room_context(access)["room"]
    return await reply(request, lambda: form_part(Form(values=pages.settings_values(room), ok=True)),
                       room_url(slug), done=_("Settings saved."))


# The room page, joining, leaving, the phase -----------------------------------------------------


@view
async def room_page(request: Request) -> Response:
    """The room: brief, ideas board, discussion, members; with the composer and the idea form
    as a refused plain post left them."""
    user, slug = require_user(request), request.path_params["slug"]
    async with resources(request).db() as db:
        try:
            context = await pages.room_page(
                db, user, slug, sort=idea_sort(request.query_params.get("sort")),
                cursor=request.query_params.get("cursor") or None, before=query_id(request, "before"),
                reply_to=query_id(request, "reply_to"))
        except NotFound:
            # A link to a community one may ask to join (shared, or in a notification) leads
            # to what one may see of it.
            if await pages.asks_to_join(db, user, slug):
                return see_other(f"/communities/{slug}")
            raise
    forms = {"composer_form": Form(), "idea_form": Form(), **posted_forms(request)}
    return page(request, "rooms/room.html", {**context, **forms})


@view
async def join(request: Request) -> Response:
    slug = request.path_params["slug"]
    await join_room(resources(request), require_user(request), slug)
    flash(request, _("Welcome! You can now post, submit ideas and vote."))
    return see_other(room_url(slug))


@view
async def leave_page(request: Request) -> Response:
    """Leaving is asked first, on a page of its own (it works without JavaScript): a guest's
    invite is spent, so they would need a new one to come back."""
    slug = request.path_params["slug"]
    async with resources(request).db() as db:
        _room, context = await room_base(db, require_user(request), slug)
    if not context["standing"].member:
        return see_other(room_url(slug))
    return page(request, "rooms/leave.html", context)


@view
async def leave(request: Request) -> Response:
    """Leave, once the confirmation page's form said so; any other post shows that page."""
    user = require_user(request)
    data = await read_input(request)
    if data.get("confirm") != "yes":
        return await leave_page(request)
    await leave_room(resources(request), user, request.path_params["slug"])
    flash(request, _("You left the challenge."))
    return see_other("/" if user.is_guest else "/rooms")


@view
async def phase_submit(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    data = await read_input(request)
    target = data.get("phase")

    async def refused(form: Form, exc: AppError) -> Response:
        if not is_htmx(request):
            raise exc  # a plain page has no phase form to show it in: the error page does
        async with resources(request).db() as db:
            _room, context = await room_base(db, user, slug)
        return html(render_to_string(request, "rooms/_phase_controls.html", {**context, "form": form}))

    access = await form_post(data, update_room(resources(request), user, slug, {"phase": target}), (), refused)
    context = room_context(access)
    done = _("The room is now in phase “%(phase)s”.", phase=phase_label(context["room"]["phase"]))
    return await reply(request, lambda: [
        render_to_string(request, "rooms/_phase_controls.html", {**context, "form": Form(message=done, ok=True)}),
        partial("#phase-banner", "outerHTML", render_to_string(request, "rooms/_phase_banner.html", context)),
    ], room_url(slug, "phase-banner"), done=done)


# Members ----------------------------------------------------------------------------------------


@view
async def member_page(request: Request) -> Response:
    """A member's card in this room (where @mentions link): who they are and their ideas."""
    async with resources(request).db() as db:
        context = await pages.member_card(db, require_user(request), request.path_params["slug"],
                                          request.path_params["user_id"])
    return page(request, "rooms/member.html", context)


routes = [
    Route("/rooms", directory, methods=["GET"]),
    Route("/rooms/new", new_room_page, methods=["GET"]),
    Route("/rooms/new", new_room_submit, methods=["POST"]),
    Route("/rooms/{slug}", room_page, methods=["GET"]),
    Route("/rooms/{slug}/settings", settings_page, methods=["GET"]),
    Route("/rooms/{slug}/settings", settings_submit, methods=["POST"]),
    Route("/rooms/{slug}/join", join, methods=["POST"]),
    Route("/rooms/{slug}/leave", leave_page, methods=["GET"]),
    Route("/rooms/{slug}/leave", leave, methods=["POST"]),
    Route("/rooms/{slug}/phase", phase_submit, methods=["POST"]),
    Route("/rooms/{slug}/members/{user_id:id}", member_page, methods=["GET"]),
]
