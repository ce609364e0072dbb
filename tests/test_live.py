"""The live stream on one process: delivery, replay, visibility, revocation, limits."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from innovate.accounts.sessions import revoke_user_sessions
from innovate.rooms.discussion import service as messages
from innovate.rooms.ideas import service as ideas
from innovate.rooms.ideas import votes
from tests.conftest import PASSWORD
from tests.live_support import (  # noqa: F401 - fixtures
    LiveServer,
    api_call,
    decode,
    frames_before,
    frames_until,
    has_kind,
    live,
    live_socket,
    of_kind,
    open_room,
    post,
    post_marker,
    settings_overrides,
    stored,
    until,
)


@pytest.fixture
def live_overrides() -> dict[str, Any]:
    return {"ws_queue_size": 8, "ws_max_frame_bytes": 4096, "ws_messages_per_second": 20.0, "ws_replay_limit": 60}


# Moderation through the JSON API, as a moderator's client does it.


async def remove_member(live: LiveServer, moderator: Any, slug: str, user_id: int) -> None:
    await api_call(live, moderator, "DELETE", f"/api/v1/rooms/{slug}/members/{user_id}", expect=(200, 204))


async def mute_member(live: LiveServer, moderator: Any, slug: str, user_id: int, minutes: int = 30) -> None:
    await api_call(live, moderator, "PATCH", f"/api/v1/rooms/{slug}/members/{user_id}", {"mute_minutes": minutes})


async def hide_message(live: LiveServer, moderator: Any, message_id: int, reason: str) -> None:
    await api_call(live, moderator, "POST", f"/api/v1/messages/{message_id}/hide", {"reason": reason})


# Delivery and replay ----------------------------------------------------------------------


async def test_a_post_over_http_reaches_the_other_members_socket(live: LiveServer, make_user: Any) -> None:
    moderator = await make_user(is_moderator=True)
    ada, bob = await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob)
    async with await live.connect(bob, room["slug"]) as ws:
        message = await post(live, ada, room["slug"], "Cargo bikes, anyone?")
        frames = await frames_until(ws, has_kind("message.posted"))
    posted = of_kind(frames, "message.posted")[0]
    assert posted["room"] == room["slug"]
    assert posted["seq"] == room["last_seq"] + 1 and posted["at"]
    assert posted["data"]["message"]["id"] == message["id"]
    assert posted["data"]["message"]["body"] == "Cargo bikes, anyone?"
    assert posted["data"]["message"]["author"]["id"] == ada.id


async def test_a_reconnect_with_after_replays_exactly_what_was_missed(live: LiveServer, make_user: Any) -> None:
    moderator = await make_user(is_moderator=True)
    ada, bob = await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob)
    slug = room["slug"]
    # Room moderators post without the per-member rate limit.
    async with await live.connect(bob, slug, after=room["last_seq"]) as ws:
        await post(live, moderator, slug, "before the break")
        seen = stored(await frames_until(ws, lambda fs: len(stored(fs)) == 1))
    last = seen[-1]["seq"]

    for n in range(50):
        await post(live, moderator, slug, f"while away {n}")

    async with await live.connect(bob, slug, after=last) as ws:
        frames = await frames_until(ws, lambda fs: len(stored(fs)) >= 50)
        await post(live, moderator, slug, "live again")
        frames += await frames_until(ws, lambda fs: len(stored(fs)) >= 1)
        extra = stored(await frames_before(ws, await post_marker(live, moderator, slug)))
    replayed = stored(frames)
    assert [f["seq"] for f in replayed] == list(range(last + 1, last + 52))
    assert [f["data"]["message"]["body"] for f in replayed[:50]] == [f"while away {n}" for n in range(50)]
    assert replayed[50]["data"]["message"]["body"] == "live again"
    assert extra == []


async def test_the_replay_and_live_handover_sends_no_seq_twice(live: LiveServer, make_user: Any) -> None:
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob)
    slug, start = room["slug"], room["last_seq"]
    hub = live.hub
    gate = asyncio.Event()
    deliver = hub.deliver
    later: list[asyncio.Task[None]] = []

    async def deliver_when_open(message: dict[str, Any]) -> None:
        await gate.wait()
        await deliver(message)

    async def held(message: dict[str, Any]) -> None:
        later.append(asyncio.create_task(deliver_when_open(message)))

    async with await live.connect(bob, slug, after=start) as bob_ws:
        await until(lambda: bob.id in hub.by_user)
        hub.deliver = held  # the room's pump hears of the next post only when the gate opens
        try:
            await post(live, moderator, slug, "first")
            # Ada's replay reads "first" from the database before the pump fans it out.
            async with await live.connect(ada, slug, after=start) as ada_ws:
                replayed = stored(await frames_until(ada_ws, lambda fs: len(stored(fs)) == 1))
                gate.set()
                await frames_until(bob_ws, lambda fs: len(stored(fs)) == 1)
                await post(live, moderator, slug, "second")
                ada_frames = replayed + stored(await frames_until(ada_ws, lambda fs: len(stored(fs)) == 1))
                ada_frames += stored(await frames_before(ada_ws, await post_marker(live, moderator, slug)))
        finally:
            hub.deliver = deliver
            gate.set()
            await asyncio.gather(*later)
    assert [f["seq"] for f in ada_frames] == [start + 1, start + 2]
    assert [f["data"]["message"]["body"] for f in ada_frames] == ["first", "second"]


async def test_a_batch_reaches_every_socket_in_order_with_authors_views_in_between(
        live: LiveServer, make_user: Any) -> None:
    """Posts that pile up while the pump is busy go out as one batch: a bystander gets the
    whole run (one write per socket), an author gets their own posts in their personal view
    between the others', each seq once, in order, on JSON and HTML sockets alike."""
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob)
    slug, start = room["slug"], room["last_seq"]
    hub = live.hub
    deliver = hub.deliver
    held: list[dict[str, Any]] = []

    async def hold(message: dict[str, Any]) -> None:
        held.append(message)

    async with await live.connect(bob, slug, after=start) as bob_ws, \
            await live.connect(bob, slug, after=start, fmt="html") as bob_html, \
            await live.connect(ada, slug, after=start) as ada_ws:
        await until(lambda: len(hub.by_user.get(bob.id, ())) == 2 and ada.id in hub.by_user)
        hub.deliver = hold  # the pump hears of the posts only once all four are stored
        try:
            for author, body in ((moderator, "one"), (ada, "two"), (moderator, "three"), (ada, "four")):
                await post(live, author, slug, body)
        finally:
            hub.deliver = deliver
        for message in held:
            await deliver(message)
        expected = [start + n for n in range(1, 5)]
        marker = await post_marker(live, moderator, slug)
        for ws in (bob_ws, ada_ws, bob_html):
            frames = stored(await frames_before(ws, marker))
            assert [f["seq"] for f in frames] == expected
            if ws is not bob_html:
                assert [f["data"]["message"]["body"] for f in frames] == ["one", "two", "three", "four"]
            else:
                assert all("four" in f["content"] for f in frames[-1:])


