"""Read side of ideas, each shaped for the viewer: the board (sorted and paged), cards and
details as the pages and the API show them, and the choices the idea page offers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.db import utcnow
from innovate.errors import Invalid
from innovate.i18n import gettext as _
from innovate.rooms.access import RoomAccess
from innovate.rooms.ideas.ranking import decode_cursor, encode_cursor, trending_rank
from innovate.rooms.models import Idea, Vote
from innovate.rooms.queries import Page, viewer_for
from innovate.rooms.reviews import queries as reviews
from innovate.rooms.serializers import idea_json, tallies_visible

IDEA_SORTS = ("top", "new", "trending", "discussed", "expert")


async def list_ideas(db: AsyncSession, access: RoomAccess, *, sort: str = "top", cursor: str | None = None,
                     limit: int = 30, status: str | None = None) -> Page:
    if sort not in IDEA_SORTS:
        raise Invalid.field("sort", _("expected one of %(choices)s", choices=", ".join(IDEA_SORTS)))
    room, viewer = access.room, viewer_for(access)
    if sort == "top" and not tallies_visible(room, viewer):
        sort = "new"  # ranking by hidden tallies would reveal them
    stmt = select(Idea).where(Idea.room_id == room.id)
    if not viewer.moderator:
        stmt = stmt.where(or_(Idea.state == "visible", Idea.author_id == viewer.user_id))
    if status:
        stmt = stmt.where(Idea.status == status)
    if sort == "expert" and not await reviews.results_visible_to(db, access):
        sort = "new"  # the experts' order would reveal results not released yet
    if sort == "trending":
        return await _trending(db, access, stmt, cursor, limit)
    if sort == "expert":
        return await _expert(db, access, stmt, cursor, limit)
    key_column = {"top": Idea.rank_top, "new": Idea.id, "discussed": Idea.messages_count}[sort]
    after = decode_cursor(cursor, ("k", "id"))
    if after is not None:
        stmt = stmt.where(or_(key_column < after["k"], and_(key_column == after["k"], Idea.id < after["id"])))
    rows = list((await db.execute(stmt.order_by(key_column.desc(), Idea.id.desc()).limit(limit + 1))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    items = await ideas_json(db, access, rows)
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor({"k": getattr(last, key_column.key), "id": last.id})
    return Page(items, next_cursor)


async def _trending(db: AsyncSession, access: RoomAccess, stmt: Any, cursor: str | None, limit: int) -> Page:
    # The decayed score changes with time, so the cursor pins the moment it was computed at.
    after = decode_cursor(cursor, ("at", "k", "id"))
    now = datetime.fromisoformat(after["at"]) if after else utcnow()
    ideas = list((await db.execute(stmt)).scalars())
    ranked = sorted(((trending_rank(i.score, i.voters, i.messages_count, i.created_at, now), i.id, i)
                     for i in ideas), key=lambda r: (r[0], r[1]), reverse=True)
    if after is not None:
        ranked = [r for r in ranked if (r[0], r[1]) < (after["k"], after["id"])]
    page = ranked[:limit]
    items = await ideas_json(db, access, [r[2] for r in page])
    next_cursor = None
    if len(ranked) > limit:
        next_cursor = encode_cursor({"at": now.isoformat(), "k": page[-1][0], "id": page[-1][1]})
    return Page(items, next_cursor)


async def _expert(db: AsyncSession, access: RoomAccess, stmt: Any, cursor: str | None, limit: int) -> Page:
    # Best expert score first; ideas nobody has reviewed yet come last, newest first.
    after = decode_cursor(cursor, ("k", "id"))
    means = await reviews.expert_order(db, access.room.id)
    ranked = sorted(((means.get(i.id, -1.0), i.id, i) for i in (await db.execute(stmt)).scalars()),
                    key=lambda r: (r[0], r[1]), reverse=True)
    if after is not None:
        ranked = [r for r in ranked if (r[0], r[1]) < (after["k"], after["id"])]
    page = ranked[:limit]
    items = await ideas_json(db, access, [r[2] for r in page])
    next_cursor = encode_cursor({"k": page[-1][0], "id": page[-1][1]}) if len(ranked) > limit else None
    return Page(items, next_cursor)


async def ideas_json(db: AsyncSession, access: RoomAccess, ideas: list[Idea]) -> list[dict[str, Any]]:
    if not ideas:
        return []
    viewer = viewer_for(access)
    ids = [i.id for i in ideas]
    authors = {u.id: u for u in (await db.execute(
        select(User).where(User.id.in_({i.author_id for i in ideas if i.author_id})))).scalars()}
    votes = dict((await db.execute(
        select(Vote.idea_id, Vote.value).where(Vote.user_id == viewer.user_id, Vote.idea_id.in_(ids)))).all())
    merged_ids = {i.merged_into_id for i in ideas if i.merged_into_id}
    titles = dict((await db.execute(select(Idea.id, Idea.title).where(Idea.id.in_(merged_ids)))).all()) if merged_ids else {}
    results = await reviews.visible_summaries(db, access, ids)
    return [
        idea_json(i, access.room, authors.get(i.author_id or 0), viewer, my_vote=votes.get(i.id),
                  merged_into_title=titles.get(i.merged_into_id or 0), review=results.get(i.id))
        for i in ideas
    ]


async def idea_detail(db: AsyncSession, access: RoomAccess, idea: Idea) -> dict[str, Any]:
    return (await ideas_json(db, access, [idea]))[0]


async def signed_ideas(db: AsyncSession, access: RoomAccess, author_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The visible ideas ``author_id`` put their name to in the room, newest first."""
    ideas = list((await db.execute(
        select(Idea).where(Idea.room_id == access.room.id, Idea.author_id == author_id, Idea.state == "visible",
                           Idea.anonymous.is_(False)).order_by(Idea.id.desc()).limit(limit)
    )).scalars())
    return await ideas_json(db, access, ideas)



async def merge_targets(db: AsyncSession, idea: Idea) -> list[dict[str, Any]]:
    """The ideas of the room that ``idea`` may be merged into."""
    rows = await db.execute(
        select(Idea.id, Idea.title).where(Idea.room_id == idea.room_id, Idea.id != idea.id, Idea.status != "merged")
        .order_by(Idea.id.desc()).limit(500)
    )
    return [{"id": r.id, "title": r.title} for r in rows]
