"""Live fragments: timeline frames → htmx 4 out-of-band HTML, per viewer.

Most tests feed hand-made frames (the API shapes) straight to the renderer, no server; the
last one renders every frame a real room's timeline produces, on both backends.
"""

from __future__ import annotations

import re
from typing import Any

from innovate.live.html import render_event_html
from innovate.rooms.access import room_access
from innovate.rooms.serializers import Viewer
from innovate.rooms.service import change_phase, leave_room
from innovate.rooms.timeline import event_frames, tally_frame, visible_events
from innovate.web import create_templates
from tests.factories import join, make_idea, make_message, make_room

TEMPLATES = create_templates()
MEMBER = Viewer(user_id=2, moderator=False)
MODERATOR = Viewer(user_id=1, moderator=True)
PARTIAL = re.compile(r'<hx-partial hx-target="([^"]+)" hx-swap="([^"]+)">(.*?)</hx-partial>', re.S)


def parts(html: str) -> list[tuple[str, str, str]]:
    found = PARTIAL.findall(html)
    assert PARTIAL.sub("", html).strip() == "", "markup outside the partials"
    return found


def frame(kind: str, **data: Any) -> dict[str, Any]:
    return {"seq": 7, "kind": kind, "room": "green", "at": "2030-01-01T10:00:00+00:00", "data": data}


def message(**fields: Any) -> dict[str, Any]:
    data = {"id": 11, "room": "green", "idea_id": None, "reply_to": None,
            "author": {"id": 3, "name": "Gus Guest", "kind": "guest"}, "body": "Hi **all**",
            "body_html": "<p>Hi <strong>all</strong></p>", "state": "visible", "pinned": False,
            "created_at": "2030-01-01T10:00:00+00:00", "edited_at": None}
    data.update(fields)
    return data


def idea(**fields: Any) -> dict[str, Any]:
    data = {"id": 5, "room": "green", "title": "Cargo bikes", "body": "b", "body_html": "<p>b</p>",
            "status": "submitted", "status_reason": None, "author": {"id": 3, "name": "Gus Guest", "kind": "guest"},
            "anonymous": False, "state": "visible", "locked": False, "merged_into": None,
            "tally": {"up": 2, "down": 1, "score": 1, "voters": 3}, "messages_count": 0, "my_vote": None,
            "created_at": "2030-01-01T10:00:00+00:00", "edited_at": None}
    data.update(fields)
    return data


def room(**fields: Any) -> dict[str, Any]:
    data = {"id": 1, "slug": "green", "title": "Green", "brief": "", "brief_html": "", "cover_url": None,
            "phase": "open", "visibility": "employees", "locked": False, "last_seq": 7, "my_role": None,
            "voting": {"mode": "updown", "votes_in_open": True, "hide_tallies_until_closed": False,
                       "allow_anonymous": False},
            "schedule": {"opens_at": None, "voting_at": "2999-01-01T09:00:00+00:00", "closes_at": None,
                         "archives_at": None}}
    data.update(fields)
    return data


def render(kind: str, viewer: Viewer = MEMBER, **data: Any) -> list[tuple[str, str, str]]:
    return parts(render_event_html(TEMPLATES, frame(kind, **data), viewer))


def test_a_new_message_goes_to_its_thread_and_is_announced() -> None:
    out = render("message.posted", message=message())
    (target, swap, html), (empty, delete, _), (announcer, inner, text) = out
    assert (target, swap) == ("#thread-room", "beforeend")
    assert html.startswith('<li id="message-11" class="message state-visible"') and "<strong>all</strong>" in html
    assert 'class="badge guest"' in html
    assert (empty, delete) == ("#empty-room", "delete")
    assert (announcer, inner) == ("#live-announcer", "innerHTML") and "New message from Gus Guest" in text

    on_idea = render("message.posted", message=message(idea_id=5, reply_to=9))
    assert on_idea[0][0] == "#thread-idea-5" and on_idea[1][0] == "#empty-idea-5"
    assert 'href="#message-9"' in on_idea[0][2] and "in reply to" in on_idea[0][2]
    # The author's own message is not read out to them.
    own = render("message.posted", viewer=Viewer(user_id=3, moderator=False), message=message())
    assert all(target != "#live-announcer" for target, _, _ in own)
    # Own messages get edit and delete; others' only reply.
    assert "/messages/11/edit" in own[0][2] and "/messages/11/edit" not in out[0][2]


