"""Live HTML for the moderation parts of the pages: pinned messages, the review queue, the
reports queue and the moderators' counters.

These parts depend on more than one frame says (every open report on a target, every
pinned message), so a frame does not render them: it drops a small loader into the part,
and the page fetches the fresh part from the server (``hx-trigger="load"``). A loader whose
part is not on the page is skipped by htmx, so only pages that show the part fetch it.
Queues and counters are in moderators' frames only; members never receive them.
"""

from __future__ import annotations

from typing import Any

from markupsafe import escape

from innovate.live import fragments
from innovate.live.fragments import Part, announce, partial

_installed = False


def reload(part_id: str, url: str) -> Part:
    """Refresh ``#part_id`` from ``url``; the current content stays until the new one is in."""
    loader = (f'<span hidden hx-get="{escape(url)}" hx-trigger="load" hx-target="#{escape(part_id)}" '
              f'hx-swap="outerHTML"></span>')
    return partial(f"#{part_id}", "beforeend", loader)


def _slug(r: Any) -> str:
    return str(r.room["slug"])


def _moderation_parts(r: Any) -> list[Part]:
    base = f"/rooms/{_slug(r)}/moderation"
    return [reload("held-queue", f"{base}/held"), reload("moderation-counts", f"{base}/counts")]


def _reports_parts(r: Any) -> list[Part]:
    base = f"/rooms/{_slug(r)}/moderation"
    return [reload("reports-queue", f"{base}/reports"), reload("moderation-counts", f"{base}/counts")]


def message_changed(r: Any) -> list[Part]:
    """Any change to a message: the pinned list follows it, and the moderators' queues too
    (a held post decided, a reported one hidden or deleted)."""
    message = r.data.get("message") or {}
    parts: list[Part] = []
    if message.get("pinned"):
        parts.append(reload("pinned-messages", f"/rooms/{_slug(r)}/pinned"))
    if r.viewer.moderator:
        if message.get("state") == "held" or r.frame.get("kind") in ("message.approved", "message.rejected",
                                                                       "message.deleted"):
            parts += _moderation_parts(r)
        if r.frame.get("kind") in ("message.hidden", "message.restored", "message.deleted"):
            parts.append(reload("reports-queue", f"/rooms/{_slug(r)}/moderation/reports"))
    return parts


def message_held(r: Any) -> list[Part]:
    message = r.data.get("message") or {}
    if not r.viewer.moderator or message.get("state") != "held":
        return []
    name = (message.get("author") or {}).get("name", "A guest")
    return [*_moderation_parts(r), announce(f"{name} wrote a post that awaits review.")]


def message_pinned(r: Any) -> list[Part]:
    message = r.data.get("message")
    if not message:
        return []
    return [partial(f"#message-{int(message['id'])}", "outerHTML", r.render("rooms/_message.html", m=message)),
            reload("pinned-messages", f"/rooms/{_slug(r)}/pinned")]


def idea_changed(r: Any) -> list[Part]:
    if r.viewer.moderator and r.frame.get("kind") in ("idea.hidden", "idea.restored"):
        return [reload("reports-queue", f"/rooms/{_slug(r)}/moderation/reports")]
    return []


def report_created(r: Any) -> list[Part]:
    if not r.viewer.moderator:
        return []
    report = r.data.get("report") or {}
    what = "an idea" if report.get("target_kind") == "idea" else "a message"
    return [*_reports_parts(r), announce(f"A member reported {what}.")]


def report_resolved(r: Any) -> list[Part]:
    return _reports_parts(r) if r.viewer.moderator else []


def room_locked(r: Any) -> list[Part]:
    room = r.data.get("room")
    if not r.viewer.moderator or not room:
        return []
    return [partial("#room-lock", "outerHTML", r.render("moderation/_room_lock.html", room=room))]


def member_changed(r: Any) -> list[Part]:
    if not r.viewer.moderator:
        return []
    return [reload("moderation-members", f"/rooms/{_slug(r)}/moderation/members")]


HANDLERS = {
    "message.posted": message_held,
    "message.edited": message_changed,
    "message.deleted": message_changed,
    "message.hidden": message_changed,
    "message.restored": message_changed,
    "message.approved": message_changed,
    "message.rejected": message_changed,
    "message.pinned": message_pinned,
    "idea.hidden": idea_changed,
    "idea.restored": idea_changed,
    "room.locked": room_locked,
    "report.created": report_created,
    "report.resolved": report_resolved,
    "member.joined": member_changed,
    "member.left": member_changed,
    "member.removed": member_changed,
    "member.muted": member_changed,
    "member.unmuted": member_changed,
    "member.updated": member_changed,
}


def install() -> None:
    """Add these parts to the live fragments (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    for kind, handler in HANDLERS.items():
        fragments.register(kind, handler)
