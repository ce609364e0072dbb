"""Live frames in each socket's language: a room renders each frame once per language in use
among its sockets, not once per socket, and each socket gets its own language."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from innovate.live import feed
from tests.live_support import (  # noqa: F401 - fixtures
    LiveServer,
    frames_before,
    live,
    live_overrides,
    live_socket,
    open_room,
    post,
    post_marker,
    settings_overrides,
    stored,
)


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times each kind's live fragment was rendered (the server runs in this process)."""
    counted: Counter[str] = Counter()
    real = feed.render_event_html

    def counting(templates: Any, frame: dict[str, Any], viewer: Any) -> str:
        counted[frame["kind"]] += 1
        return real(templates, frame, viewer)

    monkeypatch.setattr(feed, "render_event_html", counting)
    return counted


async def test_a_german_and_an_english_socket_each_get_their_language_rendered_once_each(
        live: LiveServer, make_user: Any, renders: Counter[str]) -> None:
    moderator = await make_user(name="Mo Derator", is_moderator=True)
    people = [await make_user(name=name) for name in ("Greta", "Gerd", "Eric", "Emma")]
    room = await open_room(live, moderator, *people)
    slug, start = room["slug"], room["last_seq"]
    languages = {"de-DE,de;q=0.9": people[:2], "en-US,en;q=0.9": people[2:]}
    sockets = {}
    for accept, members in languages.items():
        for member in members:
            sockets[member.id] = await live.connect(member, slug, after=start, fmt="html",
                                                    headers={"Accept-Language": accept})
    try:
        renders.clear()
        await post(live, moderator, slug, "Guten Morgen, good morning")
        marker = await post_marker(live, moderator, slug)
        received = {}
        for member_id, ws in sockets.items():
            [frame] = [f for f in stored(await frames_before(ws, marker)) if f["kind"] == "message.posted"]
            received[member_id] = frame["content"]
        # Four sockets, two languages: two renders per message, the marker's included.
        assert renders["message.posted"] == 2 * 2
        for german in people[:2]:
            content = received[german.id]
            assert "Neue Nachricht von Mo Derator in der Diskussion." in content
            assert "Guten Morgen, good morning" in content
        for english in people[2:]:
            content = received[english.id]
            assert "New message from Mo Derator in the discussion." in content
            assert "Neue Nachricht" not in content
        # Same-language sockets share the very same bytes.
        assert received[people[0].id] == received[people[1].id]
        assert received[people[2].id] == received[people[3].id]
    finally:
        for ws in sockets.values():
            await ws.close()


async def test_one_language_in_a_room_renders_each_frame_once(
        live: LiveServer, make_user: Any, renders: Counter[str]) -> None:
    moderator = await make_user(is_moderator=True)
    members = [await make_user() for _ in range(3)]
    room = await open_room(live, moderator, *members)
    sockets = [await live.connect(member, room["slug"], after=room["last_seq"], fmt="html",
                                  headers={"Accept-Language": "fr-FR"}) for member in members]
    try:
        renders.clear()
        await post(live, moderator, room["slug"], "Bonjour")
        marker = await post_marker(live, moderator, room["slug"])
        for ws in sockets:
            [frame] = stored(await frames_before(ws, marker))
            assert "Nouveau message de" in frame["content"]
        # Three sockets, one language: one render per message (this one and the marker).
        assert renders["message.posted"] == 2
    finally:
        for ws in sockets:
            await ws.close()
