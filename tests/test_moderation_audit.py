"""The audit trail: every moderator and admin action leaves an entry (who, what, target,
reason, when); moderators read their room's log with filters, admins the whole site's;
both export CSV; and the application never updates or deletes an entry."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from innovate import audit
from innovate.db import utcnow
from innovate.writes import write
from tests.moderation_support import World, audit_entries, build_world, ok

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
async def world(resources, make_user) -> World:
    return await build_world(resources, make_user)


async def test_every_moderator_action_is_audited(world: World, sign_in) -> None:
    mod, gia, bob, admin = (await sign_in(world.mod), await sign_in(world.gia), await sign_in(world.bob),
                            await sign_in(world.admin))
    slug, m, i = world.a.slug, world.message.id, world.idea.id
    ok(await mod.patch(f"/api/v1/rooms/{slug}", json={"premoderation": "all", "auto_hide_reports": 3}))
    held = ok(await gia.post(f"/api/v1/rooms/{slug}/messages", json={"body": "first"}), 201)
    declined = ok(await gia.post(f"/api/v1/rooms/{slug}/messages", json={"body": "second"}), 201)
    report = ok(await bob.post("/api/v1/reports", json={"idea_id": i, "reason": "dup"}), 201)
    steps: list[tuple[str, str, Any, str | None]] = [
        ("POST", f"/api/v1/messages/{m}/hide", {"reason": "why 1"}, "message.hidden"),
        ("POST", f"/api/v1/messages/{m}/restore", {"reason": "why 2"}, "message.restored"),
        ("POST", f"/api/v1/messages/{m}/pin", {}, "message.pinned"),
        ("POST", f"/api/v1/messages/{m}/unpin", {}, "message.unpinned"),
        ("POST", f"/api/v1/messages/{held['id']}/approve", {}, "message.approved"),
        ("POST", f"/api/v1/messages/{declined['id']}/reject", {"reason": "why 3"}, "message.rejected"),
        ("POST", f"/api/v1/ideas/{i}/lock", {"reason": "why 4"}, "idea.locked"),
        ("POST", f"/api/v1/ideas/{i}/unlock", {}, "idea.unlocked"),
        ("POST", f"/api/v1/reports/{report['id']}/resolve", {"action": "hide", "reason": "why 5"}, "report.resolved"),
        ("POST", f"/api/v1/ideas/{i}/restore", {"reason": "why 6"}, "idea.restored"),
        ("POST", f"/api/v1/ideas/{i}/hide", {"reason": "why 7"}, "idea.hidden"),
        ("PATCH", f"/api/v1/rooms/{slug}/members/{world.bob.id}", {"mute_minutes": 10, "reason": "why 8"},
         "member.muted"),
        ("PATCH", f"/api/v1/rooms/{slug}/members/{world.bob.id}", {"mute_minutes": 0}, "member.unmuted"),
        ("PATCH", f"/api/v1/rooms/{slug}/members/{world.ada.id}", {"role": "moderator"}, "member.role_changed"),
        ("DELETE", f"/api/v1/rooms/{slug}/members/{world.bob.id}", None, "member.removed"),
        ("DELETE", f"/api/v1/messages/{m}", None, "message.deleted"),
        ("PATCH", f"/api/v1/rooms/{slug}", {"locked": True}, "room.locked"),
        ("PATCH", f"/api/v1/rooms/{slug}", {"locked": False}, "room.unlocked"),
        ("PATCH", f"/api/v1/rooms/{slug}", {"title": "New title"}, "room.updated"),
        ("PATCH", f"/api/v1/rooms/{slug}", {"phase": "voting"}, "room.phase_changed"),
        ("PATCH", f"/api/v1/ideas/{i}", {"status": "shortlisted", "reason": "why 9"}, "idea.status_changed"),
        ("POST", f"/api/v1/rooms/{slug}/invites", {"max_uses": 1, "expires_in_hours": 1}, "invite.created"),
    ]
    for method, path, body, action in steps:
        response = await mod.request(method, path, json=body)
        assert response.status_code in (200, 201, 204), (path, response.status_code, response.text[:300])
        entry = (await audit_entries(mod, slug))[0]
        assert entry["action"] == action, (path, entry)
        assert entry["actor"]["id"] == world.mod.id and entry["room"] == slug and entry["at"]
        assert entry["target_kind"] is not None and entry["target_id"] is not None
        if body and body.get("reason"):
            assert entry["reason"] == body["reason"]
    invite_id = response.json()["id"]
    assert (await mod.delete(f"/api/v1/rooms/{slug}/invites/{invite_id}")).status_code in (200, 204)
    assert (await audit_entries(mod, slug))[0]["action"] == "invite.revoked"
    # The admin's own actions count too, in and out of rooms.
    ok(await admin.post(f"/api/v1/messages/{held['id']}/pin"))
    assert (await audit_entries(mod, slug))[0]["actor"]["id"] == world.admin.id
    ok(await admin.post(f"/api/v1/users/{world.gia.id}/deactivate", json={"reason": "left the project"}))
    site = ok(await admin.get("/api/v1/audit", params={"action": "user.deactivated"}))["items"]
    assert site[0]["target_id"] == world.gia.id and site[0]["reason"] == "left the project" and site[0]["room"] is None


async def test_filters_and_paging(world: World, sign_in, resources) -> None:
    mod = await sign_in(world.mod)
    slug = world.a.slug
    ok(await mod.post(f"/api/v1/messages/{world.message.id}/hide", json={"reason": "r"}))
    ok(await mod.post(f"/api/v1/messages/{world.message.id}/restore"))
    ok(await mod.post(f"/api/v1/ideas/{world.idea.id}/lock"))
    # An old entry, from before the trail and the timeline shared one vocabulary: it reads,
    # and filters, under today's name.
    async with write(resources) as (db, _):
        await audit.record(db, world.mod.id, "idea.unlock", room_id=world.a.id, target_kind="idea",
                           target_id=world.idea.id)
    async with resources.db.begin() as db:
        from sqlalchemy import text

        # Back-date it the way only a test may: directly, outside the application.
        await db.execute(text("UPDATE audit_entries SET at = :at WHERE action = 'idea.unlock'"),
                         {"at": utcnow() - timedelta(days=40)})
    assert [e["action"] for e in await audit_entries(mod, slug, action="message")] == ["message.restored",
                                                                                       "message.hidden"]
    assert [e["action"] for e in await audit_entries(mod, slug, action="idea.locked")] == ["idea.locked"]
    assert {e["actor"]["id"] for e in await audit_entries(mod, slug, actor=world.mod.id)} == {world.mod.id}
    assert await audit_entries(mod, slug, actor=world.ada.id) == []
    recent = await audit_entries(mod, slug, since=(utcnow() - timedelta(days=1)).date().isoformat())
    assert "idea.unlocked" not in [e["action"] for e in recent]
    old = await audit_entries(mod, slug, until=(utcnow() - timedelta(days=30)).date().isoformat())
    assert [e["action"] for e in old] == ["idea.unlocked"]
    legacy = await audit_entries(mod, slug, action="idea.unlocked")
    assert [e["action"] for e in legacy] == ["idea.unlocked"]
    assert [e["target_id"] for e in await audit_entries(mod, slug, target=f"idea:{world.idea.id}")] == \
        [world.idea.id, world.idea.id]

    first = ok(await mod.get(f"/api/v1/rooms/{slug}/audit", params={"limit": 2}))
    second = ok(await mod.get(f"/api/v1/rooms/{slug}/audit", params={"limit": 2, "before": first["next_cursor"]}))
    ids = [e["id"] for e in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    for params, field in (({"since": "yesterday"}, "since"), ({"actor": "bob"}, "actor"), ({"limit": 0}, "limit"),
                          ({"action": "x'; drop"}, "action"), ({"target": "user"}, "target"),
                          ({"since": "2026-05-02", "until": "2026-05-01"}, "until")):
        response = await mod.get(f"/api/v1/rooms/{slug}/audit", params=params)
        assert response.status_code == 422 and field in response.json()["error"]["fields"], params


async def test_csv_export(world: World, sign_in) -> None:
    mod, admin = await sign_in(world.mod), await sign_in(world.admin)
    slug = world.a.slug
    ok(await mod.post(f"/api/v1/messages/{world.message.id}/hide", json={"reason": '=HYPERLINK("x"), "quoted"'}))
    response = await mod.get(f"/api/v1/rooms/{slug}/audit.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"] and slug in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    hide = [r for r in rows if r["action"] == "message.hidden"][0]
    assert hide["actor"] == "Mo Derator" and hide["room"] == slug and hide["target_id"] == str(world.message.id)
    assert hide["reason"] == '\'=HYPERLINK("x"), "quoted"'  # a spreadsheet will not run it
    assert {r["action"] for r in rows} >= {"room.created", "message.hidden"}
    filtered = list(csv.DictReader(io.StringIO((await mod.get(f"/api/v1/rooms/{slug}/audit.csv",
                                                              params={"action": "room"})).text)))
    assert {r["action"] for r in filtered} == {"room.created"}
    # Site-wide, for admins: every room's entries, filterable by room.
    site = list(csv.DictReader(io.StringIO((await admin.get("/api/v1/audit.csv")).text)))
    assert {r["room"] for r in site} >= {world.a.slug, world.b.slug, world.c.slug}
    only_b = ok(await admin.get("/api/v1/audit", params={"room": world.b.slug}))["items"]
    assert {e["room"] for e in only_b} == {world.b.slug}
    assert (await admin.get("/api/v1/audit", params={"room": "no-such-room"})).status_code == 422
    # The pages export the same thing.
    page_csv = await mod.get(f"/rooms/{slug}/audit.csv")
    assert page_csv.status_code == 200 and list(csv.DictReader(io.StringIO(page_csv.text))) == rows


def test_the_application_never_updates_or_deletes_audit_entries() -> None:
    """Append-only by construction: no code path in the application changes an entry (but erasure)."""
    offenders = []
    patterns = [
        re.compile(r"\b(update|delete)\(\s*AuditEntry\b"),
        re.compile(r"AuditEntry\.__table__\.(update|delete)"),
        re.compile(r"(?i)\b(update|delete\s+from|truncate)\s+\"?audit_entries\b"),
        re.compile(r"\.delete\(\s*(entry|audit_entry|audit)\b"),
    ]
    for path in SRC.rglob("*.py"):
        # The one exception, by law: erasing a person (GDPR art. 17) points the entries about
        # them at the "Former member" row and scrubs their name and address from the entries'
        # data. No entry is deleted, and what was done, and when, stays.
        if path.relative_to(SRC).as_posix() == "innovate/people/erase.py":
            continue
        text = path.read_text()
        for pattern in patterns:
            for match in pattern.finditer(text):
                offenders.append(f"{path.relative_to(SRC)}: {match.group(0)}")
    assert offenders == []
    # The one writer only ever adds.
    events_source = (SRC / "innovate" / "audit.py").read_text()
    assert "db.add(AuditEntry(" in events_source
