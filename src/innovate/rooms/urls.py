"""Where a room's pages are: the addresses handlers redirect to."""

from __future__ import annotations

from urllib.parse import quote


def room_url(slug: str, anchor: str = "") -> str:
    return f"/rooms/{quote(slug)}" + (f"#{anchor}" if anchor else "")


def idea_url(slug: str, idea_id: int, anchor: str = "") -> str:
    return f"/rooms/{quote(slug)}/ideas/{idea_id}" + (f"#{anchor}" if anchor else "")


def thread_url(slug: str, idea_id: int | None, anchor: str = "") -> str:
    """The page a thread is on: the idea's for an idea's thread, else the room's."""
    return idea_url(slug, idea_id, anchor) if idea_id else room_url(slug, anchor)
