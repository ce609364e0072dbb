"""Moderation's live HTML: what a frame changes on a page, per viewer (no server needed)."""

from __future__ import annotations

from innovate.live.html import render_event_html
from tests.test_room_fragments import (
    MEMBER,
    MODERATOR,
    TEMPLATES,
    frame,
    idea,
    message,
    parts,
    room,
)


def targets(kind: str, viewer: object, **data: object) -> list[tuple[str, str]]:
    return [(t, s) for t, s, _ in parts(render_event_html(TEMPLATES, frame(kind, **data), viewer))]  # type: ignore[arg-type]


def test_reports_reach_the_moderators_queue_only() -> None:
    report = {"id": 4, "target_kind": "message", "target_id": 11, "reason": "Rude", "state": "open"}
    html = render_event_html(TEMPLATES, frame("report.created", report_id=4, report=report), MODERATOR)
    found = parts(html)
    assert ("#reports-queue", "beforeend") in [(t, s) for t, s, _ in found]
    assert ("#moderation-counts", "beforeend") in [(t, s) for t, s, _ in found]
    loader = [c for t, _, c in found if t == "#reports-queue"][0]
    assert 'hx-get="/rooms/green/moderation/reports" hx-trigger="load"' in loader and "hidden" in loader
    assert "Rude" not in html  # the fresh queue comes from the server, reporters and all
    assert render_event_html(TEMPLATES, frame("report.created", report_id=4, report=report), MEMBER) == ""
    assert render_event_html(TEMPLATES, frame("report.resolved", target_id=11), MEMBER) == ""
    assert ("#reports-queue", "beforeend") in targets("report.resolved", MODERATOR, target_id=11)


def test_held_posts_and_decisions_refresh_the_review_queue() -> None:
    held = message(state="held", body="", body_html="")
    assert ("#held-queue", "beforeend") in targets("message.posted", MODERATOR, message_id=11, message=held)
    assert ("#held-queue", "beforeend") not in targets("message.posted", MEMBER, message_id=11, message=held)
    assert ("#held-queue", "beforeend") not in targets("message.posted", MODERATOR, message_id=11, message=message())
    for kind in ("message.approved", "message.rejected"):
        assert ("#held-queue", "beforeend") in targets(kind, MODERATOR, message_id=11, message=message())
        assert ("#held-queue", "beforeend") not in targets(kind, MEMBER, message_id=11, message=message())


def test_pins_update_the_message_and_the_pinned_list() -> None:
    pinned = message(pinned=True)
    found = parts(render_event_html(TEMPLATES, frame("message.pinned", message_id=11, pinned=True, message=pinned),
                                    MEMBER))
    assert [(t, s) for t, s, _ in found] == [("#message-11", "outerHTML"), ("#pinned-messages", "beforeend")]
    assert 'class="badge pinned"' in found[0][2]
    # A pinned message hidden later leaves the list for everyone (the list reloads).
    assert ("#pinned-messages", "beforeend") in targets("message.hidden", MEMBER, message_id=11,
                                                        message=message(pinned=True, state="hidden", body="",
                                                                        body_html=""))


def test_moderator_buttons_on_live_messages() -> None:
    html = render_event_html(TEMPLATES, frame("message.posted", message_id=11, message=message()), MODERATOR)
    assert "/rooms/green/messages/11/hide" in html and "/rooms/green/messages/11/pin" in html
    assert "/rooms/green/members/3/mute" in html and "csrf_token" not in html  # htmx sends the header
    member_html = render_event_html(TEMPLATES, frame("message.posted", message_id=11, message=message()), MEMBER)
    assert "/hide" not in member_html and 'id="report-message-11"' in member_html
    held = message(state="held")
    assert "/rooms/green/messages/11/approve" in render_event_html(
        TEMPLATES, frame("message.posted", message_id=11, message=held), MODERATOR)


def test_room_lock_and_idea_lock() -> None:
    assert ("#room-lock", "outerHTML") in targets("room.locked", MODERATOR, locked=True, room=room(locked=True))
    assert ("#room-lock", "outerHTML") not in targets("room.locked", MEMBER, locked=True, room=room(locked=True))
    html = render_event_html(TEMPLATES, frame("idea.locked", idea_id=5, locked=True, idea=idea(locked=True)), MEMBER)
    assert "locked this discussion" in html


def test_member_changes_refresh_the_moderators_member_table() -> None:
    member = {"user_id": 3, "name": "Gus Guest", "kind": "guest", "role": "member",
              "muted_until": "2030-01-01T12:00:00+00:00", "joined_at": "2030-01-01T10:00:00+00:00"}
    for kind in ("member.muted", "member.unmuted", "member.updated", "member.removed"):
        assert ("#moderation-members", "beforeend") in targets(kind, MODERATOR, user_id=3, member=member)
        assert ("#moderation-members", "beforeend") not in targets(kind, MEMBER, user_id=3, member=member)
