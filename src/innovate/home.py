"""The home page: the challenges you take part in and, for employees, open ones to join."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.insights.interests import challenges_for_you
from innovate.rooms.pages import directory
from innovate.web import page, resources, see_other


async def home(request: Request) -> Response:
    user = request.scope.get("user")
    if user is None:
        return see_other("/login")
    async with resources(request).db() as db:
        mine = await directory(db, user, mine=True)
        # Guests see only the rooms they were invited to; employees also see what they may join.
        joinable = [] if user.is_guest else [(room, True) for room, can_join in await directory(db, user)
                                              if can_join and room["phase"] in ("open", "voting")]
        # Insights: open challenges matching the interests an employee follows.
        for_you = await challenges_for_you(db, user)
    return page(request, "home.html", {"mine": mine, "joinable": joinable, "for_you": for_you})


routes = [Route("/", home)]
