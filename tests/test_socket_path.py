"""A live socket's way in (innovate.app.InnovateApp): its request id, sign-in and language are
set before the router runs, and no middleware frame stays on its stack for the socket's life."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from innovate.i18n import current_locale
from innovate.observability import request_id_var
from innovate.realtime.connection import Connection
from tests.live_support import frames_until, has_kind, live, live_socket, open_room, until

__all__ = ["live", "live_socket"]

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def stack_of(task: asyncio.Task[Any]) -> list[str]:
    """Innovate's and Starlette's coroutines a task is suspended in, outermost first (not
    uvicorn's: its proxy-headers middleware is the server's, on when behind a proxy)."""
    names = []
    awaited: Any = task.get_coro()
    while awaited is not None and hasattr(awaited, "cr_code"):
        code = awaited.cr_code
        if "/innovate/" in code.co_filename or "/starlette/" in code.co_filename:
            names.append(code.co_qualname)
        awaited = awaited.cr_await
    return names


async def test_a_socket_keeps_its_request_id_and_language_with_no_middleware_frame_held(
        live: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    moderator, ada = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, ada)
    seen: list[tuple[str | None, str]] = []
    client_frame = live.hub.client_frame

    def recorded(conn: Connection, data: str | bytes) -> None:
        # Runs in the socket's own task, which read the frame.
        seen.append((request_id_var.get(), current_locale()))
        client_frame(conn, data)

    monkeypatch.setattr(live.hub, "client_frame", recorded)
    headers = {"X-Request-ID": "socket-request-0001", "Accept-Language": "de-DE,de;q=0.9"}
    async with await live.connect(ada, room["slug"], after=room["last_seq"], headers=headers) as ws:
        await until(lambda: ada.id in live.hub.by_user)
        conn = next(iter(live.hub.by_user[ada.id]))
        await ws.send('{"type": "ping"}')
        await frames_until(ws, has_kind("pong"))
        assert seen == [("socket-request-0001", "de")]
        assert conn.task is not None
        stack = stack_of(conn.task)
        assert "LiveEndpoint.__call__" in stack, stack
        held = [name for name in stack if "Middleware" in name]
        assert held == [], f"middleware frames held for the socket's life: {held}"


async def test_a_socket_with_a_token_that_matches_nobody_is_refused_as_not_signed_in(live: Any, make_user: Any) -> None:
    moderator, ada = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, ada)
    with pytest.raises(InvalidStatus) as refused:
        await live.connect(None, room["slug"], headers={"Authorization": "Bearer not-a-token"})
    response = refused.value.response
    assert (response.status_code, bytes(response.body)) == (403, b"Sign in first.")