def test_changed_messages_are_replaced_in_place_per_viewer() -> None:
    edited = render("message.edited", message=message(edited_at="2030-01-01T11:00:00+00:00", body_html="<p>New</p>"))
    assert [(t, s) for t, s, _ in edited] == [("#message-11", "outerHTML")]
    assert "(edited)" in edited[0][2] and "<p>New</p>" in edited[0][2]

    deleted = render("message.deleted", message=message(state="deleted", body="", body_html=""))
    assert "This message was deleted." in deleted[0][2] and 'id="message-11"' in deleted[0][2]

    # Hidden: members keep an empty placeholder (a restore can come back to it)...
    hidden = render("message.hidden", message=message(state="hidden", body="", body_html=""))
    assert hidden[0][2].strip() == '<li id="message-11" class="message gone" hidden></li>'
    # ...moderators see it marked, with the reason.
    for_mod = render("message.hidden", viewer=MODERATOR,
                     message=message(state="hidden", state_reason="Off topic"))
    assert "Hidden by a moderator: Off topic" in for_mod[0][2] and "<strong>all</strong>" in for_mod[0][2]

    restored = render("message.restored", message=message())
    assert [(t, s) for t, s, _ in restored] == [("#message-11", "outerHTML"), ("#thread-room", "beforeend")]


def test_ideas_are_added_changed_and_merged() -> None:
    added = render("idea.submitted", idea=idea())
    assert added[0][:2] == ("#ideas-list", "afterbegin") and added[1][:2] == ("#ideas-empty", "delete")
    card = added[0][2]
    assert card.startswith('<li id="idea-5" class="idea-card status-submitted">')
    assert '<span id="tally-5" class="tally"' in card
    # The vote buttons depend on the room's rules and the viewer's vote: they load themselves.
    assert re.search(r'<form id="vote-5"[^>]*hx-get="/rooms/green/ideas/5/vote" hx-trigger="load"', card)
    assert "New idea: Cargo bikes" in added[2][2]

    status = render("idea.status_changed", idea=idea(status="shortlisted", status_reason="Promising"))
    assert [(t, s) for t, s, _ in status] == [("#idea-5", "outerHTML"), ("#idea-detail-5", "outerHTML")]
    assert "Shortlisted" in status[0][2] and "Promising" in status[1][2]

    merged = render("idea.merged", idea=idea(status="merged", merged_into=4))
    assert 'href="/rooms/green/ideas/4"' in merged[0][2] and "Merged into" in merged[0][2]

    hidden = render("idea.hidden", idea=idea(state="hidden", title="", body="", body_html="", author=None))
    assert hidden[0][2].strip() == '<li id="idea-5" class="idea-card gone" hidden></li>'
    anonymous = render("idea.submitted", idea=idea(anonymous=True, author=None))
    assert "Anonymous" in anonymous[0][2] and "Gus Guest" not in anonymous[0][2]


def test_tallies_replace_their_counters() -> None:
    out = render("tally.changed", tallies=[{"idea_id": 5, "up": 3, "down": 1, "score": 2, "voters": 4},
                                          {"idea_id": 6, "up": 1, "down": 0, "score": 1, "voters": 1}])
    assert [(t, s) for t, s, _ in out] == [("#tally-5", "outerHTML"), ("#tally-6", "outerHTML")]
    assert '<strong class="t-score">2</strong>' in out[0][2] and "4 voters" in out[0][2] and "1 voter<" in out[1][2]


def test_phase_changes_update_the_banner_and_the_forms_state() -> None:
    out = render("room.phase_changed", room=room(phase="voting", schedule={
        "opens_at": None, "voting_at": None, "closes_at": "2999-01-01T09:00:00+00:00", "archives_at": None}))
    banner = dict(((t, h) for t, _, h in out))["#phase-banner"]
    assert 'data-phase="voting"' in banner
    assert 'data-submit-blocked="Ideas can be submitted while the room is open (it is voting)."' in banner
    assert "data-post-blocked" not in banner and "data-vote-blocked" not in banner
    assert 'data-countdown="2999-01-01T09:00:00+00:00"' in banner
    assert "The room is now voting." in dict(((t, h) for t, _, h in out))["#live-announcer"]
    assert "#phase-controls" not in dict(((t, h) for t, _, h in out))

    closed = render("room.phase_changed", viewer=MODERATOR, room=room(phase="closed"))
    targets = dict(((t, h) for t, _, h in closed))
    assert 'data-post-blocked="The discussion is read-only: the room is closed."' in targets["#phase-banner"]
    assert 'value="archived"' in targets["#phase-controls"]  # moderators get fresh phase buttons

    updated = dict(((t, h) for t, _, h in render("room.updated", room=room(
        title="<b>Greener</b>", brief="**now**", brief_html="<p><strong>now</strong></p>"))))
    assert updated["#brief-body"].startswith('<div id="brief-body"') and "<strong>now</strong>" in updated["#brief-body"]
    assert updated["#room-title"] == "&lt;b&gt;Greener&lt;/b&gt;"

    locked = render("room.locked", room=room(locked=True))
    assert 'data-post-blocked="The room is locked: it is read-only for now."' in locked[0][2]
    assert all(t != "#live-announcer" for t, _, _ in locked)


