"""The public pages: published results, stories, open positions, the feed and the sitemap.
No sign-in, no session; built only from published rows (``public.py``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.showcase import cached, public
from innovate.web import render_to_string, resources

FEED_SIZE = 30


async def results_page(request: Request) -> Response:
    async with resources(request).db() as db:
        found = await public.challenge(db, request.path_params["slug"])
    return cached.public_page(request, "showcase/results.html", {"c": found, "path": f"/results/{found.slug}"})


async def stories_page(request: Request) -> Response:
    async with resources(request).db() as db:
        found = await public.stories(db)
        challenges = await public.published_challenges(db)
    return cached.public_page(request, "showcase/stories.html", {"stories": found, "challenges": challenges,
                                                                 "path": "/stories"})


async def story_page(request: Request) -> Response:
    async with resources(request).db() as db:
        found = await public.story(db, request.path_params["slug"])
    return cached.public_page(request, "showcase/story.html", {"s": found, "path": f"/stories/{found.slug}"})


async def positions_page(request: Request) -> Response:
    async with resources(request).db() as db:
        found = await public.open_positions(db)
    return cached.public_page(request, "showcase/positions.html", {"positions": found, "path": "/positions"})


async def position_page(request: Request) -> Response:
    async with resources(request).db() as db:
        found = await public.open_position(db, request.path_params["key"])
    return cached.public_page(request, "showcase/position.html", {"p": found, "path": f"/positions/{found.key}"})


async def feed(request: Request) -> Response:
    """The stories as an Atom feed (RFC 4287), newest first."""
    async with resources(request).db() as db:
        found = await public.stories(db, limit=FEED_SIZE)
    body = render_to_string(request, "showcase/feed.atom.xml", {"stories": found})
    return cached.answer(request, body, "application/atom+xml; charset=utf-8")


async def sitemap(request: Request) -> Response:
    """Every public page (sitemaps.org protocol)."""
    async with resources(request).db() as db:
        found = await public.stories(db, limit=5000)
        challenges = await public.published_challenges(db)
        positions = await public.open_positions(db)
    body = render_to_string(request, "showcase/sitemap.xml", {"stories": found, "challenges": challenges,
                                                              "positions": positions})
    return cached.answer(request, body, "application/xml; charset=utf-8")


routes = [
    Route("/results/{slug:str}", results_page, methods=["GET", "HEAD"]),
    Route("/stories", stories_page, methods=["GET", "HEAD"]),
    Route("/stories/feed.atom", feed, methods=["GET", "HEAD"]),
    Route("/stories/{slug:str}", story_page, methods=["GET", "HEAD"]),
    Route("/positions", positions_page, methods=["GET", "HEAD"]),
    Route("/positions/{key:str}", position_page, methods=["GET", "HEAD"]),
    Route("/sitemap.xml", sitemap, methods=["GET", "HEAD"]),
]
