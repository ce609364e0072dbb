"""The home page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route


async def home(request: Request) -> Response:
    if request.scope.get("user") is None:
        return RedirectResponse("/login", status_code=303)
    return request.app.state.templates.TemplateResponse(request, "home.html", {})


routes = [Route("/", home)]
