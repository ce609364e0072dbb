"""The live stream at its edges (both databases): what a reconnecting client is told besides
the replay, the reveal of a secret ballot, and refusals that are not errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from innovate.db import utcnow
from innovate.live.feed import RoomFeed
from tests.live_support import (  # noqa: F401 - fixtures
    LiveServer,
    api_call,
    frames_before,
    frames_until,
    live,
    live_socket,
    of_kind,
    open_room,
    post_marker,
    settings_overrides,
)


@pytest.fixture
def live_overrides() -> dict[str, Any]:
    # The scheduler looks often, so a scheduled close follows the (advanced) clock at once.
    return {"scheduler_interval_seconds": 0.1}


async def submit_idea(live: LiveServer, author: Any, slug: str, title: str) -> dict[str, Any]:
    return await api_call(live, author, "POST", f"/api/v1/rooms/{slug}/ideas", {"title": title, "body": "Why not."})


async def vote(live: LiveServer, voter: Any, idea_id: int, value: int = 1) -> dict[str, Any]:
    return await api_call(live, voter, "PUT", f"/api/v1/ideas/{idea_id}/vote", {"value": value})


def tallies_in(frames: list[dict[str, Any]]) -> dict[int, int]:
    """The last score each idea was given in these frames."""
    scores: dict[int, int] = {}
    for frame in of_kind(frames, "tally.changed"):
        for tally in frame["data"]["tallies"]:
            scores[tally["idea_id"]] = tally["score"]
    return scores


# After a reconnect ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["updown", "budget"])
async def test_a_reconnect_brings_what_the_event_log_does_not_hold(live: LiveServer, make_user: Any,
                                                                  mode: str) -> None:
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    rules = {"voting_mode": mode, "budget": 5, "max_per_idea": 3} if mode == "budget" else {}
    room = await open_room(live, moderator, ada, bob, votes_in_open=True, **rules)
    slug = room["slug"]
    first = await submit_idea(live, moderator, slug, "Night deliveries")
    second = await submit_idea(live, moderator, slug, "Shared lockers")
    async with await live.connect(ada, slug) as ws:
        await frames_until(ws, lambda fs: bool(of_kind(fs, "presence")))
        seq = (await api_call(live, ada, "GET", f"/api/v1/rooms/{slug}"))["last_seq"]
    # While Ada is away: Bob votes (a tally is state: no event holds it), Ada votes from
    # another device, and a moderator mutes her.
    await vote(live, bob, first["id"], 1)
    await vote(live, ada, second["id"], 2 if mode == "budget" else 1)
    await api_call(live, moderator, "PATCH", f"/api/v1/rooms/{slug}/members/{ada.id}", {"mute_minutes": 30})

    async with await live.connect(ada, slug, after=seq) as ws:
        frames = await frames_until(ws, lambda fs: bool(of_kind(fs, "vote.mine")) and bool(of_kind(fs, "presence"))
                                    and bool(of_kind(fs, "standing")) and bool(of_kind(fs, "tally.changed")))
        marker = await post_marker(live, moderator, slug)
        frames += await frames_until(ws, lambda fs: any(f.get("seq") == marker for f in fs))
    replayed = [f for f in frames if f.get("seq") is not None and f["seq"] < marker]
    assert [f["kind"] for f in replayed] == ["member.muted"]
    # After the replay: every tally, her own vote and dots left, her mute, who is here.
    after_replay = frames[frames.index(replayed[-1]) + 1:]
    assert tallies_in(after_replay) == {first["id"]: 1, second["id"]: 2 if mode == "budget" else 1}
    [mine] = of_kind(after_replay, "vote.mine")
    assert mine["data"]["idea_id"] == second["id"] and mine["data"]["my_vote"] == (2 if mode == "budget" else 1)
    assert mine["data"]["my_budget_left"] == (3 if mode == "budget" else None)
    [standing] = of_kind(after_replay, "standing")
    assert standing["data"]["can_post"] is False and standing["data"]["muted_until"]
    assert ada.id in [u["id"] for u in of_kind(after_replay, "presence")[-1]["data"]["users"]]


async def test_the_tallies_a_socket_starts_with_never_overtake_newer_ones(
        live: LiveServer, make_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tallies a socket is sent as it goes live are read while others vote: read before a
    vote, they must not reach it after the tally the vote brought."""
    moderator, ada = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, ada, votes_in_open=True)
    slug = room["slug"]
    idea = await submit_idea(live, moderator, slug, "Night deliveries")
    read, newer_sent = asyncio.Event(), asyncio.Event()
    room_state = RoomFeed.room_state

    async def read_before_the_vote(feed: RoomFeed, *args: Any, **kwargs: Any) -> Any:
        frames = await room_state(feed, *args, **kwargs)
        read.set()
        # A slow read: the vote's tally goes out before this one's result is handed over.
        # (Read by the room's pump itself, nothing of the pump's can overtake it, and holding
        # the pump would only hold up the vote's tally.)
        if asyncio.current_task() is not live.hub.channels[room["id"]].task:
            await newer_sent.wait()
        return frames

    monkeypatch.setattr(RoomFeed, "room_state", read_before_the_vote)
    async with await live.connect(moderator, slug) as ws:
        await read.wait()
        await vote(live, ada, idea["id"], 1)
        frames = await frames_until(ws, lambda fs: tallies_in(fs).get(idea["id"]) == 1)
        newer_sent.set()
        frames += await frames_before(ws, await post_marker(live, moderator, slug))
    assert tallies_in(frames) == {idea["id"]: 1}


