"""The write path for ideas: submit, edit, status, merge."""

from __future__ import annotations

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit, kinds
from innovate.accounts.models import User
from innovate.db import affected, utcnow
from innovate.errors import Conflict, Forbidden, Invalid
from innovate.i18n import gettext as _
from innovate.inputs import Input, bool_field, choice_field, id_field, text_field
from innovate.markdown import render
from innovate.resources import Resources
from innovate.rooms import ratelimits, rules
from innovate.rooms.access import (
    IdeaInRoom,
    idea_in_room,
    require_moderator,
    require_participant,
    room_access,
)
from innovate.rooms.events import append_event
from innovate.rooms.ideas.ranking import top_rank
from innovate.rooms.models import Idea, Membership, Message, Room, Vote
from innovate.writes import state_changed, write

MODERATOR_STATUSES = ("submitted", "under_review", "shortlisted", "selected", "rejected")


def _title(data: Input) -> str:
    return text_field(data, "title", max_length=rules.IDEA_TITLE_MAX) or ""


def _body(data: Input) -> str:
    return text_field(data, "body", max_length=rules.IDEA_BODY_MAX, multiline=True) or ""


async def submit_idea(resources: Resources, actor: User, slug: str, data: Input) -> Idea:
    return (await submit(resources, actor, slug, data)).idea


async def submit(resources: Resources, actor: User, slug: str, data: Input) -> IdeaInRoom:
    title, body = _title(data), _body(data)
    anonymous = bool_field(data, "anonymous")
    async with write(resources) as (db, outbox):
        access = await room_access(db, actor, slug)
        require_participant(access)
        rules.check_can_submit_idea(access)
        if anonymous and not access.room.allow_anonymous:
            raise Invalid.field("anonymous", _("this room does not allow anonymous ideas"))
        ratelimits.check_content(resources.settings, access, body, mentions=False)
        await ratelimits.count(db, resources.settings, access, ratelimits.IDEAS)
        idea = Idea(room_id=access.room.id, author_id=actor.id, anonymous=anonymous, title=title, body=body,
                    body_html=render(body))
        db.add(idea)
        await db.flush()
        await append_event(db, outbox, access.room.id, kinds.IDEA_SUBMITTED, {"idea_id": idea.id}, actor_id=actor.id)
    return IdeaInRoom(access, idea)


async def edit_idea(resources: Resources, actor: User, idea_id: int, data: Input, *,
                    in_room: str | None = None) -> IdeaInRoom:
    async with write(resources) as (db, outbox):
        found = await idea_in_room(db, actor, idea_id, in_room=in_room)
        access, idea = found.access, found.idea
        if idea.author_id != actor.id:
            raise Forbidden(_("Only the author may edit an idea."))
        require_participant(access)
        rules.check_can_edit_idea(access.room)
        if idea.status == "merged" or idea.state == "hidden":
            raise Conflict(_("This idea can no longer be edited."))
        title = _title(data) if "title" in data else idea.title
        body = _body(data) if "body" in data else idea.body
        if (title, body) == (idea.title, idea.body):
            return found
        ratelimits.check_content(resources.settings, access, body, mentions=False)
        idea.title, idea.body, idea.body_html, idea.edited_at = title, body, render(body), utcnow()
        await db.flush()
        await append_event(db, outbox, idea.room_id, kinds.IDEA_EDITED, {"idea_id": idea.id}, actor_id=actor.id)
    return found


async def set_idea_status(resources: Resources, actor: User, idea_id: int, data: Input, *,
                          in_room: str | None = None) -> IdeaInRoom:
    status = choice_field(data, "status", MODERATOR_STATUSES)
    reason = text_field(data, "reason", max_length=rules.REASON_MAX, required=False, multiline=True)
    async with write(resources) as (db, outbox):
        found = await idea_in_room(db, actor, idea_id, in_room=in_room)
        access, idea = found.access, found.idea
        require_moderator(access)
        if access.room.phase == "archived":
            raise Conflict(_("The room is archived: it is read-only."))
        if idea.status == "merged":
            raise Conflict(_("A merged idea keeps its status; change the idea it was merged into."))
        if idea.status == status and idea.status_reason == reason:
            return found
        previous = idea.status
        idea.status, idea.status_reason = status, reason
        await db.flush()
        await append_event(db, outbox, idea.room_id, kinds.IDEA_STATUS_CHANGED,
                           {"idea_id": idea.id, "from": previous, "status": status}, actor_id=actor.id)
        await audit.record(db, actor.id, audit.IDEA_STATUS_CHANGED, room_id=idea.room_id, target_kind="idea", target_id=idea.id,
                    reason=reason, data={"from": previous, "to": status})
    return found


