"""Frames the transport makes itself: JSON encoding, and the ephemeral frames (presence,
typing, standing, pong) that are the same for every page and never stored.

What a stored event's frame says, and its HTML for browsers, is the feed's
(:mod:`innovate.live.feed`).
"""

from __future__ import annotations

from typing import Any

import orjson

from innovate.db import utcnow
from innovate.realtime.connection import Outgoing


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def now_iso() -> str:
    return utcnow().isoformat()


PONG = Outgoing(dumps({"kind": "pong"}))


def ephemeral(kind: str, slug: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "room": slug, "at": now_iso(), "data": data}
