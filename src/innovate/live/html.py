"""A frame's live HTML for browsers: htmx out-of-band parts rendered from the kind's template
(``kinds.py`` names it; ``templates/live/``), shaped for one viewer.

Additions that may already be on the page (the sender's own post, a replay after a
reconnect) are de-duplicated by id in room.js, keeping the copy that was there first.
"""

from __future__ import annotations

import logging
from typing import Any

from jinja2 import TemplateNotFound
from starlette.templating import Jinja2Templates

from innovate import kinds
from innovate.rooms import phases
from innovate.rooms.serializers import Viewer

log = logging.getLogger("innovate.live")


def render_event_html(templates: Jinja2Templates, frame: dict[str, Any], viewer: Viewer) -> str:
    """Out-of-band HTML for one API frame (see live/timeline.py), for one viewer; "" when the
    frame changes nothing a page shows (unknown kinds included)."""
    kind = kinds.kind_named(str(frame.get("kind", "")))
    if kind is None or kind.html is None:
        return ""
    try:
        template = templates.get_template(kind.html)
    except TemplateNotFound:
        log.error("the live template %s of %s is missing", kind.html, kind.name)
        return ""
    slug = str(frame.get("room", ""))
    context = {
        "frame": frame,
        "data": frame.get("data") or {},
        "viewer": viewer,
        "slug": slug,
        # Partials only need the slug; vote controls load themselves (they depend on the
        # room's rules and the viewer's own vote, which frames do not carry).
        "room": {"slug": slug},
        "blocked": {},
        "parents": {},
        "phases": phases,
    }
    return template.render(context).strip()