async def test_a_busy_room_lets_writes_under_way_land_and_sends_them_as_one_batch(
        live: LiveServer, make_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """After an expensive fan-out the pump waits for the writes in flight before reading,
    so a burst leaves as one batch (one send() per socket) instead of one event at a time."""
    from innovate.realtime import channel as channel_module

    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob)
    slug, hub, writes = room["slug"], live.hub, live.hub.inflight
    batches: list[list[int]] = []
    fan_out = channel_module.Channel._fan_out

    async def recording(self: Any, batch: Any) -> None:
        batches.append(list(batch.seqs))
        await fan_out(self, batch)

    monkeypatch.setattr(channel_module.Channel, "_fan_out", recording)
    monkeypatch.setattr(channel_module, "SETTLE_MAX", 30.0)  # the held write decides, not the clock
    async with await live.connect(bob, slug, after=room["last_seq"]) as ws:
        await until(lambda: bob.id in hub.by_user)
        channel = hub.channels[room["id"]]
        channel.fan_out_seconds = 30.0  # as if the last batch had been slow to send
        writes.begin()  # a write under way elsewhere in the process
        try:
            await post(live, moderator, slug, "first")
            await post(live, ada, slug, "second")
            await asyncio.sleep(0.2)
            assert batches == []  # both stored, the pump waits for the write in flight
        finally:
            writes.end()
        frames = stored(await frames_until(ws, lambda fs: len(stored(fs)) >= 2))
    assert [f["data"]["message"]["body"] for f in frames] == ["first", "second"]
    assert batches == [[room["last_seq"] + 1, room["last_seq"] + 2]]


