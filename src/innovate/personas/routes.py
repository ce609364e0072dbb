"""The persona pages: browse and follow in one click, a persona's page (its followers counted,
never listed), and HR's form to create or change one (with its picture)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_admin, require_user
from innovate.accounts.models import User
from innovate.errors import AppError
from innovate.i18n import gettext as _
from innovate.inputs import read_input
from innovate.personas import queries, service
from innovate.web import Form, flash, form_post, page, redirect, render_to_string, reply, resources, view

FORM_FIELDS = ("name", "portrait", "tags", "rooms", "picture", "picture_alt")


def _employee(request: Request) -> User:
    user = require_user(request)
    service.require_employee(user)
    return user


@view
async def index(request: Request) -> Response:
    user = _employee(request)
    async with resources(request).db() as db:
        views = await queries.personas(db, user)
        curator = await service.is_curator(db, user)
    return page(request, "personas/index.html", {"personas": views, "curator": curator})


@view
async def persona_page(request: Request) -> Response:
    user = _employee(request)
    async with resources(request).db() as db:
        view_ = await queries.persona(db, user, request.path_params["persona_id"])
        curator = await service.is_curator(db, user)
    return page(request, "personas/page.html", {"p": view_, "curator": curator})


async def _follow(request: Request, on: bool) -> Response:
    user = _employee(request)
    persona_id = request.path_params["persona_id"]
    await service.follow(resources(request), user, persona_id, on)
    async with resources(request).db() as db:
        view_ = await queries.persona(db, user, persona_id)
    done = (_("You follow %(name)s.", name=view_.persona.name) if on
            else _("You no longer follow %(name)s.", name=view_.persona.name))
    return await reply(request, lambda: render_to_string(request, "personas/_follow.html", {"p": view_}),
                       f"/personas/{persona_id}", done=done)


@view
async def follow(request: Request) -> Response:
    return await _follow(request, True)


@view
async def unfollow(request: Request) -> Response:
    return await _follow(request, False)


def _form_values(v: queries.PersonaView) -> dict[str, str]:
    return {"name": v.persona.name, "portrait": v.persona.portrait,
            "tags": ", ".join(t["label"] for t in v.tags), "rooms": ", ".join(r["slug"] for r in v.recommends),
            "picture_alt": v.picture.alt if v.picture else ""}


@view
async def new_page(request: Request) -> Response:
    user = _employee(request)
    async with resources(request).db() as db:
        await service.require_curator(db, user)
    return page(request, "personas/form.html", {"form": Form(), "action": "/personas/new", "editing": False})


@view
async def new_submit(request: Request) -> Response:
    user = _employee(request)
    data = await read_input(request)

    async def refused(form: Form, exc: AppError) -> Response:
        return page(request, "personas/form.html", {"form": form, "action": "/personas/new", "editing": False})

    created = await form_post(data, service.create_persona(resources(request), user, data), FORM_FIELDS, refused)
    flash(request, _("The persona “%(name)s” is published.", name=created.name))
    return redirect(request, f"/personas/{created.id}")


@view
async def edit_page(request: Request) -> Response:
    user = _employee(request)
    persona_id = request.path_params["persona_id"]
    async with resources(request).db() as db:
        await service.require_curator(db, user)
        view_ = await queries.persona(db, user, persona_id)
    return page(request, "personas/form.html", {"form": Form(values=_form_values(view_)),
                                                "action": f"/personas/{persona_id}/edit", "editing": True})


@view
async def edit_submit(request: Request) -> Response:
    user = _employee(request)
    persona_id = request.path_params["persona_id"]
    data = await read_input(request)
    action = f"/personas/{persona_id}/edit"

    async def refused(form: Form, exc: AppError) -> Response:
        return page(request, "personas/form.html", {"form": form, "action": action, "editing": True})

    if data.get("picture") is not None and not getattr(data["picture"], "filename", "x"):
        data = {k: v for k, v in data.items() if k != "picture"}  # the file input left empty: keep the picture
    await form_post(data, service.update_persona(resources(request), user, persona_id, data), FORM_FIELDS, refused)
    flash(request, _("Saved."))
    return redirect(request, f"/personas/{persona_id}")


@view
async def curators_page(request: Request) -> Response:
    require_admin(request)
    async with resources(request).db() as db:
        people = await queries.curators(db)
    return page(request, "personas/curators.html", {"curators": people, "form": Form()})


@view
async def curators_add(request: Request) -> Response:
    admin = require_admin(request)
    data = await read_input(request)

    async def refused(form: Form, exc: AppError) -> Response:
        async with resources(request).db() as db:
            people = await queries.curators(db)
        return page(request, "personas/curators.html", {"curators": people, "form": form})

    email = data.get("email")
    await form_post(data, service.name_curator(resources(request), admin, None, True,
                                               email=email if isinstance(email, str) else ""), ("email",), refused)
    flash(request, _("Named: they may now curate personas and send pulses."))
    return redirect(request, "/admin/curators")


@view
async def curators_remove(request: Request) -> Response:
    admin = require_admin(request)
    await service.name_curator(resources(request), admin, request.path_params["user_id"], False)
    flash(request, _("They no longer curate personas or send pulses."))
    return redirect(request, "/admin/curators")


routes = [
    Route("/admin/curators", curators_page, methods=["GET"]),
    Route("/admin/curators", curators_add, methods=["POST"]),
    Route("/admin/curators/{user_id:id}/remove", curators_remove, methods=["POST"]),
    Route("/personas", index, methods=["GET"]),
    Route("/personas/new", new_page, methods=["GET"]),
    Route("/personas/new", new_submit, methods=["POST"]),
    Route("/personas/{persona_id:id}", persona_page, methods=["GET"]),
    Route("/personas/{persona_id:id}/edit", edit_page, methods=["GET"]),
    Route("/personas/{persona_id:id}/edit", edit_submit, methods=["POST"]),
    Route("/personas/{persona_id:id}/follow", follow, methods=["POST"]),
    Route("/personas/{persona_id:id}/unfollow", unfollow, methods=["POST"]),
]
