"""The reminder two days before a review deadline: each reviewer with ideas left gets one
(a ``review.reminder`` event addressed to them, which notifies them). The scheduler runs it
on every tick; a conditional UPDATE on the deadline it reminded of makes it once per
deadline, whichever process gets there first. Moving the deadline earns a new reminder."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from innovate import kinds
from innovate.db import affected, utcnow
from innovate.resources import Resources
from innovate.rooms.events import append_event
from innovate.rooms.models import Room
from innovate.rooms.reviews.models import Assignment, ReviewSettings
from innovate.rooms.reviews.queries import deadline_of, pending_count
from innovate.writes import write

REMIND_BEFORE = timedelta(days=2)


async def remind_due(resources: Resources, now: datetime | None = None) -> int:
    """Send the reminders that are due; the number of reviewers reminded."""
    now = now or utcnow()
    async with resources.db() as db:
        rows = (await db.execute(select(ReviewSettings, Room).join(Room, Room.id == ReviewSettings.room_id).where(
            Room.phase.notin_(("closed", "archived")), ReviewSettings.released_at.is_(None)))).all()
        due = [(room.id, deadline) for settings, room in rows
               if (deadline := deadline_of(settings, room)) is not None and now < deadline <= now + REMIND_BEFORE
               and settings.reminded_for != deadline]
    reminded = 0
    for room_id, deadline in due:
        async with write(resources) as (db, outbox):
            claimed = affected(await db.execute(update(ReviewSettings).where(
                ReviewSettings.room_id == room_id,
                or_(ReviewSettings.reminded_for.is_(None), ReviewSettings.reminded_for != deadline))
                .values(reminded_for=deadline)))
            if not claimed:
                continue
            reviewers = (await db.execute(select(Assignment.reviewer_id).where(Assignment.room_id == room_id)
                                          .distinct().order_by(Assignment.reviewer_id))).scalars().all()
            for reviewer_id in reviewers:
                pending = await pending_count(db, room_id, reviewer_id)
                if pending:
                    await append_event(db, outbox, room_id, kinds.REVIEW_REMINDER,
                                       {"user_id": reviewer_id, "pending": pending, "deadline": deadline.isoformat()},
                                       audience=f"user:{reviewer_id}")
                    reminded += 1
    return reminded