async def test_a_quiet_room_never_waits_for_other_writes(live: LiveServer, make_user: Any) -> None:
    moderator, bob = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, bob)
    slug, hub, writes = room["slug"], live.hub, live.hub.inflight
    async with await live.connect(bob, slug, after=room["last_seq"]) as ws:
        await until(lambda: bob.id in hub.by_user)
        writes.begin()
        try:
            await post(live, moderator, slug, "straight away")
            frames = stored(await frames_until(ws, lambda fs: len(stored(fs)) >= 1))
        finally:
            writes.end()
    assert frames[0]["data"]["message"]["body"] == "straight away"


async def test_a_promotion_while_a_batch_is_rendered_loses_none_of_it(
        live: LiveServer, make_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bob's own post is rendered in his personal members' view; he is promoted before it
    is sent. The switch waits for the batch, so he still gets his post, then the new view."""
    moderator, bob = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, bob)
    slug, hub = room["slug"], live.hub
    rendered, gate = asyncio.Event(), asyncio.Event()
    render = hub.feed.batch

    async def render_then_wait(room_id: int, after: int, views: Any, written: Any = ()) -> Any:
        batch = await render(room_id, after, views, written)
        rendered.set()
        await gate.wait()
        return batch

    async with await live.connect(bob, slug, after=room["last_seq"]) as ws:
        await until(lambda: bob.id in hub.by_user)
        monkeypatch.setattr(hub.feed, "batch", render_then_wait)
        await post(live, bob, slug, "my own words")
        await asyncio.wait_for(rendered.wait(), 10)
        channel = hub.channels[room["id"]]
        conn = next(iter(channel.users[bob.id]))
        channel.regroup(conn, True)
        assert not conn.privileged  # not while the batch is out
        gate.set()
        frames = stored(await frames_until(ws, lambda fs: len(stored(fs)) == 1))
        await until(lambda: conn.privileged)
    assert frames[0]["data"]["message"]["body"] == "my own words"


async def test_a_client_too_far_behind_is_told_to_reload(live: LiveServer, make_user: Any) -> None:
    moderator, ada = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, ada)
    for n in range(live.settings.ws_replay_limit - room["last_seq"] + 2):
        await messages.post_message(live.resources, moderator, room["slug"], {"body": f"m{n}"})
    async with await live.connect(ada, room["slug"], after=0) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await frames_until(ws, lambda fs: False)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4000, "too far behind: reload")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_html_frames_carry_the_seq_and_out_of_band_swaps(live: LiveServer, make_user: Any) -> None:
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob)
    async with await live.connect(bob, room["slug"], fmt=None) as ws:
        message = await post(live, ada, room["slug"], "**bold** idea")
        frame = of_kind(await frames_until(ws, has_kind("message.posted")), "message.posted")[0]
    assert frame["seq"] == room["last_seq"] + 1
    assert set(frame) == {"seq", "kind", "content"}
    assert 'hx-target="#thread-room"' in frame["content"]
    assert f'id="message-{message["id"]}"' in frame["content"]
    assert "<strong>bold</strong>" in frame["content"]


# Who may connect --------------------------------------------------------------------------


async def refused(live: LiveServer, slug: str, headers: dict[str, str], **params: Any) -> int:
    with pytest.raises(InvalidStatus) as info:
        await live.connect(None, slug, headers=headers, **params)
    return info.value.response.status_code


async def test_the_handshake_is_refused_before_accept(live: LiveServer, make_user: Any) -> None:
    moderator, ada = await make_user(is_moderator=True), await make_user()
    outsider = await make_user()
    guest = await make_user(kind="guest")
    room = await open_room(live, moderator, ada)
    slug = room["slug"]
    token = f"Bearer {await live.token(ada)}"
    cookie = f"{live.settings.session_cookie_name}={await live.session_cookie(ada, PASSWORD)}"
    port = live.port

    # No session, a made-up session, a made-up token.
    assert await refused(live, slug, {}) == 403
    assert await refused(live, slug, {"Cookie": f"{live.settings.session_cookie_name}=forged"}) == 403
    assert await refused(live, slug, {"Authorization": "Bearer inv_forged"}) == 403
    # A browser Origin that is not exactly ours.
    for origin in ("null", "http://evil.example", f"http://127.0.0.1:{port}.evil.example",
                   f"http://127.0.0.1:{port}0", f"https://127.0.0.1:{port}", f"http://localhost:{port}",
                   f"http://127.0.0.1:{port}/"):
        assert await refused(live, slug, {"Cookie": cookie, "Origin": origin}) == 403, origin
    # A session cookie with no Origin at all: browsers always send one, so this is not a page
    # of this site (only bearer clients may leave it out).
    assert await refused(live, slug, {"Cookie": cookie}) == 403
    # Signed in, but not a member: an employee who could join, a guest of another room.
    for user in (outsider, guest):
        assert await refused(live, slug, {"Authorization": f"Bearer {await live.token(user)}"}) == 403
    # A room that does not exist looks the same.
    assert await refused(live, "no-such-room", {"Authorization": token}) == 403
    # Bad parameters.
    assert await refused(live, slug, {"Authorization": token}, after="-1") == 400
    assert await refused(live, slug, {"Authorization": token}, fmt="xml") == 400

    # The same member with the right Origin, or a token and no Origin, gets in.
    async with await live.connect(None, slug, headers={"Cookie": cookie, "Origin": live.origin}):
        pass
    async with await live.connect(None, slug, headers={"Authorization": token}):
        pass
    # A revoked session no longer does.
    await revoke_user_sessions(live.resources, ada.id)
    assert await refused(live, slug, {"Cookie": cookie, "Origin": live.origin}) == 403


# Revocation and per-viewer content --------------------------------------------------------


async def test_removing_a_member_closes_their_socket(live: LiveServer, make_user: Any) -> None:
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob)
    async with await live.connect(ada, room["slug"]) as ada_ws, await live.connect(bob, room["slug"]) as bob_ws:
        await until(lambda: ada.id in live.hub.by_user and bob.id in live.hub.by_user)
        await remove_member(live, moderator, room["slug"], ada.id)
        async with asyncio.timeout(1.5):
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await ada_ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        # The others stay, and see the removal.
        frames = await frames_until(bob_ws, has_kind("member.removed"))
        assert of_kind(frames, "member.removed")[0]["data"]["user_id"] == ada.id


async def test_revoked_sessions_close_open_sockets(live: LiveServer, make_user: Any) -> None:
    moderator, ada = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, ada)
    cookie = f"{live.settings.session_cookie_name}={await live.session_cookie(ada, PASSWORD)}"
    async with await live.connect(None, room["slug"], headers={"Cookie": cookie, "Origin": live.origin}) as ws:
        await until(lambda: ada.id in live.hub.by_user)
        # Revoking is a write like any other: its sockets re-check as soon as it commits.
        await revoke_user_sessions(live.resources, ada.id)
        async with asyncio.timeout(1.5):
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_signing_out_closes_that_sessions_sockets_at_once(live: LiveServer, make_user: Any) -> None:
    """Not at the next periodic re-check: at once. Ada's other session carries on."""
    import httpx

    from tests.clients import form_csrf

    moderator, ada = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, ada)
    name = live.settings.session_cookie_name
    leaving, staying = (await live.session_cookie(ada, PASSWORD)), (await live.session_cookie(ada, PASSWORD))
    headers = {"Origin": live.origin}
    async with await live.connect(None, room["slug"], headers={**headers, "Cookie": f"{name}={leaving}"}) as gone, \
            await live.connect(None, room["slug"], headers={**headers, "Cookie": f"{name}={staying}"}) as kept:
        await until(lambda: len(live.hub.by_user.get(ada.id, ())) == 2)
        async with httpx.AsyncClient(base_url=live.url, cookies={name: leaving}, headers=headers) as http:
            token = form_csrf((await http.get("/")).text)
            assert (await http.post("/logout", data={"csrf_token": token})).status_code == 303
        async with asyncio.timeout(5):
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await gone.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        await until(lambda: len(live.hub.by_user.get(ada.id, ())) == 1)
        await post(live, moderator, room["slug"], "still here?")
        assert has_kind("message.posted")(await frames_until(kept, has_kind("message.posted")))


