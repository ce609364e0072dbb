"""What the review pages show (the moderators' review page and its live progress, the
reviewer's queue, the scorecard, an idea's released results), and how their forms' fields
become the service's input."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.errors import Forbidden
from innovate.i18n import gettext as _
from innovate.inputs import Input
from innovate.rooms.access import IdeaInRoom, RoomAccess
from innovate.rooms.context import room_base, room_context
from innovate.rooms.models import Membership
from innovate.rooms.reviews import queries
from innovate.rooms.reviews.models import DEADLINE_PHASES, RECOMMENDATIONS, Reviewer
from innovate.rooms.serializers import Viewer, idea_json

LOCAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
INDEXED = re.compile(r"^criteria\.(\d{1,2})\.(id|name|guide|weight|scale|low_label|high_label)$")


def _last(value: Any) -> Any:
    """A checkbox posts its hidden "0" and, when ticked, its "1": the last one counts."""
    return value[-1] if isinstance(value, list) else value


# Form fields to service input -------------------------------------------------------------------


def criteria_input(form: Input) -> Input:
    """``criteria.N.field`` inputs as the API's ``{"criteria": [...]}``. A row whose name was
    emptied is left out: the form's blank new row, or a criterion the moderator removes."""
    rows: dict[int, dict[str, Any]] = {}
    for key, value in form.items():
        match = INDEXED.match(key)
        if match:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = _last(value)
    items = []
    for index in sorted(rows):
        row = rows[index]
        if not str(row.get("name", "")).strip():
            continue
        if row.get("id"):
            row["id"] = int(row["id"]) if str(row["id"]).isdigit() else row["id"]
        else:
            row.pop("id", None)
        weight = row.get("weight")
        if isinstance(weight, str):
            try:
                row["weight"] = float(weight) if weight.strip() else 1
            except ValueError:
                pass  # the service names the field
        items.append(row)
    return {"criteria": items}


def settings_input(form: Input) -> Input:
    deadline = str(_last(form.get("deadline_at")) or "").strip()
    return {
        "deadline_at": deadline + "+00:00" if LOCAL_DATETIME.match(deadline) else (deadline or None),
        "deadline_phase": _last(form.get("deadline_phase")) or None,
        "peers_see_reviews": _last(form.get("peers_see_reviews", "0")),
        "reviewers_anonymous": _last(form.get("reviewers_anonymous", "0")),
    }


def assign_input(form: Input) -> Input:
    return {"auto": {"per_idea": _last(form.get("per_idea")),
                     "exclude_same_domain": _last(form.get("exclude_same_domain", "0"))}}


def scorecard_input(form: Input) -> Input:
    scores = {k[7:]: _last(v) for k, v in form.items() if k.startswith("scores.")}
    comments = {k[9:]: _last(v) for k, v in form.items() if k.startswith("comments.")}
    return {"scores": scores, "comments": comments, "summary": _last(form.get("summary", "")),
            "recommendation": _last(form.get("recommendation")) or None, "submit": _last(form.get("submit", "0"))}


# Contexts -------------------------------------------------------------------------------------------


async def progress_context(db: AsyncSession, access: RoomAccess) -> dict[str, Any]:
    """The live part of the moderators' page: progress per reviewer, results, comparison."""
    room = access.room
    settings = await queries.settings_of(db, room.id)
    return {"progress": await queries.progress(db, room), "results": await queries.results(db, room),
            "comparison": await queries.comparison(db, room), "held": await queries.held_comments(db, room),
            "criteria": (await queries.criteria_json(db, room))["items"],
            "review_settings": queries.settings_json(settings, room)}


async def manage_context(db: AsyncSession, user: User, slug: str) -> dict[str, Any]:
    access, context = await room_base(db, user, slug)
    if not access.can_moderate:
        raise Forbidden(_("Only this room's moderators may run its reviews."))
    room = access.room
    on_panel = select(Reviewer.user_id).where(Reviewer.room_id == room.id)
    candidates = (await db.execute(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.room_id == room.id, Membership.state == "active", User.is_active.is_(True),
        User.id.notin_(on_panel)).order_by(User.name))).scalars().all()
    context.update(await progress_context(db, access))
    context.update({"locked": await queries.scales_locked(db, room.id),
                    "candidates": [{"id": u.id, "name": u.name, "kind": u.kind} for u in candidates],
                    "deadline_phases": DEADLINE_PHASES})
    return context


async def my_reviews(db: AsyncSession, access: RoomAccess) -> dict[str, int] | None:
    """For a reviewer on the room page: how many of their ideas they reviewed (None: not one)."""
    if not await queries.is_reviewer(db, access.room.id, access.user.id):
        return None
    queue = await queries.queue(db, access)
    return {"assigned": queue["assigned"], "submitted": queue["submitted"]}


async def queue_context(db: AsyncSession, user: User, slug: str) -> dict[str, Any]:
    access, context = await room_base(db, user, slug)
    context["queue"] = await queries.queue(db, access)
    return context


async def scorecard_context(db: AsyncSession, found: IdeaInRoom) -> dict[str, Any]:
    access, idea = found.access, found.idea
    if not await queries.is_assigned(db, idea.id, access.user.id):
        raise Forbidden(_("This idea is not assigned to you for review."))
    context = room_context(access)
    author = await db.get(User, idea.author_id) if idea.author_id and not idea.anonymous else None
    seen = await queries.idea_reviews(db, access, idea)
    mine = next((r for r in seen["items"] if r["mine"]), None)
    context.update({
        "idea": idea_json(idea, access.room, author, Viewer(user_id=access.user.id, moderator=access.can_moderate)),
        "criteria": (await queries.criteria_json(db, access.room))["items"],
        "review": mine,
        "others": [r for r in seen["items"] if not r["mine"]],
        "released": seen["released"],
        "recommendations": RECOMMENDATIONS,
    })
    return context


async def expert_sort_offered(db: AsyncSession, access: RoomAccess) -> bool:
    """The board offers the experts' order once reviews are in and the viewer may see them."""
    return await queries.results_visible_to(db, access) and await queries.scales_locked(db, access.room.id)


async def idea_results_context(db: AsyncSession, found: IdeaInRoom) -> dict[str, Any]:
    """The experts' results on an idea's page, where the viewer may see them."""
    seen = await queries.idea_reviews(db, found.access, found.idea)
    if seen["results"] is None:
        return {"expert": None}
    return {"expert": {**seen, "items": [r for r in seen["items"] if r["state"] == "submitted"],
                       "criteria": (await queries.criteria_json(db, found.access.room))["items"]}}