async def test_a_reconnecting_page_gets_the_tallies_as_html(live: LiveServer, make_user: Any) -> None:
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob, votes_in_open=True)
    slug = room["slug"]
    idea = await submit_idea(live, moderator, slug, "Night deliveries")
    seq = (await api_call(live, ada, "GET", f"/api/v1/rooms/{slug}"))["last_seq"]
    await vote(live, bob, idea["id"], 1)
    async with await live.connect(ada, slug, after=seq, fmt="html") as ws:
        frames = await frames_until(ws, lambda fs: bool(of_kind(fs, "tally.changed")))
    [tally] = of_kind(frames, "tally.changed")
    assert f'hx-target="#tally-{idea["id"]}"' in tally["content"] and '<strong class="t-score">1</strong>' in tally["content"]


# A secret ballot -------------------------------------------------------------------------------


async def test_the_scheduled_close_of_a_secret_ballot_reveals_the_tallies_at_once(
        live: LiveServer, make_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob, hide_tallies_until_closed=True)
    slug = room["slug"]
    idea = await submit_idea(live, moderator, slug, "Night deliveries")
    await api_call(live, moderator, "PATCH", f"/api/v1/rooms/{slug}",
                   {"phase": "voting", "closes_at": (utcnow() + timedelta(hours=1)).isoformat()})
    async with await live.connect(ada, slug) as ada_ws, await live.connect(moderator, slug) as mod_ws, \
            await live.connect(bob, slug, fmt="html") as bob_ws:
        for ws in (ada_ws, mod_ws, bob_ws):
            await frames_until(ws, lambda fs: bool(of_kind(fs, "presence")))
        await vote(live, bob, idea["id"], 1)
        # The moderator sees the count as it moves; members do not, until voting closes.
        await frames_until(mod_ws, lambda fs: tallies_in(fs).get(idea["id"]) == 1)
        marker = await post_marker(live, moderator, slug)
        before = await frames_until(ada_ws, lambda fs: any(f.get("seq") == marker for f in fs))
        assert of_kind(before, "tally.changed") == []

        # The clock reaches the scheduled close: the scheduler closes voting, and every open
        # socket is given the results with it, with no reload and nobody voting again.
        later = utcnow() + timedelta(hours=2)
        monkeypatch.setattr("innovate.rooms.service.utcnow", lambda: later)
        revealed = await frames_until(ada_ws, lambda fs: tallies_in(fs).get(idea["id"]) == 1)
        assert "room.phase_changed" in [f["kind"] for f in revealed]
        html = await frames_until(bob_ws, lambda fs: any(f["kind"] == "tally.changed" for f in fs))
        assert '<strong class="t-score">1</strong>' in of_kind(html, "tally.changed")[-1]["content"]
    assert (await api_call(live, ada, "GET", f"/api/v1/rooms/{slug}"))["phase"] == "closed"


@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Records of uvicorn's own logger too (its configuration keeps them from the root)."""
    server = logging.getLogger("uvicorn.error")
    server.addHandler(caplog.handler)
    caplog.set_level(logging.INFO)
    try:
        yield caplog
    finally:
        server.removeHandler(caplog.handler)


async def test_a_refused_handshake_is_answered_and_logged_at_info_with_its_reason(
        live: LiveServer, make_user: Any, server_log: pytest.LogCaptureFixture) -> None:
    moderator, outsider = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator)
    cookie = f"{live.settings.session_cookie_name}=forged"
    attempts: list[tuple[dict[str, str], dict[str, Any], int, str]] = [
                ({"Authorization": f"Bearer {await live.token(outsider)}"}, {}, 403, "You may not watch this room."),
                ({"Cookie": cookie, "Origin": "http://evil.example"}, {}, 403, "Cross-site WebSocket refused."),
                ({"Authorization": f"Bearer {await live.token(moderator)}"}, {"after": "x"}, 400, "after: expected")]
    for headers, params, status, reason in attempts:
        server_log.clear()
        with pytest.raises(InvalidStatus) as info:
            await live.connect(None, room["slug"], headers=headers, **params)
        assert info.value.response.status_code == status
        assert reason in info.value.response.body.decode()
        # The record is written as the server closes the connection: wait for the logger.
        refusals = [r for r in server_log.records if r.name == "innovate.live" and "refused" in r.getMessage()]
        assert [r.levelno for r in refusals] == [logging.INFO], server_log.text
        assert reason in refusals[0].getMessage() and f"({status})" in refusals[0].getMessage()
    # The same on the user's own stream.
    server_log.clear()
    with pytest.raises(InvalidStatus):
        await live.connect_user_stream(None, headers={"Cookie": cookie, "Origin": live.origin})
    # A later socket that opens and closes shows the server has finished with the refused ones.
    async with await live.connect(moderator, room["slug"]):
        pass
    async with await live.connect(moderator, room["slug"]):
        pass
    errors = [r for r in server_log.records if r.levelno >= logging.WARNING]
    assert errors == [], [r.getMessage() for r in errors]


async def test_a_moderator_who_stops_hiding_the_tallies_shows_them_at_once(live: LiveServer, make_user: Any) -> None:
    moderator, ada, bob = await make_user(is_moderator=True), await make_user(), await make_user()
    room = await open_room(live, moderator, ada, bob, hide_tallies_until_closed=True, votes_in_open=True)
    slug = room["slug"]
    idea = await submit_idea(live, moderator, slug, "Night deliveries")
    await vote(live, bob, idea["id"], 1)
    async with await live.connect(ada, slug) as ws:
        await frames_until(ws, lambda fs: bool(of_kind(fs, "presence")))
        await api_call(live, moderator, "PATCH", f"/api/v1/rooms/{slug}", {"hide_tallies_until_closed": False})
        frames = await frames_until(ws, lambda fs: tallies_in(fs).get(idea["id"]) == 1)
    assert "room.updated" in [f["kind"] for f in frames]
