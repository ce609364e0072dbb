"""What the idea pages show: the ideas board of a room, and one idea with its thread."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.i18n import gettext as _
from innovate.rooms.access import IdeaInRoom, RoomAccess, idea_in_room
from innovate.rooms.context import room_context
from innovate.rooms.discussion.pages import thread_context
from innovate.rooms.ideas.queries import IDEA_SORTS, idea_detail, list_ideas, merge_targets
from innovate.rooms.ideas.service import MODERATOR_STATUSES
from innovate.rooms.queries import viewer_for
from innovate.rooms.reviews.pages import expert_sort_offered, idea_results_context
from innovate.rooms.serializers import tallies_visible

IDEAS_PER_PAGE = 20


def idea_sort(raw: str | None) -> str:
    """The board's order from a query string: a known one, else the default."""
    return raw if raw is not None and raw in IDEA_SORTS else "top"


async def ideas_context(db: AsyncSession, access: RoomAccess, sort: str, cursor: str | None) -> dict[str, Any]:
    viewer = viewer_for(access)
    hidden = not tallies_visible(access.room, viewer)
    expert = await expert_sort_offered(db, access)
    effective = "new" if (sort == "top" and hidden) or (sort == "expert" and not expert) else sort
    page = await list_ideas(db, access, sort=effective, cursor=cursor, limit=IDEAS_PER_PAGE)
    return {"ideas": page.items, "next_cursor": page.next_cursor, "sort": effective, "cursor": cursor,
            "tallies_hidden": hidden, "expert_sort": expert}


async def idea_context(db: AsyncSession, found: IdeaInRoom) -> dict[str, Any]:
    """The idea's page without its thread: what the idea's own parts (detail, forms,
    moderator tools) are rendered with."""
    access, idea = found.access, found.idea
    context = room_context(access)
    moderator = context["viewer"].moderator
    if idea.locked and not moderator:
        context["blocked"] = {**context["blocked"], "post": _("A moderator locked this discussion.")}
    context.update({
        "idea": await idea_detail(db, access, idea),
        "is_author": idea.author_id == access.user.id,
        "can_edit": (idea.author_id == access.user.id and access.is_member and access.room.phase == "open"
                     and idea.status != "merged" and idea.state == "visible"),
        "statuses": MODERATOR_STATUSES,
        "merge_targets": await merge_targets(db, idea) if moderator else [],
        **await idea_results_context(db, found),
    })
    return context


async def idea_page(db: AsyncSession, user: User | None, slug: str, idea_id: int, *, before: int | None = None,
                    reply_to: int | None = None) -> dict[str, Any]:
    found = await idea_in_room(db, user, idea_id, in_room=slug)
    context = await idea_context(db, found)
    context.update(await thread_context(db, found.access, idea_id, before, reply_to))
    return context