async def merge_ideas(resources: Resources, actor: User, idea_id: int, data: Input, *,
                      in_room: str | None = None) -> IdeaInRoom:
    """Merge idea B (``idea_id``) into A (``into``): votes move (once per voter), the thread
    moves, B shows "merged into A". One transaction."""
    into_id = id_field(data, "into")
    reason = text_field(data, "reason", max_length=rules.REASON_MAX, required=False, multiline=True)
    if into_id == idea_id:
        raise Invalid.field("into", _("an idea cannot be merged into itself"))
    async with write(resources) as (db, outbox):
        found = await idea_in_room(db, actor, idea_id, in_room=in_room)
        access, source = found.access, found.idea
        require_moderator(access)
        room = access.room
        if room.phase == "archived":
            raise Conflict(_("The room is archived: it is read-only."))
        target = await db.get(Idea, into_id)
        if target is None or target.room_id != source.room_id:
            raise Invalid.field("into", _("no such idea in this room"))
        if source.status == "merged":
            raise Conflict(_("This idea was already merged."))
        if target.status == "merged":
            raise Invalid.field("into", _("that idea was itself merged; merge into the idea it points to"))
        await _move_votes(db, room, source.id, target.id)
        moved = affected(await db.execute(
            update(Message).where(Message.idea_id == source.id).values(idea_id=target.id)))
        await db.execute(update(Idea).where(Idea.id == target.id)
                         .values(messages_count=Idea.messages_count + moved))
        await db.execute(update(Idea).where(Idea.id == source.id).values(
            status="merged", merged_into_id=target.id, status_reason=reason, messages_count=0))
        for idea in (source, target):
            await db.refresh(idea)
        await append_event(db, outbox, room.id, kinds.IDEA_MERGED, {"idea_id": source.id, "into_id": target.id},
                           actor_id=actor.id)
        await audit.record(db, actor.id, audit.IDEA_MERGED, room_id=room.id, target_kind="idea", target_id=source.id,
                    reason=reason, data={"into": target.id, "messages_moved": moved})
        state_changed(outbox, room.id, kinds.TALLY_CHANGED, target.id)
    return found


async def _move_votes(db: AsyncSession, room: Room, source_id: int, target_id: int) -> None:
    # A member who voted on both keeps their vote on A; their vote on B is dropped and, in
    # budget rooms, its dots go back to them.
    both = select(Vote.user_id).where(Vote.idea_id == target_id)
    dropped = (await db.execute(
        delete(Vote).where(Vote.idea_id == source_id, Vote.user_id.in_(both)).returning(Vote.user_id, Vote.value)
    )).all()
    if room.voting_mode == "budget":
        for user_id, value in dropped:
            await db.execute(update(Membership)
                             .where(Membership.room_id == room.id, Membership.user_id == user_id)
                             .values(votes_spent=Membership.votes_spent - value))
    await db.execute(update(Vote).where(Vote.idea_id == source_id).values(idea_id=target_id, updated_at=utcnow()))
    await recount(db, room, target_id)
    await recount(db, room, source_id)


async def recount(db: AsyncSession, room: Room, idea_id: int) -> None:
    """Recompute an idea's tally from its votes (after bulk moves)."""
    up_expr = (func.sum(case((Vote.value > 0, Vote.value), else_=0)) if room.voting_mode != "updown"
               else func.count().filter(Vote.value > 0))
    row = (await db.execute(
        select(
            func.coalesce(up_expr, 0),
            func.count().filter(Vote.value < 0),
            func.coalesce(func.sum(Vote.value), 0),
            func.count(),
        ).where(Vote.idea_id == idea_id)
    )).one()
    up, down, score, voters = (int(v or 0) for v in row)
    await db.execute(update(Idea).where(Idea.id == idea_id).values(
        up=up, down=down, score=score, voters=voters, rank_top=top_rank(room.voting_mode, up, down, score)))