async def test_revoking_a_token_closes_the_sockets_opened_with_it(live: LiveServer, make_user: Any) -> None:
    moderator, ada = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, ada)
    async with await live.connect(ada, room["slug"]) as ws:
        await until(lambda: ada.id in live.hub.by_user)
        (token,) = (await api_call(live, ada, "GET", "/api/v1/tokens"))["items"]
        await api_call(live, ada, "DELETE", f"/api/v1/tokens/{token['id']}", expect=204)
        async with asyncio.timeout(5):
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_held_and_hidden_content_reaches_only_those_who_may_see_it(live: LiveServer, make_user: Any) -> None:
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    guest = await make_user(kind="guest")
    room = await open_room(live, moderator, ada, bob, premoderation="all")
    await _invite_guest(live, room["id"], guest)
    slug = room["slug"]
    async with (await live.connect(moderator, slug) as mod_ws, await live.connect(bob, slug) as bob_ws,
                await live.connect(guest, slug) as guest_ws):
        held = await messages.post_message(live.resources, guest, slug, {"body": "held for review"})
        visible = await post(live, ada, slug, "rude words")
        await hide_message(live, moderator, visible["id"], "Be kind.")
        mod_frames = stored(await frames_until(mod_ws, has_kind("message.hidden")))
        bob_frames = stored(await frames_until(bob_ws, has_kind("message.hidden")))
        guest_frames = stored(await frames_until(guest_ws, has_kind("message.hidden")))

    # The held post: the moderator and its author see it; other members never get the frame.
    assert [f["data"]["message"]["body"] for f in of_kind(mod_frames, "message.posted")] == \
        ["held for review", "rude words"]
    assert [f["data"]["message"]["id"] for f in of_kind(bob_frames, "message.posted")] == [visible["id"]]
    assert of_kind(guest_frames, "message.posted")[0]["data"]["message"]["body"] == "held for review"
    assert all(f["data"]["message"]["id"] != held.id for f in bob_frames if "message" in f["data"])
    # The hidden post: the moderator's frame has it, the member's frame does not.
    mod_hidden = of_kind(mod_frames, "message.hidden")[0]["data"]["message"]
    bob_hidden = of_kind(bob_frames, "message.hidden")[0]["data"]["message"]
    assert (mod_hidden["body"], mod_hidden["state_reason"]) == ("rude words", "Be kind.")
    assert (bob_hidden["state"], bob_hidden["body"], bob_hidden["body_html"]) == ("hidden", "", "")
    assert "state_reason" not in bob_hidden

    # A replay shows the member the same thing: the hidden body never reaches their socket.
    async with await live.connect(bob, slug, after=room["last_seq"]) as ws:
        replayed = stored(await frames_until(ws, lambda fs: any(f.get("kind") == "message.hidden" for f in fs)))
    assert all("rude words" not in str(f) and "held for review" not in str(f) for f in replayed)


