"""The write path for the discussion: post (with replies and @mentions), edit, delete.

Guests' posts may be held for review (the room's pre-moderation setting); a held post is
visible to its author and the moderators only, until a moderator approves or rejects it.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit, kinds
from innovate.accounts.models import User
from innovate.db import utcnow
from innovate.driver_statements import ModelColumns
from innovate.errors import Conflict, Forbidden, Invalid
from innovate.i18n import gettext as _
from innovate.inline_statements import InlineStatement, as_loaded, insert_row
from innovate.inputs import Input, id_field, text_field
from innovate.markdown import MENTION, render
from innovate.resources import Resources
from innovate.rooms import ratelimits, rules
from innovate.rooms.access import (
    MessageInRoom,
    RoomAccess,
    message_in_room,
    require_moderator,
    require_participant,
    room_access,
)
from innovate.rooms.discussion.mentions import handle_of
from innovate.rooms.events import append_event, show_as_written
from innovate.rooms.models import Idea, Membership, Message, Room
from innovate.writes import write


async def mention_links(db: AsyncSession, room: Room, body: str) -> dict[str, str]:
    """@handles in ``body`` that name active members of ``room`` → their profile link."""
    wanted = {m.group(1).lower() for m in MENTION.finditer(body)}
    if not wanted:
        return {}
    rows = await db.execute(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.room_id == room.id, Membership.state == "active")
    )
    links = {}
    for user in rows.scalars():
        handle = handle_of(user)
        if handle in wanted:
            links[handle] = f"/rooms/{room.slug}/members/{user.id}"
    return links


async def render_body(db: AsyncSession, room: Room, body: str) -> str:
    links = await mention_links(db, room, body)
    return render(body, lambda handle: links.get(handle.lower()))


def _needs_review(access: RoomAccess) -> bool:
    room, user, membership = access.room, access.user, access.membership
    if not user.is_guest or room.premoderation == "off" or access.can_moderate:
        return False
    if room.premoderation == "all":
        return True
    return membership is not None and membership.approved_posts < room.premoderation_first_n


# A post's message, written by one INSERT straight on SQLite's connection rather than by the
# session's flush (innovate.inline_statements), and read back as the row it wrote.
_MESSAGE = ModelColumns(Message)
_INSERT_MESSAGE = InlineStatement(insert_row(cast(Table, Message.__table__)).returning(*_MESSAGE.columns))


async def post_message(resources: Resources, actor: User, slug: str, data: Input) -> Message:
    return (await post(resources, actor, slug, data)).message


async def post(resources: Resources, actor: User, slug: str, data: Input) -> MessageInRoom:
    body = text_field(data, "body", max_length=rules.MESSAGE_MAX, multiline=True) or ""
    idea_id = id_field(data, "idea_id", required=False)
    reply_to = id_field(data, "reply_to", required=False)
    async with write(resources) as (db, outbox):
        access = await room_access(db, actor, slug)
        require_participant(access)
        rules.check_can_post(access)
        ratelimits.check_content(resources.settings, access, body)
        await ratelimits.count(db, resources.settings, access, ratelimits.POSTS)
        room = access.room
        if idea_id is not None:
            idea = await db.get(Idea, idea_id)
            if idea is None or idea.room_id != room.id or (idea.state == "hidden" and not access.can_moderate):
                raise Invalid.field("idea_id", _("no such idea in this room"))
            if idea.status == "merged":
                raise Conflict(_("This idea was merged into idea %(id)s; discuss it there.", id=idea.merged_into_id))
            if idea.locked and not access.can_moderate:
                raise Conflict(_("This idea's thread is locked."))
        if reply_to is not None:
            parent = await db.get(Message, reply_to)
            if parent is None or parent.room_id != room.id or parent.idea_id != idea_id or parent.state != "visible":
                raise Invalid.field("reply_to", _("no such message in this thread"))
        held = _needs_review(access)
        row = await _INSERT_MESSAGE.row(db, {
            "room_id": room.id, "idea_id": idea_id, "reply_to_id": reply_to, "author_id": actor.id, "body": body,
            "body_html": await render_body(db, room, body), "state": "held" if held else "visible",
            "state_reason": None, "pinned": False, "created_at": utcnow(), "edited_at": None,
        })
        assert row is not None, "RETURNING gives the row written"
        message = as_loaded(db, _MESSAGE.instances(row)[0])
        if idea_id is not None and not held:
            await db.execute(update(Idea).where(Idea.id == idea_id).values(messages_count=Idea.messages_count + 1))
        await append_event(db, outbox, room.id, kinds.MESSAGE_POSTED, {"message_id": message.id, "idea_id": idea_id},
                           audience=f"user:{actor.id}" if held else "all", actor_id=actor.id)
        show_as_written(outbox, room, messages=[message], users=[actor])
    return MessageInRoom(access, message, actor)


async def edit_message(resources: Resources, actor: User, message_id: int, data: Input, *,
                       in_room: str | None = None) -> MessageInRoom:
    body = text_field(data, "body", max_length=rules.MESSAGE_MAX, multiline=True) or ""
    async with write(resources) as (db, outbox):
        found = await message_in_room(db, actor, message_id, in_room=in_room)
        access, message = found.access, found.message
        if message.author_id != actor.id:
            raise Forbidden(_("Only the author may edit a message."))
        require_participant(access)
        rules.check_can_post(access)
        if message.state not in ("visible", "held"):
            raise Conflict(_("A deleted message cannot be edited.") if message.state == "deleted"
                           else _("A hidden message cannot be edited.") if message.state == "hidden"
                           else _("A rejected message cannot be edited."))
        ratelimits.check_content(resources.settings, access, body)
        if body == message.body:
            return found
        message.body, message.body_html, message.edited_at = body, await render_body(db, access.room, body), utcnow()
        await db.flush()
        await append_event(db, outbox, message.room_id, kinds.MESSAGE_EDITED, {"message_id": message.id},
                           audience=f"user:{actor.id}" if message.state == "held" else "all", actor_id=actor.id)
    return found


async def delete_message(resources: Resources, actor: User, message_id: int, *,
                         in_room: str | None = None) -> MessageInRoom:
    """Authors delete their own messages; moderators any. The place in the thread stays."""
    async with write(resources) as (db, outbox):
        found = await message_in_room(db, actor, message_id, in_room=in_room)
        access, message = found.access, found.message
        own = message.author_id == actor.id
        if not own:
            require_moderator(access)
        if access.room.phase == "archived":
            raise Conflict(_("The room is archived: it is read-only."))
        if message.state == "deleted":
            return found
        was_counted = message.state == "visible" and message.idea_id is not None
        message.state = "deleted"
        await db.flush()
        if was_counted:
            await db.execute(update(Idea).where(Idea.id == message.idea_id, Idea.messages_count > 0)
                             .values(messages_count=Idea.messages_count - 1))
        await append_event(db, outbox, message.room_id, kinds.MESSAGE_DELETED, {"message_id": message.id},
                           actor_id=actor.id)
        if not own:
            await audit.record(db, actor.id, audit.MESSAGE_DELETED, room_id=message.room_id, target_kind="message",
                        target_id=message.id)
    return found
