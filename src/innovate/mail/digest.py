"""The digest: one short mail per person in their local morning (daily, or Monday for
weekly), about their rooms since the last one. Nothing is sent when nothing happened.

It holds: the notifications of the categories set to the digest; rooms in voting where the
person has not voted yet, with when voting closes; and per room, what came in (ideas,
messages, phase changes) and its top ideas. It is sent when there is a notification for
them, a new idea or phase change in one of their rooms, or a vote of theirs wanted in a
room that closes within a day and a half; chatter alone waits for the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, insert, literal, select, update
from sqlalchemy.orm import aliased

from innovate.accounts.models import User
from innovate.db import utcnow
from innovate.i18n import gettext as _
from innovate.i18n import ngettext
from innovate.mail import messages
from innovate.mail.audience import mailable, visible_rooms
from innovate.mail.outbox import Draft, enqueue
from innovate.mail.unsubscribe import DIGEST, unsubscribe_url
from innovate.notifications import preferences
from innovate.notifications.models import Notification, NotificationSettings
from innovate.notifications.queries import Item
from innovate.resources import Resources
from innovate.rooms.models import Event, Idea, Message, Room, Vote

TOP_IDEAS = 3
VOTE_SOON = timedelta(hours=36)
SCHEDULE_EVERY = timedelta(minutes=10)


@dataclass
class Digest:
    notes: list[Item] = field(default_factory=list)
    votes: list[dict[str, Any]] = field(default_factory=list)
    rooms: list[dict[str, Any]] = field(default_factory=list)
    worth_sending: bool = False


async def schedule_everyone(resources: Resources) -> None:
    """Give every active person with an address a digest time (the defaults include a daily
    digest): their next local morning, UTC for those whose zone is not known yet."""
    now = utcnow()
    first = preferences.next_digest(now, preferences.DAILY, preferences.zone_or_utc(None), resources.settings.digest_hour)
    async with resources.db.begin() as db:
        await db.execute(insert(NotificationSettings).from_select(
            ["user_id", "next_digest_at", "updated_at"],
            select(User.id, literal(first, NotificationSettings.next_digest_at.type),
                   literal(now, NotificationSettings.updated_at.type))
            .where(User.is_active.is_(True), User.email.is_not(None),
                   ~exists().where(NotificationSettings.user_id == User.id))))


async def digests_due(resources: Resources, limit: int = 100) -> int:
    now = utcnow()
    async with resources.db() as db:
        due = (await db.execute(select(NotificationSettings.user_id).where(NotificationSettings.next_digest_at <= now)
                                .order_by(NotificationSettings.next_digest_at).limit(limit))).scalars().all()
    sent = 0
    for user_id in due:
        sent += await digest_for(resources, user_id, now)
    return sent


_actor = aliased(User)


async def collect(db: Any, user: User, prefs: preferences.Preferences, since: datetime, now: datetime) -> Digest:
    digest = Digest()
    digest_categories = [c for c in preferences.CATEGORIES if prefs.choice(c) in (preferences.DAILY, preferences.WEEKLY)]
    rooms = await visible_rooms(db, user)
    if digest_categories:
        rows = (await db.execute(
            select(Notification, _actor.name, Room.slug, Room.title)
            .outerjoin(_actor, _actor.id == Notification.actor_id).outerjoin(Room, Room.id == Notification.room_id)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None),
                   Notification.category.in_(digest_categories), Notification.updated_at > since)
            .order_by(Notification.updated_at.desc()).limit(20))).all()
        digest.notes = [Item(row=n, actor=a, room_slug=s, room_title=t) for n, a, s, t in rows
                        if n.room_id is None or n.room_id in rooms]
    # Unanswered mentions stay on the list until read, whatever their setting.
    mentions = (await db.execute(
        select(Notification, _actor.name, Room.slug, Room.title)
        .outerjoin(_actor, _actor.id == Notification.actor_id).outerjoin(Room, Room.id == Notification.room_id)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None), Notification.kind == "mention",
               Notification.category.notin_(digest_categories))
        .order_by(Notification.updated_at.desc()).limit(10))).all()
    digest.notes += [Item(row=n, actor=a, room_slug=s, room_title=t) for n, a, s, t in mentions if n.room_id in rooms]
    if not rooms:
        return digest
    room_rows = (await db.execute(select(Room).where(Room.id.in_(rooms)).order_by(Room.title))).scalars().all()
    for room in room_rows:
        voted = exists().where(Vote.room_id == room.id, Vote.user_id == user.id)
        if room.phase == "voting" and not (await db.execute(select(voted))).scalar():
            closes = room.closes_at
            digest.votes.append({"title": room.title, "slug": room.slug, "closes_at": closes})
            if closes is not None and closes - now <= VOTE_SOON:
                digest.worth_sending = True
        ideas = (await db.execute(select(func.count()).select_from(Idea).where(
            Idea.room_id == room.id, Idea.created_at > since, Idea.state == "visible"))).scalar_one()
        posts = (await db.execute(select(func.count()).select_from(Message).where(
            Message.room_id == room.id, Message.created_at > since, Message.state == "visible"))).scalar_one()
        phases = (await db.execute(select(Event.data).where(
            Event.room_id == room.id, Event.kind == "room.phase_changed", Event.created_at > since)
            .order_by(Event.seq))).scalars().all()
        if not (ideas or posts or phases):
            continue
        hidden = room.hide_tallies_until_closed and room.phase not in ("closed", "archived")
        top = (await db.execute(select(Idea.id, Idea.title, Idea.score).where(
            Idea.room_id == room.id, Idea.state == "visible", Idea.status != "merged")
            .order_by(Idea.created_at.desc() if hidden else Idea.rank_top.desc(), Idea.id.desc()).limit(TOP_IDEAS))).all()
        # Counted here, worded by the template in the recipient's language.
        digest.rooms.append({"title": room.title, "slug": room.slug, "ideas": ideas, "posts": posts,
                             "phases": [str(change.get("to")) for change in phases],
                             "top": [{"id": i, "title": t, "score": None if hidden else s} for i, t, s in top]})
        if ideas or phases:
            digest.worth_sending = True
    if digest.notes:
        digest.worth_sending = True
    return digest


def _digest_topics(digest: Digest) -> str:
    """The subject's gist: the first rooms by name, or how many things are waiting."""
    names = [r["title"] for r in digest.rooms] or [v["title"] for v in digest.votes]
    if not names:
        return ngettext("%(num)d for you", "%(num)d for you", len(digest.notes))
    if len(names) <= 2:
        return ", ".join(names)
    return ngettext("%(first)s and %(num)d more", "%(first)s and %(num)d more", len(names) - 2,
                    first=", ".join(names[:2]))