async def _invite_guest(live: LiveServer, room_id: int, guest: Any) -> None:
    """What redeeming an invite link does for the guest's membership."""
    from innovate.rooms.memberships import add_member
    from innovate.rooms.models import Room
    from innovate.writes import write

    async with write(live.resources) as (db, outbox):
        room = await db.get(Room, room_id)
        assert room is not None
        await add_member(db, outbox, room, guest)


async def test_a_muted_member_is_told_to_turn_the_composer_off(live: LiveServer, make_user: Any) -> None:
    moderator, ada = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, ada)
    async with (await live.connect(ada, room["slug"]) as json_ws,
                await live.connect(ada, room["slug"], fmt="html") as html_ws):
        await until(lambda: len(live.hub.by_user.get(ada.id, ())) == 2)
        await mute_member(live, moderator, room["slug"], ada.id)
        # (A socket is told its standing as it goes live, too: the one that says "muted" is wanted.)
        standing = of_kind(await frames_until(json_ws, lambda fs: any(
            f["kind"] == "standing" and not f["data"]["can_post"] for f in fs)), "standing")[-1]
        html = of_kind(await frames_until(html_ws, has_kind("member.muted")), "member.muted")[0]
    assert standing["data"]["can_post"] is False and standing["data"]["muted_until"]
    assert 'hx-target="#my-standing"' in html["content"] and "data-muted-until=" in html["content"]
    # Muted members may still read, but typing signals from them go nowhere.
    assert all(c.muted_until is not None for c in live.hub.by_user.get(ada.id, ()))


# Limits -----------------------------------------------------------------------------------


