"""A moderator of room A has no power in room B: every moderation action, through the JSON
API and through the page forms, refused with 403 where B is visible to them (an employees'
room) and 404 where it is not (invite-only) — and nothing in B changes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.clients import form_csrf
from tests.moderation_support import World, build_world, events, ok


@pytest.fixture
async def world(resources, make_user) -> World:
    return await build_world(resources, make_user)


def api_actions(slug: str, message_id: int, idea_id: int, member_id: int, report_id: int) -> list[tuple[str, str, Any]]:
    return [
        ("POST", f"/api/v1/messages/{message_id}/hide", {"reason": "x"}),
        ("POST", f"/api/v1/messages/{message_id}/restore", {}),
        ("POST", f"/api/v1/messages/{message_id}/pin", {}),
        ("POST", f"/api/v1/messages/{message_id}/unpin", {}),
        ("POST", f"/api/v1/messages/{message_id}/approve", {}),
        ("POST", f"/api/v1/messages/{message_id}/reject", {"reason": "x"}),
        ("DELETE", f"/api/v1/messages/{message_id}", None),
        ("POST", f"/api/v1/ideas/{idea_id}/hide", {"reason": "x"}),
        ("POST", f"/api/v1/ideas/{idea_id}/restore", {}),
        ("POST", f"/api/v1/ideas/{idea_id}/lock", {}),
        ("POST", f"/api/v1/ideas/{idea_id}/unlock", {}),
        ("PATCH", f"/api/v1/ideas/{idea_id}", {"status": "shortlisted"}),
        ("PATCH", f"/api/v1/rooms/{slug}/members/{member_id}", {"mute_minutes": 30}),
        ("PATCH", f"/api/v1/rooms/{slug}/members/{member_id}", {"muted_until": None}),
        ("PATCH", f"/api/v1/rooms/{slug}/members/{member_id}", {"role": "moderator"}),
        ("DELETE", f"/api/v1/rooms/{slug}/members/{member_id}", None),
        ("PATCH", f"/api/v1/rooms/{slug}", {"locked": True}),
        ("PATCH", f"/api/v1/rooms/{slug}", {"phase": "voting"}),
        ("PATCH", f"/api/v1/rooms/{slug}", {"premoderation": "all", "auto_hide_reports": 1}),
        ("GET", f"/api/v1/rooms/{slug}/held", None),
        ("GET", f"/api/v1/rooms/{slug}/reports", None),
        ("GET", f"/api/v1/rooms/{slug}/audit", None),
        ("GET", f"/api/v1/rooms/{slug}/audit.csv", None),
        ("GET", f"/api/v1/rooms/{slug}/invites", None),
        ("POST", f"/api/v1/rooms/{slug}/invites", {"max_uses": 1, "expires_in_hours": 1}),
    ]


# Reports are for the room's moderators only: to anyone else they do not exist.
REPORT_STATUS = 404


async def _file_report(resources: Any, reporter: Any, message_id: int) -> int:
    from innovate.moderation.reports import file_report

    return (await file_report(resources, reporter, {"message_id": message_id, "reason": "spam"})).report.id


@pytest.mark.parametrize("where", ["visible", "invisible"])
async def test_a_moderator_of_a_has_no_power_in_b_over_the_api(world: World, sign_in, resources, where: str) -> None:
    room = world.b if where == "visible" else world.c
    message = world.b_message if where == "visible" else world.c_message
    idea = world.b_idea if where == "visible" else world.c_idea
    expected = 403 if where == "visible" else 404
    other_mod = await sign_in(world.mod_b)
    report_id = await _file_report(resources, world.ada, message.id) if where == "visible" \
        else await _report_in_c(resources, world, message.id)
    before = await events(other_mod, room.slug)
    mod = await sign_in(world.mod)
    for method, path, body in api_actions(room.slug, message.id, idea.id, world.bob.id, report_id):
        response = await mod.request(method, path, json=body)
        assert response.status_code == expected, (method, path, response.status_code, response.text[:200])
    resolve = await mod.post(f"/api/v1/reports/{report_id}/resolve", json={"action": "hide"})
    assert resolve.status_code == REPORT_STATUS
    # Nothing happened in B: no new events, no audit entries, the report still open.
    assert await events(other_mod, room.slug) == before
    audit = ok(await other_mod.get(f"/api/v1/rooms/{room.slug}/audit"))["items"]
    assert all(e["actor"]["id"] != world.mod.id for e in audit if e["actor"])
    assert ok(await other_mod.get(f"/api/v1/rooms/{room.slug}/reports"))["items"][0]["count"] == 1


async def _report_in_c(resources: Any, world: World, message_id: int) -> int:
    """C is invite-only: the moderator of B (a member of C) reports Bob's message there."""
    return await _file_report(resources, world.mod_b, message_id)


