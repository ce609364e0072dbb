"""Live fragments: one timeline frame (already shaped for its viewer) → htmx 4 out-of-band
HTML, rendered from the same partials as the pages.

Every change is an ``<hx-partial>`` naming its target and swap, so a frame never needs the
page to be in a particular shape: a target that is not on the page is skipped by htmx.
Additions that may already be there (the sender's own post, a replay after reconnect) are
de-duplicated by id in room.js, keeping the copy that was there first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import escape
from starlette.templating import Jinja2Templates

from innovate.rooms.phases import Standing, next_step, phase_blocks, phase_moves
from innovate.rooms.serializers import Viewer

Part = str
PHASE_NAMES = {"draft": "draft", "open": "open for ideas", "voting": "voting", "closed": "closed",
               "archived": "archived"}


def partial(target: str, swap: str, html: str) -> Part:
    """One out-of-band change: ``html`` goes to ``target`` (a CSS selector) with ``swap``."""
    return f'<hx-partial hx-target="{escape(target)}" hx-swap="{escape(swap)}">{html}</hx-partial>'


def announce(text: str) -> Part:
    """Text for screen readers, read out by the page's polite live region."""
    return partial("#live-announcer", "innerHTML", str(escape(text)))


def thread_key(message: dict[str, Any]) -> str:
    return f"idea-{message['idea_id']}" if message.get("idea_id") else "room"


class _Renderer:
    def __init__(self, templates: Jinja2Templates, frame: dict[str, Any], viewer: Viewer) -> None:
        self.templates = templates
        self.frame = frame
        self.viewer = viewer
        self.data: dict[str, Any] = frame.get("data") or {}
        # Partials only need the slug; vote controls load themselves (they depend on the
        # room's rules and the viewer's own vote, which frames do not carry).
        self.room: dict[str, Any] = {"slug": frame.get("room", "")}

    def render(self, name: str, **context: Any) -> str:
        base = {"room": self.room, "viewer": self.viewer, "blocked": {}, "parents": {}}
        return self.templates.get_template(name).render({**base, **context})

    # Messages -----------------------------------------------------------------------------

    def message_posted(self) -> list[Part]:
        m = self.data.get("message")
        if not m:
            return []
        key = thread_key(m)
        parts = [partial(f"#thread-{key}", "beforeend", self.render("rooms/_message.html", m=m)),
                 partial(f"#empty-{key}", "delete", "")]
        author = m.get("author") or {}
        if m.get("state") == "visible" and author.get("id") != self.viewer.user_id:
            where = "on an idea" if m.get("idea_id") else "in the discussion"
            parts.append(announce(f"New message from {author.get('name', 'a member')} {where}."))
        return parts

    def message_changed(self) -> list[Part]:
        m = self.data.get("message")
        if not m:
            return []
        return [partial(f"#message-{int(m['id'])}", "outerHTML", self.render("rooms/_message.html", m=m))]

    def message_back(self) -> list[Part]:
        """Restored or approved: replace in place, or add it if this page never had it."""
        m = self.data.get("message")
        if not m:
            return []
        html = self.render("rooms/_message.html", m=m)
        return [partial(f"#message-{int(m['id'])}", "outerHTML", html),
                partial(f"#thread-{thread_key(m)}", "beforeend", html)]

    # Ideas --------------------------------------------------------------------------------

    def idea_submitted(self) -> list[Part]:
        idea = self.data.get("idea")
        if not idea:
            return []
        parts = [partial("#ideas-list", "afterbegin", self.render("rooms/_idea_card.html", idea=idea)),
                 partial("#ideas-empty", "delete", "")]
        if idea.get("state") == "visible" and (idea.get("author") or {}).get("id") != self.viewer.user_id:
            parts.append(announce(f"New idea: {idea.get('title', '')}"))
        return parts

    def idea_changed(self) -> list[Part]:
        idea = self.data.get("idea")
        if not idea:
            return []
        return self._idea_in_place(idea)

    def idea_back(self) -> list[Part]:
        idea = self.data.get("idea")
        if not idea:
            return []
        card = self.render("rooms/_idea_card.html", idea=idea)
        return [*self._idea_in_place(idea), partial("#ideas-list", "afterbegin", card)]

    def _idea_in_place(self, idea: dict[str, Any]) -> list[Part]:
        ident = int(idea["id"])
        return [partial(f"#idea-{ident}", "outerHTML", self.render("rooms/_idea_card.html", idea=idea)),
                partial(f"#idea-detail-{ident}", "outerHTML", self.render("rooms/_idea_detail.html", idea=idea))]

    def tallies(self) -> list[Part]:
        parts = []
        for tally in self.data.get("tallies") or []:
            ident = int(tally["idea_id"])
            parts.append(partial(f"#tally-{ident}", "outerHTML",
                                 self.render("rooms/_tally.html", idea_id=ident, tally=tally)))
        return parts

    def my_vote(self) -> list[Part]:
        """The caller voted (maybe in another tab): their controls for that idea reload, and
        with them the dots they have left."""
        ident = self.data.get("idea_id")
        if not isinstance(ident, int):
            return []
        return [partial(f"#vote-{ident}", "outerHTML", self.render("rooms/_votes.html", idea={"id": ident}))]

    # The room -----------------------------------------------------------------------------

    def room_changed(self) -> list[Part]:
        room = self.data.get("room")
        if not room:
            return []
        context = {"room": room, "blocked": phase_blocks(room, self.viewer.moderator), "next_step": next_step(room)}
        parts = [partial("#phase-banner", "outerHTML", self.render("rooms/_phase_banner.html", **context))]
        if self.frame.get("kind") == "room.updated":
            parts.append(partial("#brief-body", "outerHTML", self.render("rooms/_brief.html", room=room)))
            parts.append(partial("#room-title", "innerHTML", str(escape(room.get("title", "")))))
        if self.viewer.moderator:
            parts.append(partial("#phase-controls", "outerHTML", self.render(
                "rooms/_phase_controls.html", room=room, phase_moves=phase_moves(room), form=None)))
        if self.frame.get("kind") == "room.phase_changed":
            parts.append(announce(f"The room is now {PHASE_NAMES.get(room['phase'], room['phase'])}."))
        return parts

    # Members ------------------------------------------------------------------------------

    def member_joined(self) -> list[Part]:
        member = self.data.get("member")
        if not member:
            return []
        parts = [partial("#members", "beforeend", self.render("rooms/_member.html", member=member))]
        return parts + self._own_standing(member)

    def member_gone(self) -> list[Part]:
        user_id = self._member_id()
        if user_id is None:
            return []
        parts = [partial(f"#member-{user_id}", "delete", "")]
        if user_id == self.viewer.user_id:
            parts.append(self._standing(Standing(member=False, muted_until=None, can_join=False)))
        return parts

    def member_changed(self) -> list[Part]:
        member = self.data.get("member")
        if not member:
            return []
        parts = [partial(f"#member-{int(member['user_id'])}", "outerHTML", self.render("rooms/_member.html", member=member))]
        return parts + self._own_standing(member)

    def _member_id(self) -> int | None:
        member = self.data.get("member") or {}
        raw = member.get("user_id", self.data.get("user_id"))
        return int(raw) if raw is not None else None

    def _own_standing(self, member: dict[str, Any]) -> list[Part]:
        """The viewer's own membership changed: refresh what room.js reads to enable the forms."""
        if int(member["user_id"]) != self.viewer.user_id:
            return []
        return [self._standing(Standing(member=True, muted_until=member.get("muted_until"), can_join=False))]

    def _standing(self, standing: Standing) -> Part:
        return partial("#my-standing", "outerHTML", self.render("rooms/_standing.html", standing=standing))


