"""Public answers that caches may keep: the same bytes for every reader of a language, a strong
ETag, no session.

``Cache-Control: public, no-cache``: any cache may store the page but asks again each time,
and gets ``304`` without the body while nothing changed. So a page that is taken down is gone
from every cache at the next request, and an unchanged one costs a header exchange.
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response

from innovate.web import render_to_string

CACHE_CONTROL = "public, no-cache"
# A page is in its reader's language: their browser's, or their own choice once signed in.
VARY = "Accept-Language, Cookie"


def answer(request: Request, body: str | bytes, media_type: str) -> Response:
    raw = body.encode() if isinstance(body, str) else body
    etag = f'"{hashlib.sha256(raw).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": VARY}
    if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(raw, media_type=media_type, headers=headers)


def public_page(request: Request, name: str, context: dict[str, object]) -> Response:
    """A public page: its template extends ``showcase/_public.html``, which never shows who
    is signed in, carries no nonce and no script, so every reader gets the same bytes."""
    return answer(request, render_to_string(request, name, context), "text/html; charset=utf-8")
