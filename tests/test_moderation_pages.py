"""Moderation in the browser: the buttons on messages, ideas and members, the review queue,
reports, settings and the audit log; every form without JavaScript (post, redirect back)
and with htmx (the changed part comes back), with escaping and CSP as everywhere else."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from innovate.moderation.reports import file_report
from tests.clients import form_csrf
from tests.moderation_support import World, build_world, ok
from tests.test_room_pages import assert_inert, scripts_have_nonce

HX = {"HX-Request": "true"}
EVIL = "<script>alert(1)</script><img src=x onerror=alert(1)>"


@pytest.fixture
async def world(resources, make_user) -> World:
    return await build_world(resources, make_user, premoderation="first_n")


async def signed(sign_in: Any, user: Any, page: str) -> tuple[httpx.AsyncClient, str]:
    """A client like a browser without JavaScript: the form's CSRF field, no header."""
    http = await sign_in(user)
    http.headers.pop("X-CSRF-Token", None)
    return http, form_csrf((await http.get(page)).text)


async def test_who_may_open_the_moderation_pages(world: World, sign_in) -> None:
    expected = {"mod": 200, "admin": 200, "ada": 403, "gia": 403, "mod_b": 403}
    for name, status in expected.items():
        http = await sign_in(getattr(world, name))
        for path in (f"/rooms/{world.a.slug}/moderation", f"/rooms/{world.a.slug}/audit"):
            response = await http.get(path)
            assert response.status_code == status, (name, path, response.status_code)
            if status == 200:
                scripts_have_nonce(response)
    outsider = await sign_in(world.ada)
    assert (await outsider.get(f"/rooms/{world.c.slug}/moderation")).status_code == 404
    admin = await sign_in(world.admin)
    page = await admin.get("/admin/audit")
    assert page.status_code == 200 and "Audit log" in page.text and world.b.slug in page.text


async def test_room_page_tools_for_moderators_and_members(world: World, sign_in) -> None:
    mod = (await (await sign_in(world.mod)).get(f"/rooms/{world.a.slug}")).text
    member = (await (await sign_in(world.bob)).get(f"/rooms/{world.a.slug}")).text
    own = (await (await sign_in(world.ada)).get(f"/rooms/{world.a.slug}")).text
    m = world.message.id
    assert f'action="/rooms/{world.a.slug}/messages/{m}/hide"' in mod and f"/messages/{m}/pin" in mod
    assert f'action="/rooms/{world.a.slug}/members/{world.ada.id}/mute"' in mod  # act on the author
    assert 'id="moderation-counts"' in mod and 'id="room-lock"' in mod and f"/rooms/{world.a.slug}/audit" in mod
    assert f"/messages/{m}/hide" not in member and 'id="room-lock"' not in member
    assert f'id="report-message-{m}"' in member  # members may report others' posts ...
    assert f'id="report-message-{m}"' not in own  # ... not their own


async def test_hide_and_restore_without_javascript(world: World, sign_in) -> None:
    http, token = await signed(sign_in, world.mod, f"/rooms/{world.a.slug}")
    url = f"/rooms/{world.a.slug}/messages/{world.message.id}"
    refused = await http.post(f"{url}/hide", data={"csrf_token": token, "reason": ""})
    assert refused.status_code == 422 and "reason" in refused.text
    done = await http.post(f"{url}/hide", data={"csrf_token": token, "reason": "Off-topic"},
                           headers={"Referer": f"http://testserver/rooms/{world.a.slug}"})
    assert done.status_code == 303 and done.headers["location"] == f"/rooms/{world.a.slug}#message-{world.message.id}"
    page = (await http.get(done.headers["location"])).text
    assert "The message is hidden." in page and "Hidden by a moderator: Off-topic" in page
    member_page = (await (await sign_in(world.bob)).get(f"/rooms/{world.a.slug}")).text
    assert "Ada&#39;s" not in member_page.split('id="thread-room"')[1].split("</ol>")[0]
    assert (await http.post(f"{url}/restore", data={"csrf_token": token})).status_code == 303


