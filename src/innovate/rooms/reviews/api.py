"""The JSON API of the review stage (see docs/api.md). Each write answers what it left, as
the caller sees it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.errors import Forbidden, NotFound
from innovate.i18n import gettext as _
from innovate.inputs import JSON, read_input
from innovate.rooms.access import idea_in_room, require_moderator, room_access, room_access_by_id
from innovate.rooms.reviews import assignments, queries, scorecard, service
from innovate.rooms.reviews.models import Review
from innovate.web import resources


async def room_criteria(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    if request.method == "PUT":
        await service.save_criteria(resources(request), user, slug, await read_input(request))
    async with resources(request).db() as db:
        access = await room_access(db, user, slug)
        return JSON(await queries.criteria_json(db, access.room))


async def room_reviews(request: Request) -> Response:
    """The moderators' view of the review stage: settings, criteria, progress and results."""
    user = require_user(request)
    slug = request.path_params["slug"]
    if request.method == "PATCH":
        await service.save_settings(resources(request), user, slug, await read_input(request))
    async with resources(request).db() as db:
        access = await room_access(db, user, slug)
        require_moderator(access)
        room = access.room
        return JSON({
            "settings": queries.settings_json(await queries.settings_of(db, room.id), room),
            "criteria": await queries.criteria_json(db, room),
            "progress": await queries.progress(db, room),
            "results": await queries.results(db, room),
        })


async def room_release(request: Request) -> Response:
    room = await service.release(resources(request), require_user(request), request.path_params["slug"])
    async with resources(request).db() as db:
        return JSON({"settings": queries.settings_json(await queries.settings_of(db, room.id), room)})


async def room_comparison(request: Request) -> Response:
    async with resources(request).db() as db:
        access = await room_access(db, require_user(request), request.path_params["slug"])
        require_moderator(access)
        return JSON(await queries.comparison(db, access.room))


async def room_reviewers(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    status = 200
    if request.method == "POST":
        await service.add_reviewer(resources(request), user, slug, await read_input(request))
        status = 201
    async with resources(request).db() as db:
        access = await room_access(db, user, slug)
        require_moderator(access)
        return JSON({"items": (await queries.progress(db, access.room))["reviewers"]}, status_code=status)


async def room_reviewer(request: Request) -> Response:
    await service.remove_reviewer(resources(request), require_user(request), request.path_params["slug"],
                                  request.path_params["user_id"])
    return Response(status_code=204)


async def room_assignments(request: Request) -> Response:
    done = await assignments.assign(resources(request), require_user(request), request.path_params["slug"],
                                    await read_input(request))
    return JSON({"created": done.created, "loads": [{"reviewer_id": r, "assigned": n}
                                                    for r, n in sorted(done.loads.items())]}, status_code=201)


async def my_reviews(request: Request) -> Response:
    """The caller's queue: one entry per room where they review (or the one ``room`` names)."""
    user = require_user(request)
    slug = request.query_params.get("room")
    async with resources(request).db() as db:
        if slug:
            accesses = [await room_access(db, user, slug)]
        else:
            accesses = []
            for room_id in await queries.reviewer_rooms(db, user):
                try:
                    accesses.append(await room_access_by_id(db, user, room_id))
                except NotFound:  # a room the caller can no longer see is not in the queue
                    continue
        return JSON({"rooms": [await queries.queue(db, access) for access in accesses]})


async def idea_review(request: Request) -> Response:
    """The caller's own scorecard of the idea (GET), or a draft / submit of it (PUT)."""
    user = require_user(request)
    idea_id = request.path_params["idea_id"]
    if request.method == "PUT":
        await scorecard.save_review(resources(request), user, idea_id, await read_input(request))
    async with resources(request).db() as db:
        found = await idea_in_room(db, user, idea_id)
        seen = await queries.idea_reviews(db, found.access, found.idea)
        mine = next((r for r in seen["items"] if r["mine"]), None)
        if mine is None and not await queries.is_assigned(db, idea_id, user.id):
            raise Forbidden(_("This idea is not assigned to you for review."))
        return JSON({"review": mine, "criteria": (await queries.criteria_json(db, found.access.room))["items"]})


async def idea_reviews(request: Request) -> Response:
    async with resources(request).db() as db:
        found = await idea_in_room(db, require_user(request), request.path_params["idea_id"])
        return JSON(await queries.idea_reviews(db, found.access, found.idea))


async def review_comments(request: Request) -> Response:
    review: Review = await service.moderate_comments(resources(request), require_user(request),
                                                     request.path_params["review_id"], await read_input(request))
    return JSON({"id": review.id, "comments_state": review.comments_state, "comments_reason": review.comments_reason})


routes = [
    Route("/api/v1/rooms/{slug}/criteria", room_criteria, methods=["GET", "PUT"]),
    Route("/api/v1/rooms/{slug}/reviews", room_reviews, methods=["GET", "PATCH"]),
    Route("/api/v1/rooms/{slug}/reviews/release", room_release, methods=["POST"]),
    Route("/api/v1/rooms/{slug}/reviews/comparison", room_comparison, methods=["GET"]),
    Route("/api/v1/rooms/{slug}/reviewers", room_reviewers, methods=["GET", "POST"]),
    Route("/api/v1/rooms/{slug}/reviewers/{user_id:id}", room_reviewer, methods=["DELETE"]),
    Route("/api/v1/rooms/{slug}/assignments", room_assignments, methods=["POST"]),
    Route("/api/v1/me/reviews", my_reviews, methods=["GET"]),
    Route("/api/v1/ideas/{idea_id:id}/review", idea_review, methods=["GET", "PUT"]),
    Route("/api/v1/ideas/{idea_id:id}/reviews", idea_reviews, methods=["GET"]),
    Route("/api/v1/reviews/{review_id:id}/comments", review_comments, methods=["POST"]),
]
