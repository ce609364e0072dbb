"""Fixed-window throttles kept in the database, so every app process shares one count.

A hit is one upsert (``count = count + 1 ... RETURNING count``): parallel requests are
serialised by the row, and no read-then-write in Python can let a burst through.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.auth.models import RateCounter
from innovate.db import insert_for, utcnow
from innovate.errors import TooMany
from innovate.resources import Resources

# Counters older than this are of no use to any window we use; they are swept on the way.
KEEP = timedelta(days=2)


def window_start(now: datetime, window_seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_seconds, UTC)


async def hit(db: AsyncSession, key: str, *, limit: int, window_seconds: int, message: str) -> int:
    """Count one attempt for ``key`` in the current window inside the caller's transaction;
    raise :class:`TooMany` (with Retry-After) once the window holds more than ``limit``."""
    now = utcnow()
    start = window_start(now, window_seconds)
    stmt = insert_for(db, RateCounter).values(key=key[:200], window_start=start, count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["key", "window_start"], set_={"count": RateCounter.count + 1}
    ).returning(RateCounter.count)
    count = int((await db.execute(stmt)).scalar_one())
    if count > limit:
        retry_after = int((start + timedelta(seconds=window_seconds) - now).total_seconds()) + 1
        raise TooMany(message, retry_after)
    return count


async def hit_committed(resources: Resources, key: str, *, limit: int, window_seconds: int, message: str) -> None:
    """Like :func:`hit`, but in a transaction of its own: the attempt counts even when the
    action that follows fails (failed guesses are exactly what a throttle is for)."""
    over: TooMany | None = None
    async with resources.db.begin() as db:
        await db.execute(delete(RateCounter).where(RateCounter.window_start < utcnow() - KEEP))
        try:
            await hit(db, key, limit=limit, window_seconds=window_seconds, message=message)
        except TooMany as exc:
            over = exc  # keep the count: raising inside the block would roll it back
    if over is not None:
        raise over