async def digest_for(resources: Resources, user_id: int, now: datetime) -> int:
    """Compose and queue this person's digest if something happened; schedule the next one.
    The schedule moves in the same transaction as the queued mail: one digest per morning."""
    settings = resources.settings
    async with resources.db.begin() as db:
        row = await db.get(NotificationSettings, user_id, with_for_update=True)
        if row is None or row.next_digest_at is None or row.next_digest_at > now:
            return 0
        prefs = preferences.of_row(row)
        user = await db.get(User, user_id)
        since = row.last_digest_at or (now - (timedelta(days=7) if prefs.digest == preferences.WEEKLY
                                              else timedelta(days=1)))
        row.last_digest_at = now
        row.next_digest_at = preferences.next_digest(now, prefs.digest, prefs.zone, settings.digest_hour)
        if user is None or prefs.digest is None or await mailable(db, user) is not None:
            return 0
        digest = await collect(db, user, prefs, since, now)
        if not digest.worth_sending:
            return 0
        assert user.email
        link = unsubscribe_url(settings.public_url, settings.secret_key, user.id, DIGEST)
        with messages.for_recipient(settings, user.locale, prefs.zone):
            weekly = prefs.digest == preferences.WEEKLY
            label = _("Your weekly summary") if weekly else _("Your daily summary")
            why = (_("Your weekly summary of your challenges on Innovate, sent only when something happened.")
                   if weekly else
                   _("Your daily summary of your challenges on Innovate, sent only when something happened."))
            text, html = messages.render("digest", notes=digest.notes, votes=digest.votes, rooms=digest.rooms,
                                         public_url=settings.public_url, unsubscribe_url=link, title=label, why=why)
            subject = _("%(label)s: %(what)s", label=label, what=_digest_topics(digest))
        await enqueue(db, settings, Draft(to_address=user.email, subject=subject, body_text=text, body_html=html,
                                          purpose="digest", user_id=user.id, category=DIGEST, unsubscribe_url=link))
        await db.execute(update(Notification).where(
            Notification.id.in_([i.row.id for i in digest.notes]), Notification.mail_state.is_(None))
            .values(mail_state="queued"))
        return 1