async def test_an_oversized_frame_closes_with_1009(live: LiveServer, make_user: Any) -> None:
    moderator, ada = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, ada)
    async with await live.connect(ada, room["slug"]) as ws:
        await ws.send('{"type": "ping"}')
        await frames_until(ws, has_kind("pong"))
        await ws.send("x" * (live.settings.ws_max_frame_bytes + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await frames_until(ws, lambda fs: False)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_a_client_sending_too_fast_closes_with_1008(live: LiveServer, make_user: Any) -> None:
    moderator, ada = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, ada)
    async with await live.connect(ada, room["slug"]) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(int(live.settings.ws_messages_per_second) * 5):
                await ws.send('{"type": "ping"}')
            await frames_until(ws, lambda fs: False)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "too many messages")


async def test_a_client_that_never_reads_is_cut_off_and_the_others_get_everything(
        live: LiveServer, make_user: Any) -> None:
    moderator, ada, bob, slow = (await make_user(is_moderator=True), await make_user(), await make_user(),
                                 await make_user())
    room = await open_room(live, moderator, ada, bob, slow)
    slug = room["slug"]
    count = 60
    # Bounded kernel buffers, as on a real network (loopback would otherwise absorb
    # megabytes); accepted sockets inherit the listener's send buffer.
    live.listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    reader = await live.connect(bob, slug)
    stalled = await _stalled_client(live, await live.token(slow), slug)
    try:
        await until(lambda: slow.id in live.hub.by_user)
        received: list[dict[str, Any]] = []

        async def read_all() -> None:
            while len(stored(received)) < count:
                received.append(decode(await reader.recv()))

        reading = asyncio.create_task(read_all())
        body = "A long, thoughtful post. " * 190
        for n in range(count):
            await messages.post_message(live.resources, moderator, slug, {"body": f"{n}: {body}"})
        await until(lambda: slow.id not in live.hub.by_user, timeout=20)
        await asyncio.wait_for(reading, 20)
        assert [f["seq"] for f in stored(received)] == list(range(room["last_seq"] + 1, room["last_seq"] + count + 1))
        # The stalled socket was ended by the server: reading it now ends in a close frame
        # ("try again later": the client reconnects with its last seq) or, if even that could
        # not be written, a dropped connection.
        assert await asyncio.to_thread(_close_code_when_read, stalled) in (1013, None)
    finally:
        stalled.close()
        await reader.close()


async def _stalled_client(live: LiveServer, token: str, slug: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads again, with a
    tiny receive buffer so the server's writes back up quickly."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", live.port))
    request = (f"GET /rooms/{slug}/live?format=json HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n")
    await asyncio.to_thread(sock.sendall, request.encode())
    response = await asyncio.to_thread(sock.recv, 1024)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def _close_code_when_read(sock: socket.socket) -> int | None:
    """Read server frames until a close frame (its code) or the end of the connection (None)."""
    sock.settimeout(10)
    buffer = b""

    def need(n: int) -> bool:
        nonlocal buffer
        while len(buffer) < n:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return False
            if not chunk:
                return False
            buffer += chunk
        return True

    while need(2):
        opcode, length = buffer[0] & 0x0F, buffer[1] & 0x7F
        start = 2
        if length == 126:
            if not need(4):
                return None
            length, start = int.from_bytes(buffer[2:4], "big"), 4
        elif length == 127:
            if not need(10):
                return None
            length, start = int.from_bytes(buffer[2:10], "big"), 10
        if not need(start + length):
            return None
        payload, buffer = buffer[start:start + length], buffer[start + length:]
        if opcode == 0x8:
            return int.from_bytes(payload[:2], "big")
    return None


async def test_tallies_are_coalesced_and_end_with_the_final_numbers(live: LiveServer, make_user: Any) -> None:
    moderator = await make_user(is_moderator=True)
    voters = [await make_user() for _ in range(20)]
    room = await open_room(live, moderator, *voters)
    slug = room["slug"]
    idea_list = [await ideas.submit_idea(live.resources, moderator, slug, {"title": f"Idea {n}", "body": "b"})
                 for n in range(5)]
    async with await live.connect(moderator, slug) as ws:
        await until(lambda: moderator.id in live.hub.by_user)
        await asyncio.gather(*(votes.cast_vote(live.resources, voter, idea.id, 1)
                               for voter in voters for idea in idea_list))

        def settled(frames: list[dict[str, Any]]) -> bool:
            latest: dict[int, int] = {}
            for frame in of_kind(frames, "tally.changed"):
                for tally in frame["data"]["tallies"]:
                    latest[tally["idea_id"]] = tally["voters"]
            return latest == {idea.id: len(voters) for idea in idea_list}

        frames = await frames_until(ws, settled, timeout=20)
        frames += await frames_before(ws, await post_marker(live, moderator, slug))
    tallies = of_kind(frames, "tally.changed")
    assert len(tallies) < 100 // 4, f"{len(tallies)} tally frames for 100 votes"
    final = {t["idea_id"]: t for frame in tallies for t in frame["data"]["tallies"]}
    assert {i: (t["up"], t["voters"]) for i, t in final.items()} == {idea.id: (20, 20) for idea in idea_list}


async def test_hidden_tallies_reach_moderators_only(live: LiveServer, make_user: Any) -> None:
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob, hide_tallies_until_closed=True)
    idea = await ideas.submit_idea(live.resources, moderator, room["slug"], {"title": "Night trains", "body": "b"})
    async with await live.connect(moderator, room["slug"]) as mod_ws, await live.connect(bob, room["slug"]) as bob_ws:
        await until(lambda: moderator.id in live.hub.by_user and bob.id in live.hub.by_user)
        await votes.cast_vote(live.resources, ada, idea.id, 1)
        # (Going live, a socket is sent every tally as it stands: the one after the vote is wanted.)
        tallies = of_kind(await frames_until(mod_ws, lambda fs: any(
            t["voters"] == 1 for f in of_kind(fs, "tally.changed") for t in f["data"]["tallies"])), "tally.changed")
        assert tallies[-1]["data"]["tallies"] == [{"idea_id": idea.id, "up": 1, "down": 0, "score": 1, "voters": 1}]
        marker = await post_marker(live, moderator, room["slug"])
        assert of_kind(await frames_before(bob_ws, marker), "tally.changed") == []


