"""``GET /search?q=`` (the page) and ``GET /api/v1/search?q=&limit=`` (JSON): challenges,
ideas and messages in the rooms the caller may see, with the matching words marked."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.errors import AppError
from innovate.inputs import JSON
from innovate.rooms.queries import check_limit
from innovate.search.queries import LIMIT, search
from innovate.web import page, resources, view


@view
async def search_page(request: Request) -> Response:
    user = require_user(request)
    query = request.query_params.get("q", "")
    results, error, status = None, None, 200
    if query.strip():
        try:
            async with resources(request).db() as db:
                results = await search(db, user, query)
        except AppError as exc:
            error, status = (exc.fields or {}).get("q", exc.message), exc.status
    return page(request, "search/page.html", {"query": query, "results": results, "error": error}, status=status)


async def search_api(request: Request) -> Response:
    user = require_user(request)
    limit = check_limit(request.query_params.get("limit"), default=LIMIT)
    async with resources(request).db() as db:
        results = await search(db, user, request.query_params.get("q", ""), limit=limit)
    return JSON(results.json())


routes = [
    Route("/search", search_page, methods=["GET"]),
    Route("/api/v1/search", search_api, methods=["GET"]),
]