async def test_message_buttons_with_htmx(world: World, sign_in) -> None:
    mod = await sign_in(world.mod)
    url = f"/rooms/{world.a.slug}/messages/{world.message.id}"
    hidden = await mod.post(f"{url}/hide", data={"reason": EVIL}, headers=HX)
    assert hidden.status_code == 200
    assert hidden.text.startswith(f'<li id="message-{world.message.id}"') and "Restore" in hidden.text
    assert 'hx-target="#flash"' in hidden.text
    assert_inert(hidden.text)
    pinned = await mod.post(f"{url}/restore", headers=HX)
    pinned = await mod.post(f"{url}/pin", headers=HX)
    assert 'class="badge pinned"' in pinned.text and "Unpin" in pinned.text
    # The pinned panel on the room page, for everyone.
    room_page = (await (await sign_in(world.bob)).get(f"/rooms/{world.a.slug}")).text
    panel = re.search(r'<section id="pinned-messages".*?</section>', room_page, re.S).group(0)  # type: ignore[union-attr]
    assert "Ada" in panel and " hidden" not in panel.split(">")[0]
    refreshed = await mod.get(f"/rooms/{world.a.slug}/pinned", headers=HX)
    assert f'id="pinned-{world.message.id}"' in refreshed.text
    # An error without a form of its own lands in #flash with its status.
    conflict = await mod.post(f"{url}/approve", headers=HX)
    assert conflict.status_code == 409 and conflict.headers["hx-retarget"] == "#flash"


async def test_the_review_queue(world: World, sign_in, resources) -> None:
    gia = await sign_in(world.gia)
    held = ok(await gia.post(f"/api/v1/rooms/{world.a.slug}/messages", json={"body": f"Hi {EVIL}"}), 201)
    declined = ok(await gia.post(f"/api/v1/rooms/{world.a.slug}/messages", json={"body": "Buy now"}), 201)
    mod, token = await signed(sign_in, world.mod, f"/rooms/{world.a.slug}/moderation")
    page = await mod.get(f"/rooms/{world.a.slug}/moderation")
    assert f'id="held-{held["id"]}"' in page.text and f'id="held-{declined["id"]}"' in page.text
    assert_inert(page.text)
    approve = await mod.post(f"/rooms/{world.a.slug}/messages/{held['id']}/approve",
                             data={"csrf_token": token, "part": "held-queue"}, headers=HX)
    assert approve.status_code == 200 and approve.text.startswith('<section id="held-queue"')
    assert f'id="held-{held["id"]}"' not in approve.text and f'id="held-{declined["id"]}"' in approve.text
    reject = await mod.post(f"/rooms/{world.a.slug}/messages/{declined['id']}/reject",
                            data={"csrf_token": token, "reason": "Advertising"},
                            headers={"Referer": f"http://testserver/rooms/{world.a.slug}/moderation"})
    assert reject.status_code == 303 and reject.headers["location"].startswith(f"/rooms/{world.a.slug}/moderation")
    assert "Nothing awaits review." in (await mod.get(f"/rooms/{world.a.slug}/moderation")).text
    # The guest sees the decision in place, with the reason.
    guest_page = (await gia.get(f"/rooms/{world.a.slug}")).text
    assert "Not approved by a moderator: Advertising" in guest_page
    counts = await mod.get(f"/rooms/{world.a.slug}/moderation/counts", headers=HX)
    assert "0 awaiting review" in counts.text


