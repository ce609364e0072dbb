"""Moderation reaching open sockets at once, per viewer: a real uvicorn server, real
websocket clients (JSON for scripts, HTML fragments for browsers), actions through the API."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from innovate.db import utcnow
from innovate.rooms.memberships import add_member
from innovate.rooms.models import Room
from innovate.writes import write
from tests.live_support import (  # noqa: F401 - fixtures
    LiveServer,
    api_call,
    frames_before,
    frames_until,
    has_kind,
    live,
    live_overrides,
    live_socket,
    of_kind,
    open_room,
    post,
    post_marker,
    settings_overrides,
    until,
)


async def add_guest(live: LiveServer, room_id: int, guest: Any) -> None:
    """What redeeming an invite link does for the guest's membership."""
    async with write(live.resources) as (db, outbox):
        room = await db.get(Room, room_id)
        assert room is not None
        await add_member(db, outbox, room, guest)


async def closed_code(ws: Any) -> int:
    async with asyncio.timeout(5):
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_a_hidden_message_disappears_for_members_and_shows_as_hidden_to_moderators(
        live: LiveServer, make_user: Any) -> None:
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob)
    slug = room["slug"]
    message = await post(live, ada, slug, "You are all **wrong**")
    async with (await live.connect(bob, slug, fmt=None) as bob_html, await live.connect(bob, slug) as bob_json,
                await live.connect(moderator, slug, fmt=None) as mod_html,
                await live.connect(moderator, slug) as mod_json):
        await api_call(live, moderator, "POST", f"/api/v1/messages/{message['id']}/hide", {"reason": "Be kind"})
        member_html = of_kind(await frames_until(bob_html, has_kind("message.hidden")), "message.hidden")[0]
        member_json = of_kind(await frames_until(bob_json, has_kind("message.hidden")), "message.hidden")[0]
        moderator_html = of_kind(await frames_until(mod_html, has_kind("message.hidden")), "message.hidden")[0]
        moderator_json = of_kind(await frames_until(mod_json, has_kind("message.hidden")), "message.hidden")[0]

    # Members: the message's place empties (an empty, hidden placeholder), no text, no reason.
    assert f'<li id="message-{message["id"]}" class="message gone" hidden></li>' in member_html["content"]
    assert "wrong" not in member_html["content"] and "Be kind" not in member_html["content"]
    assert member_json["data"]["message"]["body"] == "" and "state_reason" not in member_json["data"]["message"]
    assert "wrong" not in str(member_json) and "Be kind" not in str(member_json)
    # Moderators: still there, marked hidden with the reason, and a Restore button.
    assert "Hidden by a moderator: Be kind" in moderator_html["content"]
    assert "<strong>wrong</strong>" in moderator_html["content"] and "/restore" in moderator_html["content"]
    assert moderator_json["data"]["message"]["state_reason"] == "Be kind"

    # Restoring brings it back for members, in place.
    async with await live.connect(bob, slug, fmt=None, after=member_html["seq"]) as ws:
        await api_call(live, moderator, "POST", f"/api/v1/messages/{message['id']}/restore")
        restored = of_kind(await frames_until(ws, has_kind("message.restored")), "message.restored")[0]
    assert f'hx-target="#message-{message["id"]}"' in restored["content"]
    assert "<strong>wrong</strong>" in restored["content"]


async def test_a_muted_members_composer_turns_off_and_back_on_when_the_mute_ends(
        live: LiveServer, make_user: Any) -> None:
    moderator, ada = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, ada)
    slug = room["slug"]
    # The socket's standing is re-checked after the mute is written; if that re-check ran only
    # after the mute had already ended (a busy machine), nothing changed and no frame is due. Six
    # seconds leaves a loaded machine room, at the cost of waiting them out.
    until_at = utcnow() + timedelta(seconds=6)
    async with await live.connect(ada, slug, fmt=None) as html_ws, await live.connect(ada, slug) as json_ws:
        await until(lambda: len(live.hub.by_user.get(ada.id, ())) == 2)
        await api_call(live, moderator, "PATCH", f"/api/v1/rooms/{slug}/members/{ada.id}",
                       {"muted_until": until_at.isoformat()})
        muted = of_kind(await frames_until(html_ws, has_kind("member.muted")), "member.muted")[0]
        standing = of_kind(await frames_until(json_ws, lambda fs: any(  # (not the one sent on going live)
            f.get("kind") == "standing" and not f["data"]["can_post"] for f in fs)), "standing")[-1]
        # The page's #my-standing now says until when: room.js disables the composer and
        # schedules turning it back on at that moment.
        assert 'hx-target="#my-standing"' in muted["content"] and f'data-muted-until="{until_at.isoformat()}"' \
            in muted["content"]
        assert standing["data"]["can_post"] is False and standing["data"]["muted_until"] == until_at.isoformat()
        # When the mute runs out the server says so too, without anyone doing anything.
        back = of_kind(await frames_until(json_ws, lambda fs: any(
            f.get("kind") == "standing" and f["data"]["can_post"] for f in fs), timeout=20), "standing")[-1]
    assert back["data"] == {"moderator": False, "muted_until": None, "can_post": True}
    await post(live, ada, slug, "I am back")


