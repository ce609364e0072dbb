"""The signed-in pages of the showcase: a moderator's publication of a room's results and an
author's answers to consent requests."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.errors import AppError
from innovate.inputs import bool_field, read_input
from innovate.showcase import publishing
from innovate.web import Form, flash, form_post, page, posted_forms, resources, see_other, view

PUBLICATION_FIELDS = ("items", "summary", "outcome", "thanks", "published")


@view
async def publication_page(request: Request) -> Response:
    async with resources(request).db() as db:
        edit = await publishing.editing(db, require_user(request), request.path_params["slug"])
    form = posted_forms(request).get("publication", Form())
    return page(request, "showcase/publication.html", {"e": edit, "form": form})


@view
async def publication_submit(request: Request) -> Response:
    slug = request.path_params["slug"]
    data = await read_input(request)
    data.setdefault("items", [])  # no box ticked: nothing picked

    async def refused(form: Form, exc: AppError) -> Response:
        async with resources(request).db() as db:
            edit = await publishing.editing(db, require_user(request), slug)
        return page(request, "showcase/publication.html", {"e": edit, "form": form})

    edit = await form_post(data, publishing.save(resources(request), require_user(request), slug,
                                                 publishing.check_change(data)),
                           PUBLICATION_FIELDS, refused)
    state = edit.publication.state if edit.publication else "draft"
    flash(request, {"published": "Published: the results page is public.",
                    "withdrawn": "Withdrawn: the results page is no longer public."}.get(state, "Saved."))
    return see_other(f"/rooms/{quote(slug)}/publication")


@view
async def consents_page(request: Request) -> Response:
    user = require_user(request)
    async with resources(request).db() as db:
        requests = await publishing.my_requests(db, user)
    return page(request, "showcase/consents.html", {"requests": requests})


@view
async def consent_submit(request: Request) -> Response:
    user = require_user(request)
    data = await read_input(request)
    answered = await publishing.answer(resources(request), user, request.path_params["item"], bool_field(data, "agree"))
    flash(request, f"Thank you: \u201c{answered.item.title}\u201d "
                   + ("will name you." if answered.item.consent == publishing.GRANTED else "will not name you."))
    return see_other("/me/publications")


routes = [
    Route("/rooms/{slug}/publication", publication_page, methods=["GET"]),
    Route("/rooms/{slug}/publication", publication_submit, methods=["POST"]),
    Route("/me/publications", consents_page, methods=["GET"]),
    Route("/me/publications/{item:id}", consent_submit, methods=["POST"]),
]
