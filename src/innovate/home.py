"""The home page: the challenges and communities you take part in and, for employees, what is
for you (from the personas and interests you follow) and open challenges to join."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.foryou.queries import for_you
from innovate.personas.service import is_curator
from innovate.pulses.queries import pulses_for
from innovate.rooms.pages import directory
from innovate.web import Form, page, resources, see_other


async def home(request: Request) -> Response:
    user = request.scope.get("user")
    if user is None:
        return see_other("/login")
    async with resources(request).db() as db:
        mine = await directory(db, user, mine=True)
        # Guests see only the rooms they were invited to; employees also see what they may join.
        joinable = [] if user.is_guest else [(room, True) for room, can_join in await directory(db, user)
                                              if can_join and room["phase"] in ("open", "voting")]
        communities = await directory(db, user, mine=True, kind="community")
        entries = [] if user.is_guest else await for_you(db, resources(request).settings.secret_key, user)
        # HR pulses sent to the employee; the page follows new ones live (user-live.js).
        pulses = await pulses_for(db, resources(request).settings.secret_key, user)
        curator = await is_curator(db, user)
    return page(request, "home.html", {"mine": mine, "joinable": joinable, "for_you": entries,
                                       "communities": communities, "pulses": pulses, "pulse_form": Form(),
                                       "is_curator": curator})


routes = [Route("/", home)]