async def test_reports_in_the_page(world: World, sign_in, resources) -> None:
    bob, token = await signed(sign_in, world.bob, f"/rooms/{world.a.slug}")
    sent = await bob.post(f"/rooms/{world.a.slug}/reports", headers=HX, data={
        "csrf_token": token, "message_id": str(world.message.id), "reason": "Harassment or abuse",
        "details": EVIL})
    assert sent.status_code == 200 and f'id="report-message-{world.message.id}"' in sent.text
    assert "Thank you" in sent.text
    # Refused: the box again, open, the error at its field and the details kept.
    long = await bob.post(f"/rooms/{world.a.slug}/reports", headers=HX, data={
        "csrf_token": token, "message_id": str(world.message.id), "reason": "Other", "details": "d" * 901})
    assert long.status_code == 422
    assert long.text.startswith(f'<details class="report-box" id="report-message-{world.message.id}" open>')
    assert (f'aria-invalid="true" aria-describedby="report-message-{world.message.id}-details-error"' in long.text
            and "use at most 900 characters" in long.text and "d" * 901 in long.text)
    assert re.search(r'value="Other" required checked', long.text)
    plain = await bob.post(f"/rooms/{world.a.slug}/reports", data={
        "csrf_token": token, "idea_id": str(world.idea.id), "reason": "Off-topic"})
    assert plain.status_code == 303
    # A form cannot reach into another room.
    across = await bob.post(f"/rooms/{world.a.slug}/reports", data={
        "csrf_token": token, "message_id": str(world.b_message.id), "reason": "Spam or advertising"})
    assert across.status_code == 404
    await file_report(resources, world.gia, {"message_id": world.message.id, "reason": "Spam or advertising"})

    mod, mod_token = await signed(sign_in, world.mod, f"/rooms/{world.a.slug}/moderation")
    queue = (await mod.get(f"/rooms/{world.a.slug}/moderation")).text
    group = re.search(rf'<article class="report-group" id="report-group-message-{world.message.id}".*?</article>',
                      queue, re.S).group(0)  # type: ignore[union-attr]
    assert "2 reports" in group and "Bob Builder" in group and "Gia Guest" in group
    assert "Harassment or abuse" in group and "Spam or advertising" in group
    assert_inert(queue)
    report_id = re.search(r'/reports/(\d+)/resolve', group).group(1)  # type: ignore[union-attr]
    resolved = await mod.post(f"/rooms/{world.a.slug}/reports/{report_id}/resolve",
                              data={"csrf_token": mod_token, "action": "mute", "minutes": "60"}, headers=HX)
    assert resolved.status_code == 200 and resolved.text.startswith('<section id="reports-queue"')
    assert f'report-group-message-{world.message.id}' not in resolved.text
    assert "the author is muted" in resolved.text
    # The author's standing on the page: muted, the composer off.
    ada_page = (await (await sign_in(world.ada)).get(f"/rooms/{world.a.slug}")).text
    assert re.search(r'data-muted-until="\d{4}-', ada_page) and '<fieldset data-needs="post" disabled>' in ada_page


async def test_members_and_settings(world: World, sign_in) -> None:
    mod, token = await signed(sign_in, world.mod, f"/rooms/{world.a.slug}/moderation")
    base = f"/rooms/{world.a.slug}"
    muted = await mod.post(f"{base}/members/{world.bob.id}/mute", headers=HX,
                           data={"csrf_token": token, "mute_minutes": "60", "part": "moderation-members"})
    assert muted.status_code == 200 and muted.text.startswith('<section id="moderation-members"')
    row = re.search(rf'<tr id="mod-member-{world.bob.id}">.*?</tr>', muted.text, re.S).group(0)  # type: ignore[union-attr]
    assert "<time" in row and "Lift the mute" in row
    promoted = await mod.post(f"{base}/members/{world.ada.id}/role", data={"csrf_token": token, "role": "moderator"})
    assert promoted.status_code == 303
    guest = await mod.post(f"{base}/members/{world.gia.id}/role", headers=HX,
                           data={"csrf_token": token, "role": "moderator"})
    assert guest.status_code == 409 and "Guests cannot moderate" in guest.text
    removed = await mod.post(f"{base}/members/{world.bob.id}/remove", headers=HX, data={"csrf_token": token})
    assert removed.status_code == 200 and "Removed from the room." in removed.text

    saved = await mod.post(f"{base}/moderation/settings", headers=HX, data={
        "csrf_token": token, "premoderation": "all", "premoderation_first_n": "5", "auto_hide_reports": "3"})
    assert saved.status_code == 200 and "Moderation settings saved." in saved.text
    room = ok(await mod.get(f"/api/v1/rooms/{world.a.slug}", headers={"X-CSRF-Token": token}))
    assert room["moderation"]["premoderation"] == "all" and room["moderation"]["auto_hide_reports"] == 3
    bad = await mod.post(f"{base}/moderation/settings", headers=HX, data={
        "csrf_token": token, "premoderation": "all", "premoderation_first_n": "0", "auto_hide_reports": ""})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    off = await mod.post(f"{base}/moderation/settings", data={
        "csrf_token": token, "premoderation": "off", "premoderation_first_n": "3", "auto_hide_reports": ""})
    assert off.status_code == 303
    room = ok(await mod.get(f"/api/v1/rooms/{world.a.slug}"))
    assert room["moderation"]["premoderation"] == "off" and room["moderation"]["auto_hide_reports"] is None

    locked = await mod.post(f"{base}/lock", headers=HX, data={"csrf_token": token, "locked": "true"})
    assert locked.status_code == 200 and "Unlock the room" in locked.text and 'hx-target="#phase-banner"' in locked.text