def test_member_changes_update_the_list_and_the_viewers_own_standing() -> None:
    member = {"user_id": 3, "name": "Gus Guest", "kind": "guest", "role": "member", "muted_until": None,
              "joined_at": "2030-01-01T10:00:00+00:00"}
    joined = render("member.joined", member=member)
    assert joined[0][:2] == ("#members", "beforeend") and 'id="presence-3"' in joined[0][2] and len(joined) == 1
    muted = {**member, "muted_until": "2030-01-01T12:00:00+00:00"}
    own = render("member.muted", viewer=Viewer(user_id=3, moderator=False), member=muted)
    assert own[0][:2] == ("#member-3", "outerHTML") and "muted until" in own[0][2]
    assert own[1][:2] == ("#my-standing", "outerHTML")
    assert 'data-member="true"' in own[1][2] and 'data-muted-until="2030-01-01T12:00:00+00:00"' in own[1][2]
    left = render("member.left", user_id=3, member={**member})
    assert left == [("#member-3", "delete", "")]
    removed_me = render("member.removed", viewer=Viewer(user_id=3, moderator=False), user_id=3)
    assert removed_me[1][:2] == ("#my-standing", "outerHTML") and 'data-member="false"' in removed_me[1][2]


def test_unknown_kinds_and_empty_frames_render_nothing() -> None:
    # Reports are the moderation queue's business (rooms/moderation_fragments.py): nothing for members.
    assert render_event_html(TEMPLATES, frame("report.created", report={"id": 1}), MEMBER) == ""
    assert render_event_html(TEMPLATES, frame("presence", users=[1]), MEMBER) == ""
    assert render_event_html(TEMPLATES, frame("no.such.kind"), MEMBER) == ""
    assert render_event_html(TEMPLATES, frame("message.posted"), MEMBER) == ""  # message no longer exists
    assert render_event_html(TEMPLATES, {"kind": "idea.edited"}, MEMBER) == ""


def test_fragments_escape_user_content() -> None:
    evil = "<script>alert(1)</script>"
    out = render_event_html(TEMPLATES, frame("message.posted", message=message(
        author={"id": 3, "name": evil, "kind": "employee"}, body=evil, body_html="<p>&lt;script&gt;</p>")), MEMBER)
    out += render_event_html(TEMPLATES, frame("idea.submitted", idea=idea(title=evil)), MEMBER)
    out += render_event_html(TEMPLATES, frame("member.joined", member={
        "user_id": 9, "name": evil, "kind": "guest", "role": "member", "muted_until": None, "joined_at": None}), MEMBER)
    assert "<script>" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    # The live announcer text is escaped too (it is swapped as HTML).
    assert "New idea: &lt;script&gt;" in out


async def test_every_frame_of_a_real_timeline_renders(make_user, resources) -> None:
    mod = await make_user("mod@example.com", name="Mo Derator", is_moderator=True)
    emp = await make_user("emp@example.com", name="Em Ployee")
    green = await make_room(resources, mod, slug="green")
    await join(resources, green, emp)
    first = await make_idea(resources, emp, green, title="Cargo bikes")
    await make_message(resources, emp, green, "On the idea", idea_id=first.id)
    await make_message(resources, emp, green, "<script>alert(1)</script>")
    await change_phase(resources, mod, "green", "voting")
    await leave_room(resources, emp, "green")
    for user, moderator in ((mod, True), (emp, False)):
        async with resources.db() as db:
            access = await room_access(db, mod, "green")
            viewer = Viewer(user_id=user.id, moderator=moderator)
            events = await visible_events(db, access.room, 0, viewer, 100)
            frames = await event_frames(db, access.room, events, viewer)
            tally = await tally_frame(db, access.room, [first.id], viewer)
        kinds = [f["kind"] for f in frames]
        assert {"member.joined", "idea.submitted", "message.posted", "room.phase_changed", "member.left"} <= set(kinds)
        assert tally is not None
        for item in [*frames, tally]:
            html = render_event_html(TEMPLATES, item, viewer)
            assert html, item["kind"]
            assert "<script>alert" not in html
            parts(html)
        posted = [render_event_html(TEMPLATES, f, viewer) for f in frames if f["kind"] == "message.posted"]
        assert any(f"#thread-idea-{first.id}" in html for html in posted)
        assert any('"#thread-room"' in html for html in posted)