async def test_a_removed_members_socket_closes(live: LiveServer, make_user: Any) -> None:
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    guest = await make_user(kind="guest")
    room = await open_room(live, moderator, ada, bob)
    await add_guest(live, room["id"], guest)
    slug = room["slug"]
    async with (await live.connect(ada, slug) as ada_ws, await live.connect(guest, slug, fmt=None) as guest_ws,
                await live.connect(bob, slug) as bob_ws):
        await until(lambda: all(u in live.hub.by_user for u in (ada.id, guest.id, bob.id)))
        await api_call(live, moderator, "DELETE", f"/api/v1/rooms/{slug}/members/{ada.id}", expect=204)
        assert await closed_code(ada_ws) == 1008
        await api_call(live, moderator, "DELETE", f"/api/v1/rooms/{slug}/members/{guest.id}", expect=204)
        assert await closed_code(guest_ws) == 1008
        frames = await frames_until(bob_ws, has_kind("member.removed", 2))
    assert [f["data"]["user_id"] for f in of_kind(frames, "member.removed")] == [ada.id, guest.id]
    # They cannot come back on their own: the handshake is refused.
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus):
        await live.connect(ada, slug)


async def test_a_new_report_appears_in_the_moderators_queue(live: LiveServer, make_user: Any) -> None:
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob)
    slug = room["slug"]
    message = await post(live, ada, slug, "borderline")
    async with (await live.connect(moderator, slug, fmt=None) as mod_html, await live.connect(moderator, slug) as mod_json,
                await live.connect(ada, slug) as ada_ws, await live.connect(bob, slug, fmt=None) as bob_html):
        await api_call(live, bob, "POST", "/api/v1/reports", {"message_id": message["id"], "reason": "Rude"})
        html = of_kind(await frames_until(mod_html, has_kind("report.created")), "report.created")[0]
        data = of_kind(await frames_until(mod_json, has_kind("report.created")), "report.created")[0]["data"]
        # Neither the author nor the reporter's other tabs hear of it.
        marker = await post_marker(live, moderator, slug)
        for ws in (ada_ws, bob_html):
            assert [f for f in await frames_before(ws, marker) if f.get("kind", "").startswith("report.")] == []
        # Resolving it takes it out of every moderator's queue.
        await api_call(live, moderator, "POST", f"/api/v1/reports/{data['report']['id']}/resolve", {"action": "dismiss"})
        resolved = of_kind(await frames_until(mod_html, has_kind("report.resolved")), "report.resolved")[0]
    # The queue page swaps in its fresh queue (loaders for the parts the page shows).
    assert 'hx-target="#reports-queue"' in html["content"] and f"/rooms/{slug}/moderation/reports" in html["content"]
    assert 'hx-target="#moderation-counts"' in html["content"] and "reported a message" in html["content"]
    assert data["report"]["reason"] == "Rude" and data["target_id"] == message["id"]
    assert 'hx-target="#reports-queue"' in resolved["content"]


async def test_approved_posts_appear_for_everyone_and_declined_ones_for_their_author(
        live: LiveServer, make_user: Any) -> None:
    moderator, bob = await make_user(is_moderator=True), await make_user()
    guest = await make_user(kind="guest")
    room = await open_room(live, moderator, bob, premoderation="all")
    await add_guest(live, room["id"], guest)
    slug = room["slug"]
    async with (await live.connect(bob, slug, fmt=None) as bob_html, await live.connect(bob, slug) as bob_json,
                await live.connect(guest, slug) as guest_ws, await live.connect(moderator, slug, fmt=None) as mod_html):
        held = await post(live, guest, slug, "From outside")
        declined = await post(live, guest, slug, "Spam spam")
        queued = await frames_until(mod_html, has_kind("message.posted", 2))
        assert all('hx-target="#held-queue"' in f["content"] for f in of_kind(queued, "message.posted"))
        await api_call(live, moderator, "POST", f"/api/v1/messages/{held['id']}/approve")
        await api_call(live, moderator, "POST", f"/api/v1/messages/{declined['id']}/reject", {"reason": "Spam"})
        approved_html = of_kind(await frames_until(bob_html, has_kind("message.approved")), "message.approved")[0]
        approved_json = of_kind(await frames_until(bob_json, has_kind("message.approved")), "message.approved")[0]
        mine = await frames_until(guest_ws, has_kind("message.rejected"))
        later = await frames_before(bob_json, await post_marker(live, moderator, slug))
    assert approved_json["data"]["message"]["body"] == "From outside"
    assert approved_json["data"]["message"]["created_at"] == held["created_at"]  # its original place in time
    assert f'id="message-{held["id"]}"' in approved_html["content"] and "From outside" in approved_html["content"]
    rejected = of_kind(mine, "message.rejected")[0]["data"]["message"]
    assert (rejected["state"], rejected["state_reason"]) == ("rejected", "Spam")
    assert of_kind(later, "message.rejected") == [] and "Spam spam" not in str(later)


async def test_a_promoted_member_gets_the_moderators_view_at_once(live: LiveServer, make_user: Any) -> None:
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob)
    slug = room["slug"]
    message = await post(live, bob, slug, "something")
    async with await live.connect(ada, slug) as ws:
        await until(lambda: ada.id in live.hub.by_user)
        await api_call(live, moderator, "PATCH", f"/api/v1/rooms/{slug}/members/{ada.id}", {"role": "moderator"})
        seen = await frames_until(ws, lambda fs: has_kind("member.updated")(fs) and any(
            f.get("kind") == "standing" and f["data"]["moderator"] for f in fs))
        assert of_kind(seen, "member.updated")[0]["data"]["role"] == "moderator"
        # Now a moderator, the same socket receives what only moderators see.
        report = await api_call(live, moderator, "POST", "/api/v1/reports",
                                {"message_id": message["id"], "reason": "check"})
        frames = await frames_until(ws, has_kind("report.created"))
    assert of_kind(frames, "report.created")[0]["data"]["report"]["id"] == report["id"]
