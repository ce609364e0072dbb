"""What a socket receives: API frames, encoded once per view, for JSON or HTML clients.

- ``format=json``: the frame itself, ``{"seq", "kind", "room", "at", "data"}`` (API.md).
- ``format=html`` (browsers): ``{"seq", "kind", "content"}``, where ``content`` is the
  out-of-band swap HTML rendered from the page partials (htmx's hx-ws swaps a JSON message
  that has ``content``; live.js reads ``seq`` from it). Frames with nothing to swap for that
  viewer keep their seq and carry no content.

Ephemeral frames (presence, typing, standing, pong) are JSON for both formats; the page
script renders them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson

from innovate.db import utcnow
from innovate.realtime.connection import Outgoing
from innovate.rooms.serializers import Viewer

log = logging.getLogger("innovate.live")

FORMATS = ("html", "json")
HtmlRenderer = Callable[[Any, dict[str, Any], Viewer], str]


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def now_iso() -> str:
    return utcnow().isoformat()


PONG = Outgoing(dumps({"kind": "pong"}))


def ephemeral(kind: str, slug: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "room": slug, "at": now_iso(), "data": data}


def _fragments_renderer() -> HtmlRenderer | None:
    try:
        from innovate.live.fragments import render_event_html
    except ImportError:
        log.warning("innovate.rooms.fragments is missing: HTML live frames carry no content")
        return None
    return render_event_html


class Encoder:
    """Turns an API frame into the ASGI message one view of one format receives."""

    def __init__(self, templates: Any) -> None:
        self.templates = templates
        self._render_html = _fragments_renderer()

    def message(self, fmt: str, frame: dict[str, Any], viewer: Viewer) -> Outgoing:
        return Outgoing(self.text(fmt, frame, viewer))

    def text(self, fmt: str, frame: dict[str, Any], viewer: Viewer) -> str:
        if fmt == "json":
            return dumps(frame)
        wrapper: dict[str, Any] = {"kind": frame["kind"]}
        if frame.get("seq") is not None:
            wrapper["seq"] = frame["seq"]
        content = self.html(frame, viewer)
        if content:
            wrapper["content"] = content
        return dumps(wrapper)

    def html(self, frame: dict[str, Any], viewer: Viewer) -> str | None:
        if self._render_html is None or self.templates is None:
            return None
        try:
            return self._render_html(self.templates, frame, viewer) or None
        except Exception:
            # One bad fragment must not stop the room: the page still advances its seq.
            log.exception("rendering the live fragment for %s failed", frame.get("kind"))
            return None
