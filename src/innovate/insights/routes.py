"""The insights pages: a room's dashboard, the site dashboard, the printable results report,
and the interests people follow. Figures come from overview.py and figures.py, writes from
interests.py."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_admin, require_user
from innovate.errors import Invalid, NotFound
from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext, ngettext
from innovate.inputs import read_input
from innovate.insights import figures
from innovate.insights.exports import FORMATS, KINDS
from innovate.insights.interests import all_tags, followed, set_interests, set_room_tags
from innovate.insights.overview import (
    REPORTED_STATUSES,
    STATUS_LABELS,
    duration,
    overview,
)
from innovate.markdown import render
from innovate.rooms.access import RoomAccess, require_moderator, room_access
from innovate.rooms.reviews import queries as reviews
from innovate.web import Form, flash, page, resources, see_other, view

# The formats' names, as people read them in the list of downloads.
FORMAT_LABELS = {"csv": lazy_gettext("CSV"), "json": lazy_gettext("JSON")}
EXPORT_TITLES = {
    "ideas": lazy_gettext("Ideas with tallies and status"),
    "votes": lazy_gettext("Votes per idea, with the voter's kind"),
    "messages": lazy_gettext("Messages"),
    "audit": lazy_gettext("Audit log"),
    "reviews": lazy_gettext("Expert reviews (scorecards)"),
}


async def _moderated_room(request: Request) -> RoomAccess:
    """The room, for its moderators and admins: 404 if the caller cannot see it, 403 if
    they can but do not moderate it."""
    async with resources(request).db() as db:
        access = await room_access(db, require_user(request), request.path_params["slug"])
    require_moderator(access)
    return access


def _exports(slug: str) -> list[dict[str, Any]]:
    base = f"/api/v1/rooms/{quote(slug)}/export"
    return [{"kind": kind, "title": EXPORT_TITLES[kind],
             "links": [(FORMAT_LABELS.get(fmt, fmt.upper()), f"{base}/{kind}.{fmt}") for fmt in FORMATS]} for kind in KINDS]


def _common() -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "duration": duration}


async def _dashboard(request: Request, tags_form: Form | None = None, status: int = 200) -> Response:
    access = await _moderated_room(request)
    async with resources(request).db() as db:
        figures_ = await overview(db, access.room)
        tags = await all_tags(db, access.user)
        expert = await reviews.insights(db, access.room)
    return page(request, "insights/dashboard.html", {
        **_common(), "room": access.room, "o": figures_, "exports": _exports(access.room.slug), "expert": expert,
        "known_tags": tags,
        "tags_form": tags_form or Form(values={"tags": ", ".join(t.label for t in figures_.tags)}),
    }, status=status)


@view
async def room_dashboard(request: Request) -> Response:
    return await _dashboard(request)


@view
async def room_tags_submit(request: Request) -> Response:
    slug = request.path_params["slug"]
    data = await read_input(request)
    try:
        tags = await set_room_tags(resources(request), require_user(request), slug, data.get("tags", ""))
    except Invalid as exc:  # shown at the field; refusals (403/404) get the error page
        return await _dashboard(request, Form.failed(data, exc, ("tags",)), status=exc.status)
    if tags:
        flash(request, _("Tags saved: %(tags)s.", tags=", ".join(t.label for t in tags)))
    else:
        flash(request, _("Tags saved: none."))
    return see_other(f"/rooms/{quote(slug)}/insights#interests")


@view
async def room_report(request: Request) -> Response:
    """The results report: the brief, the selected and shortlisted ideas with their authors
    (anonymous stays anonymous, also for the moderator printing it), tallies and notes, the
    participation figures and the timeline of phases. Final once the room has closed."""
    access = await _moderated_room(request)
    room = access.room
    if room.phase == "draft":
        raise NotFound(lazy_gettext("A draft challenge has no results yet."))
    async with resources(request).db() as db:
        figures_ = await overview(db, room)
        chosen = await figures.ideas_with_status(db, room, REPORTED_STATUSES)
        timeline = await figures.phase_timeline(db, room)
        expert = await reviews.insights(db, room)
    return page(request, "insights/report.html", {"expert": expert,
        **_common(), "room": room, "o": figures_, "brief_html": render(room.brief),
        "selected": [i for i in chosen if i.status == "selected"],
        "shortlisted": [i for i in chosen if i.status == "shortlisted"],
        "timeline": timeline, "final": room.phase in ("closed", "archived"),
    })


@view
async def site_dashboard(request: Request) -> Response:
    require_admin(request)
    async with resources(request).db() as db:
        figures_ = await overview(db, None)
        rooms = await figures.room_summaries(db)
        guest_total, guests = await figures.active_guests(db)
        expiring = await figures.expiring_invites(db)
    return page(request, "insights/site.html", {
        **_common(), "o": figures_, "rooms": rooms, "guest_total": guest_total, "guests": guests,
        "expiring": expiring, "expiring_days": figures.EXPIRING_WITHIN.days,
    })


@view
async def interests_page(request: Request) -> Response:
    user = require_user(request)
    if user.is_guest:
        raise NotFound(lazy_gettext("Guests take part in the rooms they were invited to."))
    async with resources(request).db() as db:
        tags = await all_tags(db, user)
        mine = {t.id for t in await followed(db, user.id)}
    return page(request, "insights/interests.html", {"tags": tags, "mine": mine})


@view
async def interests_submit(request: Request) -> Response:
    user = require_user(request)
    if user.is_guest:
        raise NotFound(lazy_gettext("Guests take part in the rooms they were invited to."))
    data = await read_input(request)
    chosen = data.get("tag", [])
    chosen = [chosen] if isinstance(chosen, str) else chosen
    following = await set_interests(resources(request), user, chosen)
    flash(request, ngettext("You follow %(num)d interest.", "You follow %(num)d interests.", len(following)))

    return see_other("/me/interests")


routes = [
    Route("/rooms/{slug}/insights", room_dashboard, methods=["GET"]),
    Route("/rooms/{slug}/insights/tags", room_tags_submit, methods=["POST"]),
    Route("/rooms/{slug}/report", room_report, methods=["GET"]),
    Route("/admin/insights", site_dashboard, methods=["GET"]),
    Route("/me/interests", interests_page, methods=["GET"]),
    Route("/me/interests", interests_submit, methods=["POST"]),
]