HANDLERS: dict[str, Callable[[_Renderer], list[Part]]] = {
    "message.posted": _Renderer.message_posted,
    "message.edited": _Renderer.message_changed,
    "message.deleted": _Renderer.message_changed,
    "message.hidden": _Renderer.message_changed,
    "message.rejected": _Renderer.message_changed,
    "message.restored": _Renderer.message_back,
    "message.approved": _Renderer.message_back,
    "idea.submitted": _Renderer.idea_submitted,
    "idea.edited": _Renderer.idea_changed,
    "idea.status_changed": _Renderer.idea_changed,
    "idea.merged": _Renderer.idea_changed,
    "idea.hidden": _Renderer.idea_changed,
    "idea.locked": _Renderer.idea_changed,
    "idea.restored": _Renderer.idea_back,
    "tally.changed": _Renderer.tallies,
    "vote.mine": _Renderer.my_vote,
    "room.updated": _Renderer.room_changed,
    "room.phase_changed": _Renderer.room_changed,
    "room.locked": _Renderer.room_changed,
    "member.joined": _Renderer.member_joined,
    "member.left": _Renderer.member_gone,
    "member.removed": _Renderer.member_gone,
    "member.muted": _Renderer.member_changed,
    "member.unmuted": _Renderer.member_changed,
    "member.updated": _Renderer.member_changed,
}


def register(kind: str, handler: Callable[[_Renderer], list[Part]]) -> None:
    """Parts another feature owns for a frame kind (moderation: its queues, pins, reports),
    rendered after the ones above."""
    previous = HANDLERS.get(kind)
    HANDLERS[kind] = handler if previous is None else (lambda r: previous(r) + handler(r))


def render_event_html(templates: Jinja2Templates, frame: dict[str, Any], viewer: Viewer) -> str:
    """Out-of-band HTML for one API frame (see rooms/timeline.py), for one viewer; "" when
    the frame changes nothing this page shows (unknown kinds included)."""
    handler = HANDLERS.get(str(frame.get("kind", "")))
    if handler is None:
        return ""
    return "".join(handler(_Renderer(templates, frame, viewer)))