async def test_idea_tools_and_locked_thread(world: World, sign_in) -> None:
    mod, token = await signed(sign_in, world.mod, f"/rooms/{world.a.slug}/ideas/{world.idea.id}")
    url = f"/rooms/{world.a.slug}/ideas/{world.idea.id}"
    page = (await mod.get(url)).text
    assert 'id="idea-tools"' in page and f'action="{url}/hide"' in page and f'action="{url}/lock"' in page
    locked = await mod.post(f"{url}/lock", headers=HX, data={"csrf_token": token})
    assert locked.status_code == 200 and locked.text.startswith('<div id="idea-tools"')
    assert "Unlock the discussion" in locked.text and f'hx-target="#idea-detail-{world.idea.id}"' in locked.text
    bob_page = (await (await sign_in(world.bob)).get(url)).text
    assert "locked this discussion" in bob_page
    assert f'<fieldset data-needs="post" data-lock-from="idea-detail-{world.idea.id}" disabled>' in bob_page
    assert 'data-thread-lock="A moderator locked this discussion."' in bob_page  # live updates follow this
    assert f'id="report-idea-{world.idea.id}"' in bob_page
    hidden = await mod.post(f"{url}/hide", data={"csrf_token": token, "reason": "Confidential"})
    assert hidden.status_code == 303
    assert (await (await sign_in(world.bob)).get(url)).status_code == 404


async def test_audit_pages(world: World, sign_in) -> None:
    mod = await sign_in(world.mod)
    ok(await mod.post(f"/api/v1/messages/{world.message.id}/hide", json={"reason": EVIL}))
    page = await mod.get(f"/rooms/{world.a.slug}/audit")
    assert page.status_code == 200 and "message.hidden" in page.text and "Mo Derator" in page.text
    assert_inert(page.text)
    assert f'href="/rooms/{world.a.slug}/audit.csv"' in page.text
    filtered = await mod.get(f"/rooms/{world.a.slug}/audit", params={"action": "room"}, headers=HX)
    assert filtered.text.startswith('<section id="audit-results"') and "room.created" in filtered.text
    assert "message.hidden" not in filtered.text and "action=room" in filtered.text  # the CSV link keeps the filter
    bad = await mod.get(f"/rooms/{world.a.slug}/audit", params={"since": "soon"})
    assert bad.status_code == 422 and "since" in bad.text


async def test_an_admin_deactivates_a_guest_from_the_room(world: World, sign_in) -> None:
    gia = await sign_in(world.gia)
    admin, token = await signed(sign_in, world.admin, f"/rooms/{world.a.slug}/moderation")
    page = (await admin.get(f"/rooms/{world.a.slug}/moderation")).text
    assert f'action="/rooms/{world.a.slug}/members/{world.gia.id}/deactivate"' in page
    mod, mod_token = await signed(sign_in, world.mod, f"/rooms/{world.a.slug}/moderation")
    assert "/deactivate" not in (await mod.get(f"/rooms/{world.a.slug}/moderation")).text
    refused = await mod.post(f"/rooms/{world.a.slug}/members/{world.gia.id}/deactivate",
                             data={"csrf_token": mod_token}, headers=HX)
    assert refused.status_code == 403
    done = await admin.post(f"/rooms/{world.a.slug}/members/{world.gia.id}/deactivate", headers=HX,
                            data={"csrf_token": token, "reason": "Contract ended", "part": "moderation-members"})
    assert done.status_code == 200 and "deactivated everywhere" in done.text
    assert f'id="mod-member-{world.gia.id}"' not in done.text
    assert (await gia.get("/api/v1/me")).status_code == 401
    entry = ok(await admin.get("/api/v1/audit", params={"action": "user.deactivated"}))["items"][0]
    assert entry["target_id"] == world.gia.id and entry["reason"] == "Contract ended"
