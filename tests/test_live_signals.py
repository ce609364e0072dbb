"""Ephemeral live signals (presence, typing), idle sockets and shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.live_support import (  # noqa: F401 - fixtures
    LiveServer,
    api_call,
    frames_until,
    has_kind,
    live,
    live_socket,
    of_kind,
    open_room,
    settings_overrides,
    until,
)


@pytest.fixture
def live_overrides() -> dict[str, Any]:
    return {"ws_idle_timeout_seconds": 6.0, "ws_presence_seconds": 1.0}


def present(frames: list[dict[str, Any]]) -> set[int]:
    latest = of_kind(frames, "presence")[-1]["data"]
    return {user["id"] for user in latest["users"]}


async def test_members_see_who_is_here_and_who_left(live: LiveServer, make_user: Any) -> None:
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(name="Ada"), await make_user()
    room = await open_room(live, moderator, ada, bob)
    slug = room["slug"]
    async with await live.connect(bob, slug) as bob_ws:
        await frames_until(bob_ws, lambda fs: has_kind("presence")(fs) and present(fs) == {bob.id})
        async with await live.connect(ada, slug) as ada_ws:
            await frames_until(bob_ws, lambda fs: has_kind("presence")(fs) and present(fs) == {ada.id, bob.id})
            ada_view = await frames_until(ada_ws, lambda fs: has_kind("presence")(fs) and present(fs) == {ada.id, bob.id})
            await ada_ws.send('{"type": "ping"}')
        await frames_until(bob_ws, lambda fs: has_kind("presence")(fs) and present(fs) == {bob.id})
    listed = {u["id"]: u for u in of_kind(ada_view, "presence")[-1]["data"]["users"]}
    assert listed[ada.id]["name"] == "Ada" and of_kind(ada_view, "presence")[-1]["data"]["count"] == 2


TYPING = '{"type": "typing", "idea_id": null}'


def typists(frames: list[dict[str, Any]]) -> list[int]:
    return [f["data"]["user"]["id"] for f in of_kind(frames, "typing")]


async def test_typing_reaches_the_others_and_muted_members_cannot_type(live: LiveServer, make_user: Any) -> None:
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(name="Ada"), await make_user()
    room = await open_room(live, moderator, ada, bob)
    slug = room["slug"]
    async with await live.connect(ada, slug) as ada_ws, await live.connect(bob, slug) as bob_ws, \
            await live.connect(moderator, slug) as mod_ws:
        await until(lambda: all(u.id in live.hub.by_user for u in (ada, bob, moderator)))

        def by_moderator(frames: list[dict[str, Any]]) -> bool:
            return moderator.id in typists(frames)

        async def moderator_types_after_ada() -> list[dict[str, Any]]:
            """The marker for what Ada's typing sent: once her ping is answered the server has
            handled her earlier frames, so whatever they relayed goes out before the
            moderator's typing. Returns Ada's frames up to the pong."""
            await ada_ws.send('{"type": "ping"}')
            frames = await frames_until(ada_ws, has_kind("pong"))
            await mod_ws.send(TYPING)
            return frames

        await ada_ws.send(TYPING)
        await ada_ws.send(TYPING)  # within 2 s: not repeated
        frames = await frames_until(bob_ws, has_kind("typing"))
        typing = of_kind(frames, "typing")[0]["data"]
        assert (typing["user"]["id"], typing["user"]["name"], typing["idea_id"]) == (ada.id, "Ada", None)
        assert typing["expires_in"] > 0
        ada_frames = await moderator_types_after_ada()
        assert typists(frames + await frames_until(bob_ws, by_moderator)) == [ada.id, moderator.id]
        # Not echoed to the typer.
        assert typists(ada_frames + await frames_until(ada_ws, by_moderator)) == [moderator.id]

        await api_call(live, moderator, "PATCH", f"/api/v1/rooms/{slug}/members/{ada.id}", {"mute_minutes": 5})
        await frames_until(ada_ws, has_kind("standing"))
        await bob_ws.send('{"type": "ping"}')  # stay clear of the idle timeout
        await asyncio.sleep(2.1)  # past the 2 s in which nobody's typing is repeated
        await ada_ws.send(TYPING)
        await moderator_types_after_ada()
        assert typists(await frames_until(bob_ws, by_moderator)) == [moderator.id]


async def test_a_silent_socket_is_closed_and_a_pinging_one_stays(live: LiveServer, make_user: Any) -> None:
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob)
    async with await live.connect(ada, room["slug"]) as silent, await live.connect(bob, room["slug"]) as pinging:
        async def keep_pinging() -> None:
            while True:
                await pinging.send('{"type": "ping"}')
                await asyncio.sleep(0.5)

        pinger = asyncio.create_task(keep_pinging())
        try:
            with pytest.raises(ConnectionClosed) as closed:
                await frames_until(silent, lambda fs: False, timeout=15)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
            assert bob.id in live.hub.by_user
            await frames_until(pinging, has_kind("pong"))
        finally:
            pinger.cancel()


async def test_shutdown_closes_sockets_with_1012(live: LiveServer, make_user: Any) -> None:
    moderator, ada = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, ada)
    async with await live.connect(ada, room["slug"]) as ws:
        await until(lambda: ada.id in live.hub.by_user)
        live.server.should_exit = True
        with pytest.raises(ConnectionClosed) as closed:
            await frames_until(ws, lambda fs: False)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
