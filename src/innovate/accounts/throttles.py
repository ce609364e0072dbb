"""Sliding-window throttles kept in the database, so every app process shares one count.

Allowed attempts are counted in buckets of 1/60 of the window (a second for a per-minute
limit, a minute for an hourly one), and a hit sums the buckets of the last window. Unlike
fixed windows this never lets twice the limit through around a window boundary or a burst
slip past the limit by straddling one; a bucket counts until all of it has left the window,
so the limit errs on the strict side by at most one bucket, and Retry-After is the moment
the oldest bucket that matters has left. A key holds at most ~61 rows however high its
limit; older ones are deleted on the way, and refused attempts are not stored.

A hit bumps its bucket first and then sums: parallel hits on one key meet at the bucket's
row (locked until commit), so no burst can pass between another request's count and its
own. A refused hit raises inside the caller's transaction, which rolls its bump back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import RateCounter
from innovate.db import PerDialect, utcnow
from innovate.errors import TooMany
from innovate.resources import Resources

# Counters older than this are of no use to any window we use; they are swept on the way.
KEEP = timedelta(days=2)


BUCKETS_PER_WINDOW = 60

# Built once with bind parameters on the table (Core, not ORM-enabled statements, which pay
# for ORM bulk-persistence machinery they do not use): posts and votes run them every time.
_counters = RateCounter.__table__
_SUM = select(
    func.coalesce(func.sum(case((_counters.c.window_start > bindparam("cutoff"), _counters.c.count), else_=0)), 0),
    func.min(_counters.c.window_start),
).where(_counters.c.key == bindparam("key"))
# The upsert that counts one attempt in its bucket.
_BUMP = PerDialect(lambda dialect: dialect.insert(_counters)
                   .values(key=bindparam("key"), window_start=bindparam("stamp"), count=1)
                   .on_conflict_do_update(index_elements=["key", "window_start"],
                                          set_={"count": _counters.c.count + 1}))


@dataclass(frozen=True)
class Window:
    """Where an attempt at ``now`` counts: its bucket's start, and the start before which
    buckets no longer overlap the last window."""

    now: datetime
    stamp: datetime
    cutoff: datetime
    span_seconds: int  # the window plus one bucket

    @classmethod
    def at(cls, now: datetime, window_seconds: int) -> Window:
        bucket = max(1, window_seconds // BUCKETS_PER_WINDOW)
        epoch = int(now.timestamp())
        return cls(now, datetime.fromtimestamp(epoch - epoch % bucket, UTC),
                   now - timedelta(seconds=window_seconds + bucket), window_seconds + bucket)


async def hit(db: AsyncSession, key: str, *, limit: int, window_seconds: int, message: str) -> int:
    """Count one attempt for ``key`` inside the caller's transaction; raise :class:`TooMany`
    (with Retry-After) when the last ``window_seconds`` already hold ``limit`` attempts.
    Returns the attempts in the window, this one included."""
    key = key[:200]
    window = Window.at(utcnow(), window_seconds)
    await db.execute(_BUMP(db), {"key": key, "stamp": window.stamp})
    used, oldest = (await db.execute(_SUM, {"key": key, "cutoff": window.cutoff})).one()
    if used > limit:
        raise await refusal(db, key, window, used - limit, message)
    if oldest is not None and oldest <= window.cutoff:
        await db.execute(delete(RateCounter).where(RateCounter.key == key, RateCounter.window_start <= window.cutoff))
    return int(used)


async def refusal(db: AsyncSession, key: str, window: Window, excess: int, message: str) -> TooMany:
    """The :class:`TooMany` for an attempt ``excess`` over the limit, with its Retry-After
    (read from the key's buckets in the window; a refused attempt is the rare case)."""
    recent = (await db.execute(select(RateCounter.window_start, RateCounter.count).where(
        RateCounter.key == key, RateCounter.window_start > window.cutoff).order_by(RateCounter.window_start))).all()
    return TooMany(message, _retry_after(recent, excess, window.now, window.span_seconds))


def _retry_after(recent: Sequence[Any], excess: int, now: datetime, span_seconds: int) -> int:
    """Whole seconds until ``excess`` of the ``recent`` attempts (oldest bucket first) have
    left the window: a bucket leaves ``span_seconds`` (window plus bucket) after it started."""
    left = 0
    for at, n in recent:
        left += n
        if left >= excess:
            return max(1, math.ceil((at + timedelta(seconds=span_seconds) - now).total_seconds()))
    return span_seconds  # a limit of 0: no wait is long enough, so name the window


async def hit_committed(resources: Resources, key: str, *, limit: int, window_seconds: int, message: str) -> None:
    """Like :func:`hit`, but in a transaction of its own: the attempt counts even when the
    action that follows fails (failed guesses are exactly what a throttle is for)."""
    async with resources.db.begin() as db:
        # Keys that went quiet days ago are swept on the way.
        await db.execute(delete(RateCounter).where(RateCounter.window_start < utcnow() - KEEP))
        await hit(db, key, limit=limit, window_seconds=window_seconds, message=message)
