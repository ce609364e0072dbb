"""Moderator actions over the JSON API, on both databases: each action, what members and
moderators then see in the room timeline (GET /rooms/{slug}/events), and its audit entry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from innovate.db import utcnow
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
    return {name: await sign_in(getattr(world, name)) for name in ("mod", "mod_b", "ada", "bob", "gia", "admin")}


# Hiding and restoring ---------------------------------------------------------------------------


async def test_hide_and_restore_a_message(world: World, clients: dict[str, Any]) -> None:
    mod, ada, bob = clients["mod"], clients["ada"], clients["bob"]
    slug, message_id = world.a.slug, world.message.id
    start = await head(mod, slug)

    hidden = ok(await mod.post(f"/api/v1/messages/{message_id}/hide", json={"reason": "Personal attack"}))
    assert hidden["state"] == "hidden" and hidden["body"] and hidden["state_reason"] == "Personal attack"

    # A member's timeline: the event is there, the text and the reason are not.
    frame = of_kind(await events(bob, slug, start), "message.hidden")[0]
    assert frame["data"]["message"]["body"] == "" and frame["data"]["message"]["body_html"] == ""
    assert "state_reason" not in frame["data"]["message"] and "reason" not in frame["data"]
    assert "Personal attack" not in str(frame) and "first" not in str(frame)
    # Earlier frames about the same message are blanked as well (they show its state now).
    posted = [f for f in await events(bob, slug) if f["kind"] == "message.posted"
              and f["data"]["message"]["id"] == message_id][0]
    assert posted["data"]["message"]["body"] == "" and posted["data"]["message"]["state"] == "hidden"
    listed = [m for m in ok(await bob.get(f"/api/v1/rooms/{slug}/messages"))["items"] if m["id"] == message_id][0]
    assert listed["body"] == "" and "state_reason" not in listed
    # The author learns why; moderators see everything.
    own = of_kind(await events(ada, slug, start), "message.hidden")[0]["data"]["message"]
    assert own["body"] == "" and own["state_reason"] == "Personal attack"
    seen = of_kind(await events(mod, slug, start), "message.hidden")[0]["data"]["message"]
    assert seen["body"] == "Ada's **first** thought" and seen["state_reason"] == "Personal attack"

    # Hiding again changes nothing; a reason is required.
    again = await mod.post(f"/api/v1/messages/{message_id}/hide", json={"reason": "again"})
    assert again.status_code == 200 and again.json()["state_reason"] == "Personal attack"
    assert (await mod.post(f"/api/v1/messages/{message_id}/hide", json={})).status_code == 422

    restored = ok(await mod.post(f"/api/v1/messages/{message_id}/restore", json={"reason": "Context clarified"}))
    assert restored["state"] == "visible" and restored.get("state_reason") is None
    back = of_kind(await events(bob, slug, start), "message.restored")[0]["data"]["message"]
    assert back["body"] == "Ada's **first** thought"

    log = await audit_entries(mod, slug, target=f"message:{message_id}")
    assert [(e["action"], e["reason"], e["actor"]["id"]) for e in reversed(log)] == [
        ("message.hidden", "Personal attack", world.mod.id), ("message.restored", "Context clarified", world.mod.id)]


async def test_members_cannot_moderate(world: World, clients: dict[str, Any]) -> None:
    bob = clients["bob"]
    message_id, idea_id = world.message.id, world.idea.id
    for path, body in ((f"/api/v1/messages/{message_id}/hide", {"reason": "x"}),
                       (f"/api/v1/messages/{message_id}/pin", {}),
                       (f"/api/v1/ideas/{idea_id}/hide", {"reason": "x"}),
                       (f"/api/v1/ideas/{idea_id}/lock", {})):
        assert (await bob.post(path, json=body)).status_code == 403, path
    assert (await bob.patch(f"/api/v1/rooms/{world.a.slug}/members/{world.ada.id}",
                            json={"mute_minutes": 5})).status_code == 403
    assert (await bob.delete(f"/api/v1/rooms/{world.a.slug}/members/{world.ada.id}")).status_code == 403
    for path in ("reports", "held", "audit", "audit.csv"):
        assert (await bob.get(f"/api/v1/rooms/{world.a.slug}/{path}")).status_code == 403, path
    assert (await bob.get("/api/v1/audit")).status_code == 403
    assert (await clients["mod"].get("/api/v1/audit")).status_code == 403  # room moderators are not admins


async def test_hide_and_restore_an_idea(world: World, clients: dict[str, Any]) -> None:
    mod, bob, ada = clients["mod"], clients["bob"], clients["ada"]
    slug, idea_id = world.a.slug, world.idea.id
    start = await head(mod, slug)
    hidden = ok(await mod.post(f"/api/v1/ideas/{idea_id}/hide", json={"reason": "Confidential"}))
    assert hidden["state"] == "hidden" and hidden["hidden_reason"] == "Confidential" and hidden["title"]

    frame = of_kind(await events(bob, slug, start), "idea.hidden")[0]["data"]["idea"]
    assert frame["title"] == "" and frame["body"] == "" and frame["author"] is None and frame["hidden_reason"] is None
    assert (await bob.get(f"/api/v1/ideas/{idea_id}")).status_code == 404
    assert idea_id not in [i["id"] for i in ok(await bob.get(f"/api/v1/rooms/{slug}/ideas"))["items"]]
    assert (await bob.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": 1})).status_code == 404
    assert ok(await ada.get(f"/api/v1/ideas/{idea_id}"))["hidden_reason"] == "Confidential"
    assert of_kind(await events(mod, slug, start), "idea.hidden")[0]["data"]["idea"]["title"] == "Ada's idea"

    ok(await mod.post(f"/api/v1/ideas/{idea_id}/restore", json={}))
    assert of_kind(await events(bob, slug, start), "idea.restored")[0]["data"]["idea"]["title"] == "Ada's idea"
    assert ok(await bob.get(f"/api/v1/ideas/{idea_id}"))["state"] == "visible"
    actions = [e["action"] for e in await audit_entries(mod, slug, target=f"idea:{idea_id}")]
    assert actions == ["idea.restored", "idea.hidden"]


async def test_hidden_messages_leave_the_idea_comment_count(world: World, clients: dict[str, Any], resources) -> None:
    from tests.factories import make_message

    mod, bob = clients["mod"], clients["bob"]
    comment = await make_message(resources, world.bob, world.a, "on the idea", idea_id=world.idea.id)
    assert ok(await bob.get(f"/api/v1/ideas/{world.idea.id}"))["messages_count"] == 1
    ok(await mod.post(f"/api/v1/messages/{comment.id}/hide", json={"reason": "spam"}))
    assert ok(await bob.get(f"/api/v1/ideas/{world.idea.id}"))["messages_count"] == 0
    ok(await mod.post(f"/api/v1/messages/{comment.id}/restore", json={}))
    assert ok(await bob.get(f"/api/v1/ideas/{world.idea.id}"))["messages_count"] == 1


# Pins and locks ---------------------------------------------------------------------------


async def test_pin_and_unpin(world: World, clients: dict[str, Any]) -> None:
    mod, bob = clients["mod"], clients["bob"]
    slug, message_id = world.a.slug, world.message.id
    start = await head(mod, slug)
    assert ok(await mod.post(f"/api/v1/messages/{message_id}/pin"))["pinned"] is True
    frame = of_kind(await events(bob, slug, start), "message.pinned")[0]
    assert frame["data"]["pinned"] is True and frame["data"]["message"]["pinned"] is True
    ok(await mod.post(f"/api/v1/messages/{message_id}/pin"))  # idempotent: no second event
    assert len(of_kind(await events(bob, slug, start), "message.pinned")) == 1
    assert ok(await mod.post(f"/api/v1/messages/{message_id}/unpin"))["pinned"] is False
    assert [f["data"]["pinned"] for f in of_kind(await events(bob, slug, start), "message.pinned")] == [True, False]
    ok(await mod.post(f"/api/v1/messages/{message_id}/hide", json={"reason": "x"}))
    assert (await mod.post(f"/api/v1/messages/{message_id}/pin")).status_code == 409
    assert [e["action"] for e in await audit_entries(mod, slug, action="message")][1:] == ["message.unpinned", "message.pinned"]


async def test_at_most_ten_pins(world: World, clients: dict[str, Any], resources) -> None:
    from tests.factories import make_message

    mod = clients["mod"]
    many = [await make_message(resources, world.bob, world.a, f"note {n}") for n in range(11)]
    for message in many[:10]:
        ok(await mod.post(f"/api/v1/messages/{message.id}/pin"))
    refused = await mod.post(f"/api/v1/messages/{many[10].id}/pin")
    assert refused.status_code == 409 and "unpin one first" in refused.json()["error"]["message"]
    ok(await mod.post(f"/api/v1/messages/{many[0].id}/unpin"))
    ok(await mod.post(f"/api/v1/messages/{many[10].id}/pin"))


async def test_lock_an_idea_thread(world: World, clients: dict[str, Any]) -> None:
    mod, bob = clients["mod"], clients["bob"]
    slug, idea_id = world.a.slug, world.idea.id
    start = await head(mod, slug)
    locked = ok(await mod.post(f"/api/v1/ideas/{idea_id}/lock", json={"reason": "Heated"}))
    assert locked["locked"] is True
    frame = of_kind(await events(bob, slug, start), "idea.locked")[0]
    assert frame["data"]["locked"] is True and frame["data"]["idea"]["locked"] is True
    refused = await bob.post(f"/api/v1/rooms/{slug}/messages", json={"body": "but...", "idea_id": idea_id})
    assert refused.status_code == 409 and "locked" in refused.json()["error"]["message"]
    ok(await bob.post(f"/api/v1/rooms/{slug}/messages", json={"body": "elsewhere"}), 201)  # the room is not locked
    ok(await mod.post(f"/api/v1/rooms/{slug}/messages", json={"body": "Closing words", "idea_id": idea_id}), 201)
    ok(await mod.post(f"/api/v1/ideas/{idea_id}/unlock"))
    ok(await bob.post(f"/api/v1/rooms/{slug}/messages", json={"body": "thanks", "idea_id": idea_id}), 201)
    log = await audit_entries(mod, slug, target=f"idea:{idea_id}")
    assert [(e["action"], e["reason"]) for e in log] == [("idea.unlocked", None), ("idea.locked", "Heated")]


async def test_room_lock_and_phase_changes_are_audited(world: World, clients: dict[str, Any]) -> None:
    mod, bob = clients["mod"], clients["bob"]
    slug = world.a.slug
    ok(await mod.patch(f"/api/v1/rooms/{slug}", json={"locked": True}))
    assert (await bob.post(f"/api/v1/rooms/{slug}/messages", json={"body": "hi"})).status_code == 409
    ok(await mod.patch(f"/api/v1/rooms/{slug}", json={"locked": False, "phase": "voting"}))
    actions = [e["action"] for e in await audit_entries(mod, slug, action="room")]
    assert actions[:3] == ["room.phase_changed", "room.unlocked", "room.locked"]


# Members ------------------------------------------------------------------------------------


async def test_mute_blocks_posting_and_voting_until_it_expires(world: World, clients: dict[str, Any],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    mod, bob = clients["mod"], clients["bob"]
    slug = world.a.slug
    start = await head(mod, slug)
    member = ok(await mod.patch(f"/api/v1/rooms/{slug}/members/{world.bob.id}",
                                json={"mute_minutes": 30, "reason": "Cool down"}))
    until = member["muted_until"]
    assert until is not None

    refused = await bob.post(f"/api/v1/rooms/{slug}/messages", json={"body": "let me speak"})
    assert refused.status_code == 403 and "muted" in refused.json()["error"]["message"]
    assert (await bob.put(f"/api/v1/ideas/{world.idea.id}/vote", json={"value": 1})).status_code == 403
    assert ok(await bob.get(f"/api/v1/rooms/{slug}/messages"))  # still reads

    # Everyone's timeline says so, with the time the mute ends (the page re-enables then).
    frame = of_kind(await events(clients["ada"], slug, start), "member.muted")[0]
    assert frame["data"]["user_id"] == world.bob.id and frame["data"]["until"] == until
    assert frame["data"]["member"]["muted_until"] == until

    # Half an hour later (the clock moved, nobody did anything) the mute is over by itself.
    later = utcnow() + timedelta(minutes=31)
    monkeypatch.setattr("innovate.rooms.access.utcnow", lambda: later)
    ok(await bob.post(f"/api/v1/rooms/{slug}/messages", json={"body": "back"}), 201)
    ok(await bob.put(f"/api/v1/ideas/{world.idea.id}/vote", json={"value": 1}))
    log = await audit_entries(mod, slug, action="member.muted")
    assert log[0]["reason"] == "Cool down" and log[0]["target_id"] == world.bob.id and log[0]["data"]["until"] == until


async def test_unmute_and_mute_inputs(world: World, clients: dict[str, Any]) -> None:
    mod, bob = clients["mod"], clients["bob"]
    url = f"/api/v1/rooms/{world.a.slug}/members/{world.bob.id}"
    soon = (utcnow() + timedelta(minutes=5)).isoformat()
    assert ok(await mod.patch(url, json={"muted_until": soon}))["muted_until"] is not None
    start = await head(mod, world.a.slug)
    assert ok(await mod.patch(url, json={"muted_until": None}))["muted_until"] is None
    assert of_kind(await events(bob, world.a.slug, start), "member.unmuted")[0]["data"]["user_id"] == world.bob.id
    ok(await bob.post(f"/api/v1/rooms/{world.a.slug}/messages", json={"body": "free"}), 201)

    past = (utcnow() - timedelta(minutes=5)).isoformat()
    for body, field in (({"muted_until": past}, "muted_until"), ({"muted_until": "tomorrow"}, "muted_until"),
                        ({"mute_minutes": -1}, "mute_minutes"), ({"mute_minutes": 10**7}, "mute_minutes"),
                        ({}, "role"), ({"role": "owner"}, "role")):
        response = await mod.patch(url, json=body)
        assert response.status_code == 422 and field in response.json()["error"]["fields"], body
    assert (await mod.patch(f"/api/v1/rooms/{world.a.slug}/members/{world.mod.id}",
                            json={"mute_minutes": 5})).status_code == 403  # yourself
    assert (await mod.patch(f"/api/v1/rooms/{world.a.slug}/members/{world.mod_b.id}",
                            json={"mute_minutes": 5})).status_code == 404  # not a member here
    assert (await mod.patch(f"/api/v1/rooms/{world.a.slug}/members/99999",
                            json={"mute_minutes": 5})).status_code == 404


async def test_promote_and_demote(world: World, clients: dict[str, Any]) -> None:
    mod, ada, bob = clients["mod"], clients["ada"], clients["bob"]
    slug = world.a.slug
    start = await head(mod, slug)
    assert ok(await mod.patch(f"/api/v1/rooms/{slug}/members/{world.ada.id}", json={"role": "moderator"}))["role"] \
        == "moderator"
    frame = of_kind(await events(bob, slug, start), "member.updated")[0]
    assert frame["data"]["role"] == "moderator" and frame["data"]["member"]["role"] == "moderator"
    # The new moderator acts at once (no new sign-in needed) ...
    ok(await ada.post(f"/api/v1/messages/{world.message.id}/pin"))
    # ... and cannot be muted or removed while a moderator.
    assert (await mod.patch(f"/api/v1/rooms/{slug}/members/{world.ada.id}", json={"mute_minutes": 5})).status_code == 409
    assert (await mod.delete(f"/api/v1/rooms/{slug}/members/{world.ada.id}")).status_code == 409
    ok(await mod.patch(f"/api/v1/rooms/{slug}/members/{world.ada.id}", json={"role": "member"}))
    assert (await ada.post(f"/api/v1/messages/{world.message.id}/unpin")).status_code == 403
    # Guests do not moderate; the last moderator stays one.
    assert (await mod.patch(f"/api/v1/rooms/{slug}/members/{world.gia.id}", json={"role": "moderator"})).status_code == 409
    assert (await mod.patch(f"/api/v1/rooms/{slug}/members/{world.mod.id}", json={"role": "member"})).status_code == 409
    log = await audit_entries(mod, slug, action="member.role_changed")
    assert [e["data"] for e in log] == [{"from": "moderator", "to": "member"}, {"from": "member", "to": "moderator"}]


async def test_remove_a_member(world: World, clients: dict[str, Any]) -> None:
    mod, bob, ada = clients["mod"], clients["bob"], clients["ada"]
    slug = world.a.slug
    start = await head(mod, slug)
    response = await mod.request("DELETE", f"/api/v1/rooms/{slug}/members/{world.bob.id}",
                                 json={"reason": "Repeated abuse"})
    assert response.status_code == 204
    assert of_kind(await events(ada, slug, start), "member.removed")[0]["data"]["user_id"] == world.bob.id
    assert world.bob.id not in [m["user_id"] for m in ok(await ada.get(f"/api/v1/rooms/{slug}/members"))["items"]]
    # An employee may still read an employees' room, but not take part or come back alone.
    assert (await bob.post(f"/api/v1/rooms/{slug}/messages", json={"body": "hello?"})).status_code == 403
    assert (await bob.post(f"/api/v1/rooms/{slug}/join")).status_code == 403
    assert (await mod.delete(f"/api/v1/rooms/{slug}/members/{world.bob.id}")).status_code == 404
    assert (await mod.delete(f"/api/v1/rooms/{slug}/members/{world.mod.id}")).status_code == 403
    entry = (await audit_entries(mod, slug, action="member.removed"))[0]
    assert entry["reason"] == "Repeated abuse" and entry["target_id"] == world.bob.id


async def test_a_removed_guest_loses_the_room_and_their_sessions(world: World, clients: dict[str, Any]) -> None:
    mod, gia = clients["mod"], clients["gia"]
    assert (await gia.get(f"/api/v1/rooms/{world.a.slug}")).status_code == 200
    assert (await mod.delete(f"/api/v1/rooms/{world.a.slug}/members/{world.gia.id}")).status_code == 204
    # Their only room is gone, so is their sign-in.
    assert (await gia.get(f"/api/v1/rooms/{world.a.slug}")).status_code in (401, 404)
    assert (await gia.get("/api/v1/me")).status_code == 401


# Pre-moderation -------------------------------------------------------------------------------


@pytest.fixture
async def premoderated(world: World, clients: dict[str, Any]) -> World:
    ok(await clients["mod"].patch(f"/api/v1/rooms/{world.a.slug}",
                                  json={"premoderation": "first_n", "premoderation_first_n": 2}))
    return world


async def test_held_posts_are_seen_by_their_author_and_the_moderators_only(premoderated: World,
                                                                          clients: dict[str, Any]) -> None:
    world = premoderated
    mod, gia, bob = clients["mod"], clients["gia"], clients["bob"]
    slug = world.a.slug
    start = await head(mod, slug)
    held = ok(await gia.post(f"/api/v1/rooms/{slug}/messages", json={"body": "Hello from outside"}), 201)
    assert held["state"] == "held" and held["body"] == "Hello from outside"
    assert of_kind(await events(bob, slug, start), "message.posted") == []
    assert [m["id"] for m in ok(await bob.get(f"/api/v1/rooms/{slug}/messages"))["items"]].count(held["id"]) == 0
    assert (await bob.post("/api/v1/reports", json={"message_id": held["id"], "reason": "x"})).status_code == 404
    assert of_kind(await events(gia, slug, start), "message.posted")[0]["data"]["message"]["state"] == "held"
    assert of_kind(await events(mod, slug, start), "message.posted")[0]["data"]["message"]["body"] == "Hello from outside"
    queue = ok(await mod.get(f"/api/v1/rooms/{slug}/held"))["items"]
    assert [(m["id"], m["body"]) for m in queue] == [(held["id"], "Hello from outside")]
    assert (await bob.get(f"/api/v1/rooms/{slug}/held")).status_code == 403


async def test_approve_puts_the_post_in_its_original_place(premoderated: World, clients: dict[str, Any]) -> None:
    world = premoderated
    mod, gia, bob = clients["mod"], clients["gia"], clients["bob"]
    slug = world.a.slug
    held = ok(await gia.post(f"/api/v1/rooms/{slug}/messages", json={"body": "Early thought"}), 201)
    later = ok(await bob.post(f"/api/v1/rooms/{slug}/messages", json={"body": "Later message"}), 201)
    start = await head(mod, slug)

    approved = ok(await mod.post(f"/api/v1/messages/{held['id']}/approve"))
    assert approved["state"] == "visible" and approved["created_at"] == held["created_at"]
    frame = of_kind(await events(bob, slug, start), "message.approved")[0]
    assert frame["data"]["message"]["id"] == held["id"] and frame["data"]["message"]["body"] == "Early thought"
    thread = [m["id"] for m in ok(await bob.get(f"/api/v1/rooms/{slug}/messages"))["items"]]
    assert thread.index(held["id"]) < thread.index(later["id"])
    assert (await mod.post(f"/api/v1/messages/{held['id']}/approve")).status_code == 409

    # After two approved posts (the room's first N) the guest posts directly.
    second = ok(await gia.post(f"/api/v1/rooms/{slug}/messages", json={"body": "Second"}), 201)
    assert second["state"] == "held"
    ok(await mod.post(f"/api/v1/messages/{second['id']}/approve"))
    third = ok(await gia.post(f"/api/v1/rooms/{slug}/messages", json={"body": "Third"}), 201)
    assert third["state"] == "visible"
    assert [e["target_id"] for e in await audit_entries(mod, slug, action="message.approved")] == [second["id"], held["id"]]


async def test_reject_tells_the_author_why_and_nobody_else(premoderated: World, clients: dict[str, Any]) -> None:
    world = premoderated
    mod, gia, bob = clients["mod"], clients["gia"], clients["bob"]
    slug = world.a.slug
    held = ok(await gia.post(f"/api/v1/rooms/{slug}/messages", json={"body": "Buy my product"}), 201)
    start = await head(mod, slug)
    assert (await mod.post(f"/api/v1/messages/{held['id']}/reject", json={})).status_code == 422
    rejected = ok(await mod.post(f"/api/v1/messages/{held['id']}/reject", json={"reason": "Advertising"}))
    assert rejected["state"] == "rejected"
    mine = of_kind(await events(gia, slug, start), "message.rejected")[0]["data"]["message"]
    assert mine["state"] == "rejected" and mine["state_reason"] == "Advertising" and mine["body"] == "Buy my product"
    assert of_kind(await events(bob, slug, start), "message.rejected") == []
    assert ok(await mod.get(f"/api/v1/rooms/{slug}/held"))["items"] == []
    assert (await mod.post(f"/api/v1/messages/{held['id']}/approve")).status_code == 409
    assert (await gia.patch(f"/api/v1/messages/{held['id']}", json={"body": "edited"})).status_code == 409
    entry = (await audit_entries(mod, slug, action="message.rejected"))[0]
    assert entry["reason"] == "Advertising" and entry["target_id"] == held["id"]


async def test_all_posts_premoderation_keeps_holding(world: World, clients: dict[str, Any]) -> None:
    mod, gia, ada = clients["mod"], clients["gia"], clients["ada"]
    ok(await mod.patch(f"/api/v1/rooms/{world.a.slug}", json={"premoderation": "all"}))
    for n in range(3):
        held = ok(await gia.post(f"/api/v1/rooms/{world.a.slug}/messages", json={"body": f"post {n}"}), 201)
        assert held["state"] == "held"
        ok(await mod.post(f"/api/v1/messages/{held['id']}/approve"))
    assert ok(await ada.post(f"/api/v1/rooms/{world.a.slug}/messages", json={"body": "employee"}), 201)["state"] \
        == "visible"


# Conflicts ------------------------------------------------------------------------------------


async def test_archived_rooms_refuse_content_moderation(world: World, clients: dict[str, Any]) -> None:
    mod = clients["mod"]
    for phase in ("voting", "closed", "archived"):
        ok(await mod.patch(f"/api/v1/rooms/{world.a.slug}", json={"phase": phase}))
    for path, body in ((f"/api/v1/messages/{world.message.id}/hide", {"reason": "x"}),
                       (f"/api/v1/messages/{world.message.id}/pin", {}),
                       (f"/api/v1/ideas/{world.idea.id}/hide", {"reason": "x"}),
                       (f"/api/v1/ideas/{world.idea.id}/lock", {})):
        response = await mod.post(path, json=body)
        assert response.status_code == 409 and "archived" in response.json()["error"]["message"], path


async def test_deleted_messages_cannot_be_hidden_or_restored(world: World, clients: dict[str, Any]) -> None:
    mod = clients["mod"]
    assert (await mod.delete(f"/api/v1/messages/{world.message.id}")).status_code == 200
    assert (await mod.post(f"/api/v1/messages/{world.message.id}/hide", json={"reason": "x"})).status_code == 409
    assert (await mod.post(f"/api/v1/messages/{world.message.id}/restore")).status_code == 409
    assert (await mod.post(f"/api/v1/messages/{world.message.id}/approve")).status_code == 409
    assert [e["action"] for e in await audit_entries(mod, world.a.slug)][0] == "message.deleted"
