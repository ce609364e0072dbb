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
from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext, lazy_pgettext, ngettext
from innovate.i18n.formatting import format_date, format_datetime
from innovate.notifications.models import Notification
from innovate.rooms.models import Room

PAGE_SIZE = 30
STATUS_WORDS = {"submitted": lazy_pgettext("idea status", "submitted"),
                "under_review": lazy_pgettext("idea status", "under review"),
                "shortlisted": lazy_pgettext("idea status", "shortlisted"),
                "selected": lazy_pgettext("idea status", "selected"),
                "rejected": lazy_pgettext("idea status", "not taken forward")}
PHASE_WORDS = {"draft": lazy_pgettext("phase", "draft"), "open": lazy_pgettext("phase", "open"),
               "voting": lazy_pgettext("phase", "voting"), "closed": lazy_pgettext("phase", "closed"),
               "archived": lazy_pgettext("phase", "archived")}


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
    """One line, from what the item stores; never a post's text. Worded when it is read, in the
    reader's language (the inbox, the API, a mail written inside the recipient's locale)."""
    who = actor or _("Someone")
    many = count > 1
    if kind == "mention":
        return (ngettext("%(num)d mention of you in '%(title)s'", "%(num)d mentions of you in '%(title)s'", count,
                         title=title) if many else _("%(who)s mentioned you in '%(title)s'", who=who, title=title))
    if kind == "reply":
        return (ngettext("%(num)d new reply to you in '%(title)s'", "%(num)d new replies to you in '%(title)s'", count,
                         title=title) if many else _("%(who)s replied to you in '%(title)s'", who=who, title=title))
    if kind == "idea_comment":
        return (ngettext("%(num)d new comment on your idea '%(title)s'", "%(num)d new comments on your idea '%(title)s'",
                         count, title=title) if many
                else _("%(who)s commented on your idea '%(title)s'", who=who, title=title))
    if kind == "thread_comment":
        return (ngettext("%(num)d new reply in '%(title)s'", "%(num)d new replies in '%(title)s'", count, title=title)
                if many else _("%(who)s replied in '%(title)s'", who=who, title=title))
    if kind == "idea_status":
        status = STATUS_WORDS.get(str(data.get("status")), str(data.get("status")))
        return _("Your idea '%(title)s' is now %(status)s", title=title, status=status)
    if kind == "idea_merged":
        into = data.get("into_title")
        return (_("Your idea '%(title)s' was merged into '%(into)s'", title=title, into=into) if into
                else _("Your idea '%(title)s' was merged", title=title))
    if kind == "post_approved":
        return _("Your post in '%(title)s' was approved", title=title)
    if kind == "post_declined":
        reason = data.get("reason")
        return (_("Your post in '%(title)s' was declined: %(reason)s", title=title, reason=reason) if reason
                else _("Your post in '%(title)s' was declined", title=title))
    if kind == "phase":
        phase = data.get("phase")
        if phase == "voting":
            return _("Voting is open in '%(title)s'", title=title)
        if phase == "closed":
            return _("'%(title)s' has closed: see the results", title=title)
        return _("'%(title)s' is now %(phase)s", title=title, phase=PHASE_WORDS.get(str(phase), str(phase)))
    if kind == "publication_consent":
        return _("May we name you as the author of '%(title)s' on the public results?", title=title)
    if kind == "added_to_room":
        return _("%(who)s added you to '%(title)s'", who=who, title=title)
    if kind == "made_moderator":
        return _("%(who)s made you a moderator of '%(title)s'", who=who, title=title)
    if kind in ("review_assigned", "review_due"):
        return _review_subject(kind, data, title)
    if kind == "review_results":
        return _("The experts' reviews of your ideas in '%(title)s' are out", title=title)
    if kind == "access_ending":
        ends = data.get("ends_at")
        if isinstance(ends, str):
            return _("Your guest access to '%(title)s' ends %(when)s", title=title,
                     when=format_datetime(ends))
        return _("Your guest access to '%(title)s' ends soon", title=title)
    if kind == "join_request":
        pending = data.get("pending")
        if isinstance(pending, int) and pending > 1:
            return ngettext("%(num)d person asks to join '%(title)s'", "%(num)d people ask to join '%(title)s'", pending,
                            title=title)
        return _("%(who)s asks to join '%(title)s'", who=who, title=title)
    if kind == "join_approved":
        if data.get("opened"):
            return _("'%(title)s' is now open to all employees, and you are in", title=title)
        return _("You are in: %(who)s approved your request to join '%(title)s'", who=who, title=title)
    if kind == "join_declined":
        reason = data.get("reason")
        return (_("Your request to join '%(title)s' was declined: %(reason)s", title=title, reason=reason) if reason
                else _("Your request to join '%(title)s' was declined", title=title))
    if kind == "community_orphaned":
        return _("The community '%(title)s' has no owner any more: hand it to someone or archive it", title=title)
    if kind == "pulse":
        return (_("%(who)s asks: %(title)s", who=who, title=title) if data.get("question")
                else _("%(who)s: %(title)s", who=who, title=title))
    return title


def _review_subject(kind: str, data: dict[str, Any], title: str) -> str:
    pending = data.get("pending")
    count = pending if isinstance(pending, int) else 0
    deadline = data.get("deadline")
    if isinstance(deadline, str):
        by = format_date(deadline, "full")
        if kind == "review_due":
            return ngettext("Reminder: you still have %(num)d idea to review in '%(title)s' by %(date)s",
                            "Reminder: you still have %(num)d ideas to review in '%(title)s' by %(date)s", count,
                            title=title, date=by)
        return ngettext("You have %(num)d idea to review in '%(title)s' by %(date)s",
                        "You have %(num)d ideas to review in '%(title)s' by %(date)s", count, title=title, date=by)
    if kind == "review_due":
        return ngettext("Reminder: you still have %(num)d idea to review in '%(title)s'",
                        "Reminder: you still have %(num)d ideas to review in '%(title)s'", count, title=title)
    return ngettext("You have %(num)d idea to review in '%(title)s'",
                    "You have %(num)d ideas to review in '%(title)s'", count, title=title)


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
        raise Invalid.field("cursor", lazy_gettext("not a cursor this API gave out")) from None


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