async def test_a_voters_other_tabs_get_their_own_vote_and_dots_left(live: LiveServer, make_user: Any) -> None:
    """Ada votes in one tab: every socket of hers in the room (JSON and HTML) hears her own
    vote and dots left; nobody else gets her vote.mine frames."""
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob, voting_mode="budget", budget=5, max_per_idea=3)
    slug = room["slug"]
    idea = await ideas.submit_idea(live.resources, moderator, slug, {"title": "Solar roofs", "body": "b"})
    async with await live.connect(ada, slug) as ada_json, await live.connect(ada, slug, fmt="html") as ada_html, \
            await live.connect(bob, slug) as bob_ws:
        await until(lambda: len(live.hub.by_user.get(ada.id, ())) == 2 and bob.id in live.hub.by_user)
        await api_call(live, ada, "PUT", f"/api/v1/ideas/{idea.id}/vote", {"value": 2})

        def mine_is(value: int | None, left: int) -> Any:
            return lambda fs: any(f["data"] == {"idea_id": idea.id, "my_vote": value, "my_budget_left": left}
                                  for f in of_kind(fs, "vote.mine"))

        await frames_until(ada_json, mine_is(2, 3))
        html_frames = await frames_until(ada_html, has_kind("vote.mine"))
        content = of_kind(html_frames, "vote.mine")[-1]["content"]
        assert f'hx-target="#vote-{idea.id}"' in content and 'hx-trigger="load"' in content
        await api_call(live, ada, "DELETE", f"/api/v1/ideas/{idea.id}/vote", expect=(200, 204))
        await frames_until(ada_json, mine_is(None, 5))
        assert of_kind(await frames_before(bob_ws, await post_marker(live, moderator, slug)), "vote.mine") == []


async def test_reloaded_vote_controls_bring_the_dots_left(live: LiveServer, make_user: Any) -> None:
    """What a vote.mine fragment's controls load: the buttons and, in budget rooms, the
    caller's dots left (the line that did not refresh in other tabs)."""
    import httpx

    moderator, ada = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, ada, voting_mode="budget", budget=5, max_per_idea=3)
    idea = await ideas.submit_idea(live.resources, moderator, room["slug"], {"title": "Heat pumps", "body": "b"})
    await votes.cast_vote(live.resources, ada, idea.id, 3)
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        response = await http.get(f"/rooms/{room['slug']}/ideas/{idea.id}/vote",
                                  headers={"Authorization": f"Bearer {await live.token(ada)}", "HX-Request": "true"})
    assert response.status_code == 200, response.text[:300]
    assert f'id="vote-{idea.id}"' in response.text
    assert 'hx-target="#budget-left"' in response.text and "<strong>2</strong> of 5" in response.text
