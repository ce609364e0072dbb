"""Who an event tells: one rule per :class:`innovate.kinds.Recipients` value.

A rule names candidates from what the event is about; :func:`eligible` then keeps only
active members who can see the room now (guests whose access ended and people who left
are out), and :mod:`innovate.notifications.service` leaves out the actor and the author.
The content itself must be visible (a held or hidden post tells nobody); rules check that
before naming anyone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.db import utcnow
from innovate.kinds import Recipients
from innovate.markdown import MENTION
from innovate.rooms.access import guest_access_over
from innovate.rooms.discussion.mentions import handle_of
from innovate.rooms.models import Idea, Membership, Message, Room
from innovate.rooms.reviews.queries import authors_of_reviewed
from innovate.writes import Appended

# Phase changes worth a notification: voting opens, the room closes (results are out).
TOLD_PHASES = ("voting", "closed")


@dataclass
class Subject:
    """What an event is about, loaded once for all its rules."""

    event: Appended
    room: Room
    message: Message | None = None
    idea: Idea | None = None          # the idea, or the idea whose thread the message is in
    into: Idea | None = None          # the idea a merged one went into

    @property
    def data(self) -> dict[str, Any]:
        return self.event.data

    @property
    def visible_message(self) -> bool:
        return self.message is not None and self.message.state == "visible"


async def load_subject(db: AsyncSession, event: Appended) -> Subject | None:
    room = await db.get(Room, event.room_id)
    if room is None:
        return None
    subject = Subject(event=event, room=room)
    message_id, idea_id = event.data.get("message_id"), event.data.get("idea_id")
    if isinstance(message_id, int):
        subject.message = await db.get(Message, message_id)
        if subject.message is not None and subject.message.idea_id is not None:
            subject.idea = await db.get(Idea, subject.message.idea_id)
    elif isinstance(idea_id, int):
        subject.idea = await db.get(Idea, idea_id)
        into_id = event.data.get("into_id")
        if isinstance(into_id, int):
            subject.into = await db.get(Idea, into_id)
    return subject


Rule = Callable[[AsyncSession, Subject], Awaitable["set[int] | None"]]
EVERY_MEMBER = None  # a rule's answer meaning "every member of the room" (filtered in SQL)


async def mentioned(db: AsyncSession, s: Subject) -> set[int] | None:
    if not s.visible_message:
        return set()
    assert s.message is not None
    wanted = {m.group(1).lower() for m in MENTION.finditer(s.message.body)}
    if not wanted:
        return set()
    rows = await db.execute(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.room_id == s.room.id, Membership.state == "active")
    )
    return {user.id for user in rows.scalars() if handle_of(user) in wanted}


async def replied_to(db: AsyncSession, s: Subject) -> set[int] | None:
    if not s.visible_message or s.message is None or s.message.reply_to_id is None:
        return set()
    parent = await db.get(Message, s.message.reply_to_id)
    return {parent.author_id} if parent is not None and parent.author_id is not None else set()


async def idea_author(db: AsyncSession, s: Subject) -> set[int] | None:
    if s.message is not None and not s.visible_message:
        return set()
    if s.idea is None or s.idea.author_id is None:
        return set()
    return {s.idea.author_id}


async def thread(db: AsyncSession, s: Subject) -> set[int] | None:
    if not s.visible_message or s.idea is None or s.message is None:
        return set()
    authors = await db.execute(
        select(Message.author_id).where(Message.idea_id == s.idea.id, Message.state == "visible",
                                        Message.id != s.message.id, Message.author_id.is_not(None)).distinct()
    )
    return {a for a in authors.scalars() if a is not None}


async def post_author(db: AsyncSession, s: Subject) -> set[int] | None:
    if s.message is None or s.message.author_id is None:
        return set()
    return {s.message.author_id}


async def room_members(db: AsyncSession, s: Subject) -> set[int] | None:
    return EVERY_MEMBER if s.data.get("to") in TOLD_PHASES else set()


async def added_member(db: AsyncSession, s: Subject) -> set[int] | None:
    user_id = s.data.get("user_id")
    # Joining by oneself (a link, the Join button) is one's own doing; someone else adding
    # you is an invitation.
    if not isinstance(user_id, int) or s.event.actor_id in (None, user_id):
        return set()
    return {user_id}


async def promoted_member(db: AsyncSession, s: Subject) -> set[int] | None:
    user_id = s.data.get("user_id")
    return {user_id} if isinstance(user_id, int) and s.data.get("role") == "moderator" else set()


async def reviewer(db: AsyncSession, s: Subject) -> set[int] | None:
    user_id = s.data.get("user_id")
    return {user_id} if isinstance(user_id, int) else set()


async def reviewed_authors(db: AsyncSession, s: Subject) -> set[int] | None:
    return await authors_of_reviewed(db, s.room.id)


async def room_moderators(db: AsyncSession, s: Subject) -> set[int] | None:
    return set((await db.execute(select(Membership.user_id).where(
        Membership.room_id == s.room.id, Membership.role == "moderator", Membership.state == "active"))).scalars())


async def site_admins(db: AsyncSession, s: Subject) -> set[int] | None:
    return set((await db.execute(select(User.id).where(User.is_admin.is_(True), User.is_active.is_(True)))).scalars())


RULES: dict[Recipients, Rule] = {
    Recipients.MENTIONED: mentioned,
    Recipients.REPLIED_TO: replied_to,
    Recipients.IDEA_AUTHOR: idea_author,
    Recipients.THREAD: thread,
    Recipients.POST_AUTHOR: post_author,
    Recipients.ROOM_MEMBERS: room_members,
    Recipients.ADDED_MEMBER: added_member,
    Recipients.PROMOTED_MEMBER: promoted_member,
    Recipients.REVIEWER: reviewer,
    Recipients.REVIEWED_AUTHORS: reviewed_authors,
    Recipients.ADMINS: site_admins,
    Recipients.ROOM_MODERATORS: room_moderators,
}


async def eligible(db: AsyncSession, s: Subject, candidates: set[int] | None) -> set[int]:
    """The candidates (None: every member) who may see the room and what the event shows.

    The same conditions as ``rooms.access.can_see_room`` for an active member, in SQL so a
    room of thousands is one query. A hidden idea (and its thread) stays with the room's
    moderators and its author."""
    if candidates is not None and not candidates:
        return set()
    room = s.room
    conditions = [Membership.room_id == room.id, Membership.state == "active", User.is_active.is_(True)]
    if guest_access_over(room):
        conditions.append(User.kind != "guest")
    else:
        conditions.append(or_(User.kind != "guest", Membership.access_ends_at.is_(None),
                              Membership.access_ends_at > utcnow()))
    if room.phase == "draft":
        conditions.append(Membership.role == "moderator")
    if candidates is not None:
        conditions.append(User.id.in_(candidates))
    rows = (await db.execute(
        select(User.id, Membership.role, User.is_admin).join(Membership, and_(Membership.user_id == User.id))
        .where(*conditions)
    )).all()
    idea_hidden = s.idea is not None and s.idea.state == "hidden"
    keep = set()
    for user_id, role, is_admin in rows:
        if idea_hidden and not (role == "moderator" or is_admin or (s.idea is not None and s.idea.author_id == user_id)):
            continue
        keep.add(user_id)
    return keep
