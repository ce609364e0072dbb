"""The community pages: the directory (search, tags, one-click join and leave), starting a
community, and the administrators' list (hand-over, archive, the ones without an owner)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_admin, require_user
from innovate.accounts.models import User
from innovate.communities import queries, requests, service
from innovate.communities.requests import about_url
from innovate.errors import AppError, Forbidden, NotFound
from innovate.i18n import gettext as _
from innovate.inputs import Input, read_input
from innovate.insights.interests import all_tags
from innovate.rooms.context import room_context
from innovate.rooms.service import join_room, leave_room
from innovate.rooms.urls import room_url
from innovate.web import (
    Form,
    back,
    flash,
    form_post,
    html,
    is_htmx,
    page,
    redirect,
    render_to_string,
    reply,
    resources,
    see_other,
    view,
)

FORM_FIELDS = ("slug", "title", "brief", "visibility", "ideas_board", "tags")


def _employee(request: Request) -> User:
    user = require_user(request)
    if user.is_guest:
        raise NotFound()  # guests have no directory: they see the rooms they were invited to
    return user


@view
async def directory_page(request: Request) -> Response:
    user = _employee(request)
    query = request.query_params.get("q", "").strip()[:100]
    tag = request.query_params.get("tag") or None
    async with resources(request).db() as db:
        cards = await queries.directory(db, user, resources(request).settings, query=query, tag=tag)
        tags = [t for t in await all_tags(db, user) if t.rooms]
    context = {"cards": cards, "query": query, "tag": tag, "tags": tags, "form": Form()}
    return await reply(request, lambda: render_to_string(request, "communities/_results.html", context),
                       lambda: page(request, "communities/directory.html", context))


async def _card_reply(request: Request, user: User, slug: str, done: str) -> Response:
    async with resources(request).db() as db:
        cards = await queries.directory(db, user, resources(request).settings, slug=slug)
    if not cards:
        return redirect(request, "/communities")
    return await reply(request, lambda: render_to_string(request, "communities/_card.html",
                                                         {"card": cards[0], "form": Form()}),
                       "/communities", done=done)


# Joining by request -----------------------------------------------------------------------------


@view
async def about_page(request: Request) -> Response:
    """What an employee who is not a member may see of a community open by request: its name,
    description, tags, members and owners, and their request. Members go to the room."""
    user = _employee(request)
    slug = request.path_params["slug"]
    async with resources(request).db() as db:
        card = await queries.card(db, user, resources(request).settings, slug)
    if card.url != about_url(slug):
        return see_other(card.url or "/communities")
    return page(request, "communities/about.html", {"card": card, "form": Form()})


async def _request_reply(request: Request, user: User, slug: str, done: str, *, form: Form | None = None,
                         status: int = 200) -> Response:
    """The request controls, swapped where they were (a card or the about page); a plain post
    goes back to the page it came from."""
    async with resources(request).db() as db:
        card = await queries.card(db, user, resources(request).settings, slug)
    context = {"card": card, "form": form or Form()}
    if form is not None and not is_htmx(request):
        return page(request, "communities/about.html", context, status=status)
    return await reply(request, lambda: render_to_string(request, "communities/_request.html", context),
                       back(request, about_url(slug)), done=done, status=status)


@view
async def ask(request: Request) -> Response:
    user = _employee(request)
    slug = request.path_params["slug"]
    data = await read_input(request)

    async def refused(form: Form, exc: AppError) -> Response:
        return await _request_reply(request, user, slug, "", form=form, status=exc.status)

    await form_post(data, requests.ask_to_join(resources(request), user, slug, data), ("message",), refused,
                    raises=(NotFound,))
    return await _request_reply(request, user, slug, _("Your request is on its way to the owners."))


@view
async def request_part(request: Request) -> Response:
    """The request controls alone: what the page asks for when the owners answered."""
    user = _employee(request)
    async with resources(request).db() as db:
        card = await queries.card(db, user, resources(request).settings, request.path_params["slug"])
    return html(render_to_string(request, "communities/_request.html", {"card": card, "form": Form()}))


@view
async def withdraw(request: Request) -> Response:
    user = _employee(request)
    slug = request.path_params["slug"]
    await requests.withdraw_request(resources(request), user, slug)
    return await _request_reply(request, user, slug, _("You withdrew your request."))


@view
async def queue_page(request: Request) -> Response:
    async with resources(request).db() as db:
        access, queue = await queries.queue_for(db, require_user(request), request.path_params["slug"])
    return page(request, "communities/requests.html", {**room_context(access), "queue": queue, "forms": {}})


@view
async def queue_part(request: Request) -> Response:
    """The queue alone: what a live frame asks for when a request came, went or was answered."""
    async with resources(request).db() as db:
        access, queue = await queries.queue_for(db, require_user(request), request.path_params["slug"])
    return html(render_to_string(request, "communities/_queue.html", {**room_context(access), "queue": queue,
                                                                       "forms": {}}))


@view
async def count_part(request: Request) -> Response:
    """The number of pending requests, beside the link to the queue (moderators' tools)."""
    async with resources(request).db() as db:
        access, queue = await queries.queue_for(db, require_user(request), request.path_params["slug"])
    return html(render_to_string(request, "communities/_count.html", {"room": {"slug": access.room.slug},
                                                                       "pending": len(queue.pending)}))


@view
async def decide(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    request_id = request.path_params["request_id"]
    data = await read_input(request)
    decision = "approve" if request.url.path.endswith("/approve") else "decline"

    async def refused(form: Form, exc: AppError) -> Response:
        async with resources(request).db() as db:
            access, queue = await queries.queue_for(db, user, slug)
        context = {**room_context(access), "queue": queue, "forms": {request_id: form}}
        return await reply(request, lambda: render_to_string(request, "communities/_queue.html", context),
                           lambda: page(request, "communities/requests.html", context, status=exc.status))

    decided = await form_post(data, requests.decide(resources(request), user, slug, request_id,
                                                    {**data, "decision": decision}), ("reason",), refused,
                              raises=(NotFound, Forbidden))
    async with resources(request).db() as db:
        access, queue = await queries.queue_for(db, user, slug)
    who = next((r.user["name"] for r in queue.answered if r.id == request_id), None)
    if decided.request.state == "approved":
        done = _("%(name)s is a member now.", name=who) if who else _("They are a member now.")
    else:
        done = _("You declined %(name)s's request.", name=who) if who else _("You declined the request.")
    context = {**room_context(access), "queue": queue, "forms": {}, "done": done}
    return await reply(request, lambda: render_to_string(request, "communities/_queue.html", context),
                       f"/rooms/{slug}/requests", done=done)


@view
async def join(request: Request) -> Response:
    user = _employee(request)
    slug = request.path_params["slug"]
    await join_room(resources(request), user, slug)
    return await _card_reply(request, user, slug, _("You joined the community."))


@view
async def leave(request: Request) -> Response:
    user = _employee(request)
    slug = request.path_params["slug"]
    await leave_room(resources(request), user, slug)
    return await _card_reply(request, user, slug, _("You left the community."))


def _form_input(data: Input) -> Input:
    values = {k: v for k, v in data.items() if k != "csrf_token"}
    values["kind"] = "community"
    values["ideas_board"] = "true" if data.get("ideas_board") in ("true", "on") else "false"
    return values


@view
async def new_page(request: Request) -> Response:
    _employee(request)
    form = Form(values={"visibility": "employees", "ideas_board": "true"})
    return page(request, "communities/new.html", {"form": form})


@view
async def new_submit(request: Request) -> Response:
    user = _employee(request)
    data = await read_input(request)

    async def refused(form: Form, exc: AppError) -> Response:
        return await reply(request, lambda: render_to_string(request, "communities/_form.html", {"form": form}),
                           lambda: page(request, "communities/new.html", {"form": form}))

    room = await form_post(data, service.create_community(resources(request), user, _form_input(data)), FORM_FIELDS,
                           refused)
    flash(request, _("Your community is open. Invite colleagues, or let them find it in the directory."))
    return redirect(request, room_url(room.slug))


@view
async def edit_page(request: Request) -> Response:
    slug = request.path_params["slug"]
    async with resources(request).db() as db:
        access, values = await queries.edit_form_values(db, require_user(request), slug)
    return page(request, "communities/edit.html", {**room_context(access), "form": Form(values=values)})


@view
async def edit_submit(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    data = await read_input(request)

    async def context(form: Form) -> dict[str, Any]:
        async with resources(request).db() as db:
            access, _values = await queries.edit_form_values(db, user, slug)
        return {**room_context(access), "form": form}

    async def refused(form: Form, exc: AppError) -> Response:
        shown = await context(form)
        return await reply(request, lambda: render_to_string(request, "communities/_form.html", shown),
                           lambda: page(request, "communities/edit.html", shown))

    await form_post(data, service.edit_community(resources(request), user, slug, _form_input(data)), FORM_FIELDS,
                    refused, raises=(Forbidden,))
    saved = await context(Form(ok=True))
    async with resources(request).db() as db:
        _access, values = await queries.edit_form_values(db, user, slug)
    saved["form"] = Form(values=values, ok=True)
    return await reply(request, lambda: render_to_string(request, "communities/_form.html", saved),
                       room_url(slug), done=_("Saved."))


@view
async def admin_page(request: Request) -> Response:
    admin = require_admin(request)
    async with resources(request).db() as db:
        cards = await queries.admin_list(db, admin)
    return page(request, "communities/admin.html", {"cards": cards, "forms": {}})


@view
async def admin_owner(request: Request) -> Response:
    admin = require_admin(request)
    slug = request.path_params["slug"]
    data = await read_input(request)

    async def refused(form: Form, exc: AppError) -> Response:
        async with resources(request).db() as db:
            cards = await queries.admin_list(db, admin)
        return page(request, "communities/admin.html", {"cards": cards, "forms": {slug: form}})

    room = await form_post(data, service.hand_over(resources(request), admin, slug, data), ("email", "user_id"),
                           refused)
    return await reply(request, lambda: "", "/admin/communities", done=_("“%(title)s” has a new owner.", title=room.title))


@view
async def admin_archive(request: Request) -> Response:
    admin = require_admin(request)
    data = await read_input(request)
    room = await service.set_archived(resources(request), admin, request.path_params["slug"],
                                      {"phase": data.get("phase", "archived")})
    done = (_("“%(title)s” is archived.", title=room.title) if room.phase == "archived"
            else _("“%(title)s” is open again.", title=room.title))
    return await reply(request, lambda: "", "/admin/communities", done=done)


routes = [
    Route("/communities", directory_page, methods=["GET"]),
    Route("/communities/new", new_page, methods=["GET"]),
    Route("/communities/new", new_submit, methods=["POST"]),
    Route("/communities/{slug}", about_page, methods=["GET"]),
    Route("/communities/{slug}/edit", edit_page, methods=["GET"]),
    Route("/communities/{slug}/edit", edit_submit, methods=["POST"]),
    Route("/communities/{slug}/join", join, methods=["POST"]),
    Route("/communities/{slug}/request", ask, methods=["POST"]),
    Route("/communities/{slug}/request", request_part, methods=["GET"]),
    Route("/communities/{slug}/withdraw", withdraw, methods=["POST"]),
    Route("/rooms/{slug}/requests", queue_page, methods=["GET"]),
    Route("/rooms/{slug}/requests/queue", queue_part, methods=["GET"]),
    Route("/rooms/{slug}/requests/count", count_part, methods=["GET"]),
    Route("/rooms/{slug}/requests/{request_id:id}/approve", decide, methods=["POST"]),
    Route("/rooms/{slug}/requests/{request_id:id}/decline", decide, methods=["POST"]),
    Route("/communities/{slug}/leave", leave, methods=["POST"]),
    Route("/admin/communities", admin_page, methods=["GET"]),
    Route("/admin/communities/{slug}/owner", admin_owner, methods=["POST"]),
    Route("/admin/communities/{slug}/archive", admin_archive, methods=["POST"]),
]
