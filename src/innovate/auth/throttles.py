"""Sliding-window throttles kept in the database, so every app process shares one count.

Each allowed attempt is a row stamped with its time; a hit counts the rows of the last
``window_seconds``. Unlike fixed windows this never lets twice the limit through around a
window boundary, and Retry-After is exact: the moment the oldest attempt that matters
leaves the window. Rows older than the window are deleted on the way, so a key holds at
most ``limit`` of them; refused attempts are not stored.

Parallel hits on one key are serialised (a transaction-scoped advisory lock on PostgreSQL;
SQLite serialises writers anyway), so no burst can pass between another request's count
and its insert.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.auth.models import RateCounter
from innovate.db import insert_for, is_postgres, utcnow
from innovate.errors import TooMany
from innovate.resources import Resources

# Counters older than this are of no use to any window we use; they are swept on the way.
KEEP = timedelta(days=2)


async def hit(db: AsyncSession, key: str, *, limit: int, window_seconds: int, message: str) -> int:
    """Count one attempt for ``key`` inside the caller's transaction; raise :class:`TooMany`
    (with Retry-After) when the last ``window_seconds`` already hold ``limit`` attempts.
    Returns the attempts in the window, this one included."""
    now = utcnow()
    key = key[:200]
    if is_postgres(db):
        await db.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
    rows = (await db.execute(
        select(RateCounter.window_start, RateCounter.count)
        .where(RateCounter.key == key).order_by(RateCounter.window_start)
    )).all()
    cutoff = now - timedelta(seconds=window_seconds)
    if rows and rows[0].window_start <= cutoff:
        await db.execute(delete(RateCounter).where(RateCounter.key == key, RateCounter.window_start <= cutoff))
    recent = [(row.window_start, row.count) for row in rows if row.window_start > cutoff]
    used = sum(n for _, n in recent)
    if used + 1 > limit:
        raise TooMany(message, _retry_after(recent, used + 1 - limit, now, window_seconds))
    attempt = insert_for(db, RateCounter).values(key=key, window_start=now, count=1)
    await db.execute(attempt.on_conflict_do_update(index_elements=["key", "window_start"],
                                                   set_={"count": RateCounter.count + 1}))
    return used + 1


def _retry_after(recent: list[tuple[datetime, int]], excess: int, now: datetime, window_seconds: int) -> int:
    """Whole seconds until ``excess`` of the ``recent`` attempts (oldest first) have left the window."""
    left = 0
    for at, n in recent:
        left += n
        if left >= excess:
            return max(1, math.ceil((at + timedelta(seconds=window_seconds) - now).total_seconds()))
    return window_seconds  # a limit of 0: no wait is long enough, so name the window


async def hit_committed(resources: Resources, key: str, *, limit: int, window_seconds: int, message: str) -> None:
    """Like :func:`hit`, but in a transaction of its own: the attempt counts even when the
    action that follows fails (failed guesses are exactly what a throttle is for)."""
    async with resources.db.begin() as db:
        # Keys that went quiet days ago are swept on the way.
        await db.execute(delete(RateCounter).where(RateCounter.window_start < utcnow() - KEEP))
        await hit(db, key, limit=limit, window_seconds=window_seconds, message=message)
