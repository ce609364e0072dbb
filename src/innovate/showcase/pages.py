"""The public pages: published results, stories, open positions, the feed and the sitemap.
No sign-in, no session; built only from published rows (``public.py``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.showcase import cached, public
from innovate.web import resources


async def results_page(request: Request) -> Response:
    async with resources(request).db() as db:
        found = await public.challenge(db, request.path_params["slug"])
    return cached.public_page(request, "showcase/results.html", {"c": found, "path": f"/results/{found.slug}"})


routes = [
    Route("/results/{slug:str}", results_page, methods=["GET", "HEAD"]),
]
