"""The live stream at its edges (both databases): what a reconnecting client is told besides
the replay, the reveal of a secret ballot, and refusals that are not errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from tests.live_support import (  # noqa: F401 - fixtures
    LiveServer,
    live,
    live_overrides,
    live_socket,
    open_room,
    settings_overrides,
)


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