def page_actions(slug: str, message_id: int, idea_id: int, member_id: int, report_id: int) -> list[tuple[str, dict]]:
    return [
        (f"/rooms/{slug}/messages/{message_id}/hide", {"reason": "x"}),
        (f"/rooms/{slug}/messages/{message_id}/restore", {}),
        (f"/rooms/{slug}/messages/{message_id}/pin", {}),
        (f"/rooms/{slug}/messages/{message_id}/unpin", {}),
        (f"/rooms/{slug}/messages/{message_id}/approve", {}),
        (f"/rooms/{slug}/messages/{message_id}/reject", {"reason": "x"}),
        (f"/rooms/{slug}/messages/{message_id}/delete", {}),
        (f"/rooms/{slug}/ideas/{idea_id}/hide", {"reason": "x"}),
        (f"/rooms/{slug}/ideas/{idea_id}/restore", {}),
        (f"/rooms/{slug}/ideas/{idea_id}/lock", {}),
        (f"/rooms/{slug}/ideas/{idea_id}/unlock", {}),
        (f"/rooms/{slug}/members/{member_id}/mute", {"mute_minutes": "60"}),
        (f"/rooms/{slug}/members/{member_id}/unmute", {}),
        (f"/rooms/{slug}/members/{member_id}/role", {"role": "moderator"}),
        (f"/rooms/{slug}/members/{member_id}/remove", {}),
        (f"/rooms/{slug}/lock", {"locked": "true"}),
        (f"/rooms/{slug}/phase", {"phase": "voting"}),
        (f"/rooms/{slug}/moderation/settings", {"premoderation": "all"}),
        (f"/rooms/{slug}/reports/{report_id}/resolve", {"action": "hide"}),
    ]


@pytest.mark.parametrize("where", ["visible", "invisible"])
async def test_a_moderator_of_a_has_no_power_in_b_through_the_pages(world: World, sign_in, resources,
                                                                   where: str) -> None:
    room = world.b if where == "visible" else world.c
    message = world.b_message if where == "visible" else world.c_message
    idea = world.b_idea if where == "visible" else world.c_idea
    report_id = await _file_report(resources, world.ada, message.id) if where == "visible" \
        else await _report_in_c(resources, world, message.id)
    mod = await sign_in(world.mod)
    token = form_csrf((await mod.get(f"/rooms/{world.a.slug}")).text)
    for path, form in page_actions(room.slug, message.id, idea.id, world.bob.id, report_id):
        response = await mod.post(path, data={**form, "csrf_token": token})
        allowed = (403, 404) if where == "visible" and path.endswith("/resolve") else (
            (403,) if where == "visible" else (404,))
        assert response.status_code in allowed, (path, response.status_code)
    for path in ("moderation", "moderation/held", "moderation/reports", "moderation/members", "audit", "audit.csv"):
        response = await mod.get(f"/rooms/{room.slug}/{path}", headers={"HX-Request": "true"})
        assert response.status_code == (403 if where == "visible" else 404), (path, response.status_code)
    other_mod = await sign_in(world.mod_b)
    audit = ok(await other_mod.get(f"/api/v1/rooms/{room.slug}/audit"))["items"]
    assert all((e["actor"] or {}).get("id") != world.mod.id for e in audit)


async def test_the_site_audit_is_for_admins_only(world: World, sign_in) -> None:
    for user in (world.mod, world.ada, world.gia):
        http = await sign_in(user)
        assert (await http.get("/api/v1/audit")).status_code == 403
        assert (await http.get("/api/v1/audit.csv")).status_code == 403
        assert (await http.get("/admin/audit")).status_code == 404
        assert (await http.get("/admin/audit.csv")).status_code == 404
