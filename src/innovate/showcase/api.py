"""The showcase in the JSON API.

- ``GET|POST /api/v1/rooms/{slug}/publication``: the room's public results (moderators);
- ``GET /api/v1/me/publication-consents``, ``PUT /api/v1/me/publication-consents/{id}``: an
  author's consent requests and answers.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.errors import Invalid
from innovate.inputs import JSON, read_input
from innovate.showcase import publishing
from innovate.web import resources


async def publication(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    res = resources(request)
    if request.method == "POST":
        edit = await publishing.save(res, user, slug, publishing.check_change(await read_input(request)))
    else:
        async with res.db() as db:
            edit = await publishing.editing(db, user, slug)
    return JSON(publishing.publication_json(edit, res.settings.public_url))


def _request_json(r: publishing.Request, public_url: str) -> dict[str, object]:
    p = r.publication
    return {**publishing.item_json(r.item), "challenge": p.title, "published": p.state == "published",
            "url": f"{public_url}/results/{p.slug}" if p.state == "published" else None}


async def my_consents(request: Request) -> Response:
    user = require_user(request)
    res = resources(request)
    async with res.db() as db:
        found = await publishing.my_requests(db, user)
    return JSON({"items": [_request_json(r, res.settings.public_url) for r in found]})


async def my_consent(request: Request) -> Response:
    user = require_user(request)
    data = await read_input(request)
    agree = data.get("consent")
    if not isinstance(agree, bool):
        raise Invalid.field("consent", "expected true (name me) or false (do not name me)")
    answered = await publishing.answer(resources(request), user, request.path_params["item"], agree)
    return JSON(_request_json(answered, resources(request).settings.public_url))


routes = [
    Route("/api/v1/rooms/{slug}/publication", publication, methods=["GET", "POST"]),
    Route("/api/v1/me/publication-consents", my_consents, methods=["GET"]),
    Route("/api/v1/me/publication-consents/{item:id}", my_consent, methods=["PUT"]),
]
