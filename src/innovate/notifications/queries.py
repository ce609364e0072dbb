"""Reading a person's notifications: the inbox page, the API's pages, and each item's words."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from innovate.accounts.models import User
from innovate.errors import Invalid
from innovate.notifications.models import Notification
from innovate.rooms.models import Room

PAGE_SIZE = 30
STATUS_WORDS = {"submitted": "submitted", "under_review": "under review", "shortlisted": "shortlisted",
                "selected": "selected", "rejected": "not taken forward"}


@dataclass(frozen=True)
class Item:
    row: Notification
    actor: str | None
    room_slug: str | None
    room_title: str | None

    @property
    def url(self) -> str:
        return self.row.path + (f"#{self.row.anchor}" if self.row.anchor else "")

    @property
    def subject(self) -> str:
        return subject(self.row.kind, self.row.count, self.row.title, self.actor, self.row.data or {},
                       self.room_title or "")

    def json(self) -> dict[str, Any]:
        r = self.row
        return {
            "id": r.id, "kind": r.kind, "category": r.category,
            "room": {"slug": self.room_slug, "title": self.room_title} if self.room_slug else None,
            "subject": self.subject, "url": self.url, "count": r.count,
            "created_at": r.created_at.isoformat(), "updated_at": r.updated_at.isoformat(),
            "read_at": r.read_at.isoformat() if r.read_at else None,
        }


def subject(kind: str, count: int, title: str, actor: str | None, data: dict[str, Any], room: str) -> str:
    """One line, from what the item stores; never a post's text."""
    who = actor or "Someone"
    many = count > 1
    if kind == "mention":
        return f"{count} mentions of you in '{title}'" if many else f"{who} mentioned you in '{title}'"
    if kind == "reply":
        return f"{count} new replies to you in '{title}'" if many else f"{who} replied to you in '{title}'"
    if kind == "idea_comment":
        return (f"{count} new comments on your idea '{title}'" if many
                else f"{who} commented on your idea '{title}'")
    if kind == "thread_comment":
        return f"{count} new replies in '{title}'" if many else f"{who} replied in '{title}'"
    if kind == "idea_status":
        status = STATUS_WORDS.get(str(data.get("status")), str(data.get("status")))
        return f"Your idea '{title}' is now {status}"
    if kind == "idea_merged":
        into = data.get("into_title")
        return f"Your idea '{title}' was merged into '{into}'" if into else f"Your idea '{title}' was merged"
    if kind == "post_approved":
        return f"Your post in '{title}' was approved"
    if kind == "post_declined":
        reason = data.get("reason")
        return f"Your post in '{title}' was declined" + (f": {reason}" if reason else "")
    if kind == "phase":
        phase = data.get("phase")
        if phase == "voting":
            return f"Voting is open in '{title}'"
        if phase == "closed":
            return f"'{title}' has closed: see the results"
        return f"'{title}' is now {phase}"
    if kind == "publication_consent":
        return f"May we name you as the author of '{title}' on the public results?"
    if kind == "added_to_room":
        return f"{who} added you to '{title}'"
    if kind == "made_moderator":
        return f"{who} made you a moderator of '{title}'"
    if kind in ("review_assigned", "review_due"):
        pending = data.get("pending")
        ideas = "1 idea" if pending == 1 else f"{pending} ideas"
        deadline = data.get("deadline")
        by = f" by {datetime.fromisoformat(deadline):%A %d %B}" if isinstance(deadline, str) else ""
        if kind == "review_due":
            return f"Reminder: you still have {ideas} to review in '{title}'{by}"
        return f"You have {ideas} to review in '{title}'{by}"
    if kind == "review_results":
        return f"The experts' reviews of your ideas in '{title}' are out"
    if kind == "access_ending":
        ends = data.get("ends_at")
        when = datetime.fromisoformat(ends).strftime("%Y-%m-%d %H:%M UTC") if isinstance(ends, str) else "soon"
        return f"Your guest access to '{title}' ends {when}"
    if kind == "join_request":
        pending = data.get("pending")
        if isinstance(pending, int) and pending > 1:
            return f"{pending} people ask to join '{title}'"
        return f"{who} asks to join '{title}'"
    if kind == "join_approved":
        if data.get("opened"):
            return f"'{title}' is now open to all employees, and you are in"
        return f"You are in: {who} approved your request to join '{title}'"
    if kind == "join_declined":
        reason = data.get("reason")
        return f"Your request to join '{title}' was declined" + (f": {reason}" if reason else "")
    if kind == "community_orphaned":
        return f"The community '{title}' has no owner any more: hand it to someone or archive it"
    if kind == "pulse":
        return f"{who} asks: {title}" if data.get("question") else f"{who}: {title}"
    return title


def encode_cursor(row: Notification) -> str:
    raw = f"{row.updated_at.isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, ident = raw.split("|")
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError
        return when, int(ident)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise Invalid.field("cursor", "not a cursor this API gave out") from None


_actor = aliased(User)


async def page(db: AsyncSession, user_id: int, *, unread_only: bool = False, cursor: str | None = None,
               limit: int = PAGE_SIZE) -> tuple[list[Item], str | None]:
    """Newest first (by the latest event on each item); the cursor of the next page."""
    statement = (
        select(Notification, _actor.name, Room.slug, Room.title)
        .outerjoin(_actor, _actor.id == Notification.actor_id)
        .outerjoin(Room, Room.id == Notification.room_id)
        .where(Notification.user_id == user_id)
        .order_by(Notification.updated_at.desc(), Notification.id.desc())
        .limit(limit + 1)
    )
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    if cursor:
        at, ident = decode_cursor(cursor)
        statement = statement.where(or_(Notification.updated_at < at,
                                        (Notification.updated_at == at) & (Notification.id < ident)))
    rows = (await db.execute(statement)).all()
    items = [Item(row=n, actor=actor, room_slug=slug, room_title=title) for n, actor, slug, title in rows[:limit]]
    return items, encode_cursor(items[-1].row) if len(rows) > limit else None
