"""What the room pages show beyond the room's own context (rooms/context.py): the room page,
the directory, a member's card and the settings form. Built from the same API-shaped dicts
the JSON API returns (rooms/queries.py, rooms/serializers.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.errors import NotFound
from innovate.i18n import gettext as _
from innovate.rooms.context import room_base
from innovate.rooms.discussion.pages import thread_context
from innovate.rooms.discussion.queries import pinned_json
from innovate.rooms.ideas.pages import ideas_context
from innovate.rooms.ideas.queries import signed_ideas
from innovate.rooms.models import Room
from innovate.rooms.queries import active_member, joinable_rooms, list_members, list_rooms, room_links
from innovate.rooms.reviews.pages import my_reviews
from innovate.rooms.serializers import member_json

SCHEDULE = ("opens_at", "voting_at", "closes_at", "archives_at")


async def room_page(db: AsyncSession, user: User | None, slug: str, *, sort: str = "top", cursor: str | None = None,
                    before: int | None = None, reply_to: int | None = None) -> dict[str, Any]:
    access, context = await room_base(db, user, slug)
    context.update(await ideas_context(db, access, sort, cursor))
    context.update(await thread_context(db, access, None, before, reply_to))
    context["members"] = await list_members(db, access)
    context["pinned"] = await pinned_json(db, access)
    context["links"] = await room_links(db, access.room)
    context["my_reviews"] = await my_reviews(db, access)
    return context


async def asks_to_join(db: AsyncSession, user: User | None, slug: str) -> bool:
    """The room is a community open by request that ``user`` (an active employee) may not see
    but may ask to join: a link to it leads them to its description and the Ask button."""
    if user is None or not user.is_active or user.is_guest:
        return False
    found = (await db.execute(select(Room.id).where(Room.slug == slug, Room.kind == "community",
                                                    Room.visibility == "by-request", Room.phase != "archived"))).first()
    return found is not None


async def directory(db: AsyncSession, user: User, *, query: str = "", phase: str | None = None,
                    mine: bool = False, kind: str = "challenge") -> list[tuple[dict[str, Any], bool]]:
    """Rooms the user may see, each with whether a Join button belongs next to it."""
    rooms = await list_rooms(db, user, query=query, phase=phase, mine=mine, kind=kind)
    joinable = await joinable_rooms(db, user, [r["id"] for r in rooms])
    return [(r, r["id"] in joinable) for r in rooms]


async def member_card(db: AsyncSession, user: User, slug: str, member_id: int) -> dict[str, Any]:
    """A member's card in the room (where @mentions link): who they are and their ideas."""
    access, context = await room_base(db, user, slug)
    found = await active_member(db, access.room.id, member_id)
    if found is None:
        raise NotFound(_("No such member."))
    return {**context, "member": member_json(*found), "ideas": await signed_ideas(db, access, member_id)}


def settings_values(room: dict[str, Any]) -> dict[str, Any]:
    """The settings form's values, from the room as the API shows it."""
    values: dict[str, Any] = {k: room.get(k) for k in ("title", "brief", "cover_url", "visibility", "kind",
                                                       "ideas_board")}
    voting = room["voting"]
    values.update(voting_mode=voting["mode"], budget=voting.get("budget"), max_per_idea=voting.get("max_per_idea"),
                  votes_in_open=voting["votes_in_open"], hide_tallies_until_closed=voting["hide_tallies_until_closed"],
                  allow_anonymous=voting["allow_anonymous"])
    for name in SCHEDULE:
        at = room["schedule"].get(name)
        values[name] = at[:16] if at else ""
        values[f"{name}_utc"] = at or ""
    return values
