"""Reports on both databases: filing (any member, once, privately), the moderators' queue
grouped per target, automatic hiding at the room's threshold, and one-action resolution."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from innovate.errors import Conflict
from innovate.moderation import reports
from tests.moderation_support import (
    World,
    audit_entries,
    build_world,
    events,
    head,
    of_kind,
    ok,
)


@pytest.fixture
async def world(resources, make_user) -> World:
    return await build_world(resources, make_user)


@pytest.fixture
async def clients(world: World, sign_in) -> dict[str, Any]:
    return {name: await sign_in(getattr(world, name)) for name in ("mod", "mod_b", "ada", "bob", "gia")}


async def test_members_report_privately_and_moderators_see_who_and_why(world: World,
                                                                       clients: dict[str, Any]) -> None:
    mod, ada, bob, gia = clients["mod"], clients["ada"], clients["bob"], clients["gia"]
    slug = world.a.slug
    start = await head(mod, slug)
    filed = ok(await bob.post("/api/v1/reports", json={"message_id": world.message.id, "reason": "Rude"}), 201)
    assert filed["target_kind"] == "message" and filed["target_id"] == world.message.id and filed["state"] == "open"
    again = ok(await bob.post("/api/v1/reports", json={"message_id": world.message.id, "reason": "Still rude"}), 200)
    assert again["id"] == filed["id"]  # once per member and target
    ok(await gia.post("/api/v1/reports", json={"message_id": world.message.id, "reason": "Off-topic"}), 201)
    ok(await bob.post("/api/v1/reports", json={"idea_id": world.idea.id, "reason": "Duplicate"}), 201)

    # The author and the other members get no trace of it; moderators get report.created.
    for member in (ada, bob, gia):
        assert of_kind(await events(member, slug, start), "report.created") == []
    created = of_kind(await events(mod, slug, start), "report.created")
    assert [f["data"]["report"]["reason"] for f in created] == ["Rude", "Off-topic", "Duplicate"]
    assert (await ada.get(f"/api/v1/rooms/{slug}/reports")).status_code == 403

    queue = ok(await mod.get(f"/api/v1/rooms/{slug}/reports"))["items"]
    assert [(g["target_kind"], g["count"]) for g in queue] == [("message", 2), ("idea", 1)]
    first = queue[0]
    assert [(r["reporter"]["id"], r["reason"]) for r in first["reports"]] == [(world.bob.id, "Rude"),
                                                                             (world.gia.id, "Off-topic")]
    assert first["target"]["body"] == "Ada's **first** thought" and first["target"]["author"]["id"] == world.ada.id


async def test_report_inputs_and_refusals(world: World, clients: dict[str, Any], resources) -> None:
    ada, bob, mod_b = clients["ada"], clients["bob"], clients["mod_b"]
    for body, status in (({"reason": "x"}, 422), ({"message_id": world.message.id}, 422),
                         ({"message_id": world.message.id, "idea_id": world.idea.id, "reason": "x"}, 422),
                         ({"message_id": "abc", "reason": "x"}, 422), ({"message_id": 999999, "reason": "x"}, 404),
                         ({"message_id": world.message.id, "reason": "x" * 1001}, 422)):
        assert (await bob.post("/api/v1/reports", json=body)).status_code == status, body
    own = await ada.post("/api/v1/reports", json={"message_id": world.message.id, "reason": "mine"})
    assert own.status_code == 422
    # Not a member of A (but A is visible to employees): join first. C is invisible to Ada: 404.
    assert (await mod_b.post("/api/v1/reports", json={"message_id": world.message.id, "reason": "x"})).status_code == 403
    assert (await ada.post("/api/v1/reports", json={"message_id": world.c_message.id, "reason": "x"})).status_code == 404
    await ok_delete(clients["mod"], world.message.id)
    deleted = await bob.post("/api/v1/reports", json={"message_id": world.message.id, "reason": "x"})
    assert deleted.status_code == 409


async def ok_delete(http: Any, message_id: int) -> None:
    assert (await http.delete(f"/api/v1/messages/{message_id}")).status_code == 200


async def test_auto_hide_after_n_members(world: World, clients: dict[str, Any], make_user, resources) -> None:
    from tests.factories import join

    mod, ada, bob, gia = clients["mod"], clients["ada"], clients["bob"], clients["gia"]
    slug = world.a.slug
    ok(await mod.patch(f"/api/v1/rooms/{slug}", json={"auto_hide_reports": 2}))
    ok(await bob.post("/api/v1/reports", json={"message_id": world.message.id, "reason": "Rude"}), 201)
    assert ok(await ada.get(f"/api/v1/rooms/{slug}/messages"))["items"][0]["state"] == "visible"
    start = await head(mod, slug)
    ok(await gia.post("/api/v1/reports", json={"message_id": world.message.id, "reason": "Rude too"}), 201)
    hidden = of_kind(await events(bob, slug, start), "message.hidden")[0]["data"]["message"]
    assert hidden["state"] == "hidden" and hidden["body"] == ""
    own = [m for m in ok(await ada.get(f"/api/v1/rooms/{slug}/messages"))["items"] if m["id"] == world.message.id][0]
    assert own["state"] == "hidden" and "reported by 2 members" in own["state_reason"]
    entry = (await audit_entries(mod, slug, action="message.hidden"))[0]
    assert entry["actor"] is None and entry["data"] == {"automatic": True}
    # The reports stay open for a moderator to confirm or dismiss.
    assert ok(await mod.get(f"/api/v1/rooms/{slug}/reports"))["items"][0]["count"] == 2

    # Concurrent reports on another message: the threshold is met once, the message hidden once.
    late = [await make_user(f"late{n}@example.com") for n in range(4)]
    await join(resources, world.a, *late)
    target = ok(await bob.post(f"/api/v1/rooms/{slug}/messages", json={"body": "contested"}), 201)
    filed = await asyncio.gather(*(reports.file_report(resources, user, {"message_id": target["id"], "reason": "x"})
                                   for user in late), return_exceptions=True)
    # The second report hides it; the ones after that find it hidden already.
    assert sum(1 for f in filed if isinstance(f, reports.Filed)) == 2
    assert all(isinstance(f, Conflict) for f in filed if not isinstance(f, reports.Filed))
    hides = [e for e in await audit_entries(mod, slug, action="message.hidden") if e["target_id"] == target["id"]]
    assert len(hides) == 1


async def test_resolve_by_hiding(world: World, clients: dict[str, Any]) -> None:
    mod, bob, gia = clients["mod"], clients["bob"], clients["gia"]
    slug = world.a.slug
    first = ok(await bob.post("/api/v1/reports", json={"message_id": world.message.id, "reason": "Rude"}), 201)
    ok(await gia.post("/api/v1/reports", json={"message_id": world.message.id, "reason": "Mean"}), 201)
    start = await head(mod, slug)
    outcome = ok(await mod.post(f"/api/v1/reports/{first['id']}/resolve", json={"action": "hide",
                                                                               "reason": "Not OK here"}))
    assert outcome["action"] == "hide" and len(outcome["report_ids"]) == 2
    assert ok(await mod.get(f"/api/v1/rooms/{slug}/reports"))["items"] == []
    closed = ok(await mod.get(f"/api/v1/rooms/{slug}/reports", params={"state": "closed"}))["items"]
    assert closed[0]["count"] == 2 and {r["resolution"] for r in closed[0]["reports"]} == {"hide"}
    assert of_kind(await events(bob, slug, start), "message.hidden")[0]["data"]["message"]["body"] == ""
    assert of_kind(await events(bob, slug, start), "report.resolved") == []
    assert of_kind(await events(mod, slug, start), "report.resolved")[0]["data"]["action"] == "hide"
    assert (await mod.post(f"/api/v1/reports/{first['id']}/resolve", json={"action": "hide"})).status_code == 409
    entry = (await audit_entries(mod, slug, action="report.resolved"))[0]
    assert entry["reason"] == "Not OK here" and entry["data"]["action"] == "hide"
    assert sorted(entry["data"]["reports"]) == outcome["report_ids"]


async def test_resolve_by_dismissing_restores_an_automatic_hide(world: World, clients: dict[str, Any]) -> None:
    mod, bob, ada = clients["mod"], clients["bob"], clients["ada"]
    slug = world.a.slug
    ok(await mod.patch(f"/api/v1/rooms/{slug}", json={"auto_hide_reports": 1}))
    report = ok(await bob.post("/api/v1/reports", json={"idea_id": world.idea.id, "reason": "I disagree"}), 201)
    assert (await bob.get(f"/api/v1/ideas/{world.idea.id}")).status_code == 404  # hidden automatically
    ok(await mod.post(f"/api/v1/reports/{report['id']}/resolve", json={"action": "dismiss"}))
    assert ok(await bob.get(f"/api/v1/ideas/{world.idea.id}"))["state"] == "visible"
    assert [e["action"] for e in await audit_entries(mod, slug)][:3] == ["report.resolved", "idea.restored", "idea.hidden"]
    # Dismissing does not undo a moderator's own hide.
    ok(await mod.post(f"/api/v1/messages/{world.message.id}/hide", json={"reason": "by hand"}))
    ok(await mod.post(f"/api/v1/messages/{world.message.id}/restore"))
    ok(await mod.post(f"/api/v1/messages/{world.message.id}/hide", json={"reason": "by hand again"}))
    assert (await bob.post("/api/v1/reports", json={"message_id": world.message.id, "reason": "x"})).status_code == 409
    assert ada  # the author saw it hidden all along


async def test_resolve_by_muting_the_author(world: World, clients: dict[str, Any]) -> None:
    mod, bob, ada = clients["mod"], clients["bob"], clients["ada"]
    slug = world.a.slug
    report = ok(await bob.post("/api/v1/reports", json={"message_id": world.message.id, "reason": "Spam"}), 201)
    start = await head(mod, slug)
    ok(await mod.post(f"/api/v1/reports/{report['id']}/resolve", json={"action": "mute", "minutes": 60}))
    assert (await ada.post(f"/api/v1/rooms/{slug}/messages", json={"body": "more spam"})).status_code == 403
    frames = await events(bob, slug, start)
    assert of_kind(frames, "message.hidden") and of_kind(frames, "member.muted")[0]["data"]["user_id"] == world.ada.id
    actions = [e["action"] for e in await audit_entries(mod, slug)][:3]
    assert actions == ["report.resolved", "member.muted", "message.hidden"]
    # Muting the author is refused when it is the moderator themself, and nothing is half-done.
    own = ok(await mod.post(f"/api/v1/rooms/{slug}/messages", json={"body": "moderator post"}), 201)
    again = ok(await bob.post("/api/v1/reports", json={"message_id": own["id"], "reason": "x"}), 201)
    assert (await mod.post(f"/api/v1/reports/{again['id']}/resolve", json={"action": "mute"})).status_code == 403
    assert [m for m in ok(await bob.get(f"/api/v1/rooms/{slug}/messages"))["items"]
            if m["id"] == own["id"]][0]["state"] == "visible"
    assert ok(await mod.get(f"/api/v1/rooms/{slug}/reports"))["items"][0]["count"] == 1


async def test_hiding_directly_closes_the_open_reports(world: World, clients: dict[str, Any]) -> None:
    mod, bob = clients["mod"], clients["bob"]
    ok(await bob.post("/api/v1/reports", json={"message_id": world.message.id, "reason": "Rude"}), 201)
    ok(await mod.post(f"/api/v1/messages/{world.message.id}/hide", json={"reason": "agreed"}))
    assert ok(await mod.get(f"/api/v1/rooms/{world.a.slug}/reports"))["items"] == []


async def test_resolution_inputs(world: World, clients: dict[str, Any]) -> None:
    mod, bob = clients["mod"], clients["bob"]
    report = ok(await bob.post("/api/v1/reports", json={"message_id": world.message.id, "reason": "x"}), 201)
    url = f"/api/v1/reports/{report['id']}/resolve"
    assert (await mod.post(url, json={})).status_code == 422
    assert (await mod.post(url, json={"action": "ban"})).status_code == 422
    assert (await mod.post(url, json={"action": "mute", "minutes": 0})).status_code == 422
    assert (await bob.post(url, json={"action": "dismiss"})).status_code == 404  # reports are moderators' only
    assert (await mod.post("/api/v1/reports/999999/resolve", json={"action": "hide"})).status_code == 404
    assert (await mod.get(f"/api/v1/rooms/{world.a.slug}/reports", params={"state": "odd"})).status_code == 422
