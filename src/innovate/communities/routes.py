"""The community pages: the directory (search, tags, one-click join and leave), starting a
community, and the administrators' list (hand-over, archive, the ones without an owner)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_admin, require_user
from innovate.accounts.models import User
from innovate.communities import queries, service
from innovate.errors import AppError, NotFound
from innovate.inputs import Input, read_input
from innovate.insights.interests import all_tags, parse_labels, set_room_tags
from innovate.rooms.service import create_room, join_room, leave_room
from innovate.rooms.urls import room_url
from innovate.web import (
    Form,
    flash,
    form_post,
    page,
    redirect,
    render_to_string,
    reply,
    resources,
    view,
)

FORM_FIELDS = ("slug", "title", "brief", "visibility", "ideas_board", "tags")


def _employee(request: Request) -> User:
    user = require_user(request)
    if user.is_guest:
        raise NotFound("Not found")  # guests have no directory: they see the rooms they were invited to
    return user


@view
async def directory_page(request: Request) -> Response:
    user = _employee(request)
    query = request.query_params.get("q", "").strip()[:100]
    tag = request.query_params.get("tag") or None
    async with resources(request).db() as db:
        cards = await queries.directory(db, user, query=query, tag=tag)
        tags = [t for t in await all_tags(db, user) if t.rooms]
    context = {"cards": cards, "query": query, "tag": tag, "tags": tags}
    return await reply(request, lambda: render_to_string(request, "communities/_results.html", context),
                       lambda: page(request, "communities/directory.html", context))


async def _card_reply(request: Request, user: User, slug: str, done: str) -> Response:
    async with resources(request).db() as db:
        cards = [c for c in await queries.directory(db, user, query="") if c.room["slug"] == slug]
    if not cards:
        return redirect(request, "/communities")
    return await reply(request, lambda: render_to_string(request, "communities/_card.html", {"card": cards[0]}),
                       "/communities", done=done)


@view
async def join(request: Request) -> Response:
    user = _employee(request)
    slug = request.path_params["slug"]
    await join_room(resources(request), user, slug)
    return await _card_reply(request, user, slug, "You joined the community.")


@view
async def leave(request: Request) -> Response:
    user = _employee(request)
    slug = request.path_params["slug"]
    await leave_room(resources(request), user, slug)
    return await _card_reply(request, user, slug, "You left the community.")


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

    async def create() -> str:
        labels = parse_labels(data.get("tags"))  # checked before anything is written
        room = await create_room(resources(request), user, _form_input(data))
        if labels:
            await set_room_tags(resources(request), user, room.slug, labels)
        return room.slug

    slug = await form_post(data, create(), FORM_FIELDS, refused)
    flash(request, "Your community is open. Invite colleagues, or let them find it in the directory.")
    return redirect(request, room_url(slug))


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
    return await reply(request, lambda: "", "/admin/communities", done=f"“{room.title}” has a new owner.")


@view
async def admin_archive(request: Request) -> Response:
    admin = require_admin(request)
    data = await read_input(request)
    room = await service.set_archived(resources(request), admin, request.path_params["slug"],
                                      {"phase": data.get("phase", "archived")})
    done = f"“{room.title}” is archived." if room.phase == "archived" else f"“{room.title}” is open again."
    return await reply(request, lambda: "", "/admin/communities", done=done)


routes = [
    Route("/communities", directory_page, methods=["GET"]),
    Route("/communities/new", new_page, methods=["GET"]),
    Route("/communities/new", new_submit, methods=["POST"]),
    Route("/communities/{slug}/join", join, methods=["POST"]),
    Route("/communities/{slug}/leave", leave, methods=["POST"]),
    Route("/admin/communities", admin_page, methods=["GET"]),
    Route("/admin/communities/{slug}/owner", admin_owner, methods=["POST"]),
    Route("/admin/communities/{slug}/archive", admin_archive, methods=["POST"]),
]
