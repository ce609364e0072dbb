"""Frames addressed to one user (``writes.to_user``): every socket of theirs gets them, in a
room or on the user's own stream (``/me/live``, for pages with no room); nobody else does."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from innovate import kinds
from innovate.accounts.sessions import revoke_user_sessions
from innovate.writes import to_user, write
from tests.conftest import PASSWORD
from tests.live_support import frames_until, has_kind, live, live_socket, of_kind, open_room, post, until

__all__ = ["live", "live_socket"]


def unread(frames: list[dict[str, Any]]) -> list[int]:
    return [f["data"]["unread"] for f in of_kind(frames, kinds.NOTIFICATIONS_UNREAD.name)]


def vote_mine(slug: str, idea_id: int) -> dict[str, Any]:
    return {"kind": kinds.VOTE_MINE.name, "room": slug, "data": {"idea_id": idea_id, "my_vote": 1}}


async def send_to(live: Any, user_id: int, frame: dict[str, Any]) -> None:
    async with write(live.resources) as (_, outbox):
        to_user(outbox, user_id, frame)


async def test_a_frame_for_a_user_reaches_each_of_their_sockets_and_nobody_elses(live: Any, make_user: Any) -> None:
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob)
    slug = room["slug"]
    async with await live.connect_user_stream(ada) as ada_own, \
            await live.connect(ada, slug) as ada_room, \
            await live.connect_user_stream(bob) as bob_own:
        await until(lambda: len(live.hub.by_user.get(ada.id, ())) == 2 and bob.id in live.hub.by_user)
        await send_to(live, ada.id, vote_mine(slug, 41))
        for ws in (ada_own, ada_room):
            frames = await frames_until(ws, has_kind(kinds.VOTE_MINE.name))
            assert [f["data"]["idea_id"] for f in frames if f["kind"] == kinds.VOTE_MINE.name] == [41]
        # Bob's own frame comes after Ada's was sent: had hers reached him, it would come first.
        await send_to(live, bob.id, vote_mine(slug, 42))
        frames = await frames_until(bob_own, has_kind(kinds.VOTE_MINE.name))
        assert [f["data"]["idea_id"] for f in frames if f["kind"] == kinds.VOTE_MINE.name] == [42]


async def test_html_user_streams_get_the_frames_live_html(live: Any, make_user: Any) -> None:
    ada = await make_user()
    async with await live.connect_user_stream(ada, fmt="html") as ws:
        await until(lambda: ada.id in live.hub.by_user)
        await send_to(live, ada.id, vote_mine("any-room", 7))
        frame = (await frames_until(ws, has_kind(kinds.VOTE_MINE.name)))[-1]
    assert 'hx-target="#vote-7"' in frame["content"]


async def test_only_declared_state_kinds_reach_a_users_sockets(live: Any, make_user: Any) -> None:
    ada = await make_user()
    async with await live.connect_user_stream(ada) as ws:
        await until(lambda: ada.id in live.hub.by_user)
        await send_to(live, ada.id, {"kind": "message.posted", "data": {}})  # history, not state
        await send_to(live, ada.id, {"kind": "no.such.kind", "data": {}})
        await send_to(live, ada.id, vote_mine("r", 1))
        frames = await frames_until(ws, has_kind(kinds.VOTE_MINE.name))
    # Besides the marker, only the bell's count (every socket gets it as it goes live).
    assert {f["kind"] for f in frames} <= {kinds.NOTIFICATIONS_UNREAD.name, kinds.VOTE_MINE.name}


async def refused(live: Any, headers: dict[str, str], **params: Any) -> int:
    with pytest.raises(InvalidStatus) as info:
        async with await live.connect_user_stream(None, headers=headers, **params):
            pass
    return info.value.response.status_code


async def test_the_user_stream_handshake_is_the_room_sockets(live: Any, make_user: Any) -> None:
    ada = await make_user()
    cookie = f"{live.settings.session_cookie_name}={await live.session_cookie(ada, PASSWORD)}"
    assert await refused(live, {}) == 403
    assert await refused(live, {"Cookie": cookie}) == 403  # a browser cookie needs its Origin
    assert await refused(live, {"Cookie": cookie, "Origin": "http://evil.example"}) == 403
    assert await refused(live, {"Authorization": f"Bearer {await live.token(ada)}"}, fmt="xml") == 400
    async with await live.connect_user_stream(None, headers={"Cookie": cookie, "Origin": live.origin}):
        pass


async def test_revoking_the_users_sessions_closes_their_own_stream(live: Any, make_user: Any) -> None:
    ada = await make_user()
    cookie = f"{live.settings.session_cookie_name}={await live.session_cookie(ada, PASSWORD)}"
    async with await live.connect_user_stream(None, headers={"Cookie": cookie, "Origin": live.origin}) as ws:
        await until(lambda: ada.id in live.hub.by_user)
        await revoke_user_sessions(live.resources, ada.id)
        async with asyncio.timeout(10):
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    await until(lambda: ada.id not in live.hub.by_user)


async def test_a_mention_turns_the_bell_up_on_every_page_at_once(live: Any, make_user: Any) -> None:
    """The unread count reaches the mentioned member's room page (the room socket) and any
    other page (the user's own stream), as data for scripts and as the bell's HTML."""
    moderator, ada = await make_user(is_moderator=True), await make_user(name="Ada Lovelace")
    bob = await make_user(name="Bob")
    room = await open_room(live, moderator, ada, bob)
    slug = room["slug"]
    async with await live.connect_user_stream(ada) as ada_home, \
            await live.connect_user_stream(ada, fmt="html") as ada_home_html, \
            await live.connect(ada, slug, after=room["last_seq"]) as ada_room, \
            await live.connect_user_stream(bob) as bob_home:
        for ws in (ada_home, ada_room, bob_home):  # every socket gets the count as it goes live
            assert unread(await frames_until(ws, has_kind(kinds.NOTIFICATIONS_UNREAD.name))) == [0]
        await frames_until(ada_home_html, has_kind(kinds.NOTIFICATIONS_UNREAD.name))
        await post(live, bob, slug, "@adalovelace what do you think?")
        for ws in (ada_home, ada_room):
            assert unread(await frames_until(ws, has_kind(kinds.NOTIFICATIONS_UNREAD.name))) == [1]
        html = of_kind(await frames_until(ada_home_html, has_kind(kinds.NOTIFICATIONS_UNREAD.name)),
                       kinds.NOTIFICATIONS_UNREAD.name)[-1]
        assert 'hx-target="#notification-bell"' in html["content"] and ">1<" in html["content"]
        # Bob wrote it: nothing for him. His own marker, sent after, would come behind it.
        await send_to(live, bob.id, vote_mine(slug, 9))
        frames = await frames_until(bob_home, has_kind(kinds.VOTE_MINE.name))
        assert unread(frames) == []


async def test_a_socket_that_comes_back_gets_the_unread_count_it_missed(live: Any, make_user: Any) -> None:
    """Notifications that came while a page was away reach its bell when it reconnects, on
    the user's own stream and on a room socket alike."""
    moderator, ada = await make_user(is_moderator=True), await make_user(name="Ada Lovelace")
    bob = await make_user(name="Bob")
    room = await open_room(live, moderator, ada, bob)
    await post(live, bob, room["slug"], "@adalovelace are you there?")
    for connecting in (live.connect_user_stream(ada), live.connect(ada, room["slug"], after=room["last_seq"])):
        async with await connecting as ws:
            frames = await frames_until(ws, has_kind(kinds.NOTIFICATIONS_UNREAD.name))
        assert unread(frames) == [1]
