"""Idea ranking: Wilson lower bound for up/down votes, totals otherwise, a time-decayed
trending score, and opaque cursors so lists page stably without offsets."""

from __future__ import annotations

import base64
import math
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Float, case, cast, func

from innovate.errors import Invalid
from innovate.i18n import gettext as _

Z95 = 1.959963984540054  # 95% confidence
TRENDING_GRAVITY = 1.5
TRENDING_OFFSET_HOURS = 2.0


def wilson_lower_bound(up: int, down: int) -> float:
    """The lower bound of the Wilson score interval for the share of positive votes."""
    n = up + down
    if n == 0:
        return 0.0
    p = up / n
    z2 = Z95 * Z95
    centre = p + z2 / (2 * n)
    margin = Z95 * math.sqrt((p * (1 - p) + z2 / (4 * n)) / n)
    return (centre - margin) / (1 + z2 / n)


def top_rank(mode: str, up: int, down: int, score: int) -> float:
    if mode == "updown":
        return wilson_lower_bound(up, down)
    return float(score)


def top_rank_sql(mode: str, up: Any, down: Any, score: Any) -> Any:
    """:func:`top_rank` as a SQL expression of (new) column values, so an UPDATE can keep
    ``rank_top`` in step with the tallies it changes in the same statement."""
    if mode != "updown":
        return cast(score, Float)
    n = cast(up + down, Float)
    p = cast(up, Float) / n
    z2 = Z95 * Z95
    bound = (p + z2 / (2 * n) - Z95 * func.sqrt((p * (1 - p) + z2 / (4 * n)) / n)) / (1 + z2 / n)
    return case((up + down == 0, 0.0), else_=bound)


def trending_rank(score: int, voters: int, messages: int, created_at: datetime, now: datetime) -> float:
    """Activity (net votes, plus a little for discussion) decayed by age, Hacker News style."""
    age_hours = max(0.0, (now - created_at).total_seconds() / 3600)
    activity = score + 0.5 * messages + 0.1 * voters
    return activity / math.pow(age_hours + TRENDING_OFFSET_HOURS, TRENDING_GRAVITY)


def encode_cursor(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str | None, keys: tuple[str, ...]) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
    except (ValueError, orjson.JSONDecodeError):
        raise Invalid.field("cursor", _("is not a cursor this list gave out")) from None
    if not isinstance(values, dict) or set(values) != set(keys):
        raise Invalid.field("cursor", _("is not a cursor this list gave out"))
    return values
