"""Notifications set to "immediately" become mail once their gather window has passed: all of
a person's waiting notifications of one category go out together, so ten replies make one
mail. What the person read in the app meanwhile is not mailed."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select, update
from sqlalchemy.orm import aliased

from innovate.accounts.models import User
from innovate.db import utcnow
from innovate.i18n import lazy_gettext, ngettext
from innovate.mail import messages
from innovate.mail.audience import mailable, visible_rooms
from innovate.mail.outbox import Draft, enqueue
from innovate.mail.unsubscribe import unsubscribe_url
from innovate.notifications import preferences
from innovate.notifications.models import Notification
from innovate.notifications.preferences import CATEGORY_LABELS
from innovate.notifications.queries import Item
from innovate.resources import Resources
from innovate.rooms.models import Room

WHY = {
    "mentions": lazy_gettext("You get this because someone mentioned you, replied to you, or reviewed your post."),
    "ideas": lazy_gettext("You get this because of activity on your ideas or in idea threads you took part in."),
    "phases": lazy_gettext("You get this because a room you are in changed phase."),
    "invitations": lazy_gettext("You get this because of your access to a room, or a request to join one."),
    "pulses": lazy_gettext("You get this because HR sent a pulse to people like you."),
}


async def gather_due(resources: Resources, limit: int = 200) -> int:
    """Mail every person whose first waiting notification is due; how many mails were queued."""
    now = utcnow()
    async with resources.db() as db:
        people = (await db.execute(select(Notification.user_id).where(
            Notification.mail_state == "pending", Notification.mail_due_at <= now).distinct().limit(limit))).scalars().all()
    queued = 0
    for user_id in people:
        queued += await gather_for(resources, user_id)
    return queued


_actor = aliased(User)


async def gather_for(resources: Resources, user_id: int) -> int:
    settings = resources.settings
    async with resources.db.begin() as db:
        rows = (await db.execute(
            select(Notification, _actor.name, Room.slug, Room.title)
            .outerjoin(_actor, _actor.id == Notification.actor_id).outerjoin(Room, Room.id == Notification.room_id)
            .where(Notification.user_id == user_id, Notification.mail_state == "pending")
            .order_by(Notification.updated_at).with_for_update(of=Notification))).all()
        if not rows:
            return 0
        user = await db.get(User, user_id)
        prefs = await preferences.load(db, user_id)
        refused = await mailable(db, user) if user is not None else "gone"
        rooms = await visible_rooms(db, user, {n.room_id for n, *_ in rows if n.room_id}) if user and not refused else set()
        by_category: dict[str, list[Item]] = defaultdict(list)
        skipped: list[int] = []
        for n, actor, slug, title in rows:
            still_wanted = prefs.choice(n.category) == preferences.IMMEDIATELY
            if refused or n.read_at is not None or not still_wanted or (n.room_id and n.room_id not in rooms):
                skipped.append(n.id)
            else:
                by_category[n.category].append(Item(row=n, actor=actor, room_slug=slug, room_title=title))
        if skipped:
            await db.execute(update(Notification).where(Notification.id.in_(skipped)).values(mail_state="skipped"))
        queued = 0
        for category, items in by_category.items():
            assert user is not None and user.email
            link = unsubscribe_url(settings.public_url, settings.secret_key, user.id, category)
            with messages.for_recipient(settings, user.locale, prefs.zone):
                text, html = messages.render(
                    "notifications", items=items, public_url=settings.public_url, unsubscribe_url=link,
                    why=WHY[category], title=CATEGORY_LABELS[category])
                subject = items[0].subject if len(items) == 1 else ngettext(
                    "%(subject)s (and %(num)d more)", "%(subject)s (and %(num)d more)", len(items) - 1,
                    subject=items[-1].subject)
            await enqueue(db, settings, Draft(to_address=user.email, subject=subject, body_text=text, body_html=html,
                                              purpose="notifications", user_id=user.id, category=category,
                                              unsubscribe_url=link))
            await db.execute(update(Notification).where(Notification.id.in_([i.row.id for i in items]))
                             .values(mail_state="queued"))
            queued += 1
        return queued
