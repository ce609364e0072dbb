"""``GET /media/{key}/{size}.{ext}``: a stored picture, cached for a year.

A key's bytes never change (a new upload is a new key), so the answer is ``immutable`` with a
strong ETag; a conditional request gets 304 without the bytes. Public pictures need no
session and may sit in shared caches; the others are for signed-in people and private caches.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import current_user
from innovate.errors import NotFound
from innovate.media import store
from innovate.web import resources

YEAR = 365 * 24 * 3600


async def media_file(request: Request) -> Response:
    key = request.path_params["key"]
    size, _, extension = request.path_params["file"].partition(".")
    async with resources(request).db() as db:
        served = await store.rendition(db, key, size, extension)
    if served is None or (not served.public and current_user(request) is None):
        raise NotFound()
    etag = f'"{served.etag}"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"{'public' if served.public else 'private'}, max-age={YEAR}, immutable",
        # A picture is never a page: no script of its own, and no sniffing it into one.
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(served.data, media_type=served.content_type, headers=headers)


routes = [Route("/media/{key:str}/{file:str}", media_file, methods=["GET", "HEAD"])]
