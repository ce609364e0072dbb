"""``GET /api/v1/me/for-you`` (see docs/api.md)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.errors import NotFound
from innovate.foryou.queries import for_you
from innovate.i18n import gettext as _
from innovate.inputs import JSON
from innovate.web import resources


async def my_for_you(request: Request) -> Response:
    user = require_user(request)
    if user.is_guest:
        raise NotFound(_("Not found"))
    async with resources(request).db() as db:
        return JSON({"items": [entry.json() for entry in await for_you(db, resources(request).settings.secret_key, user)]})


routes = [Route("/api/v1/me/for-you", my_for_you, methods=["GET"])]
