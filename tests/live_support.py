"""Live-socket test kit: a real uvicorn server in the test's event loop, serving a socket
bound to port 0 (websockets-sansio, the same WebSocket settings as ``innovate serve``),
real ``websockets`` clients, and rooms set up through the JSON API.

Test modules import the fixtures they use (``from tests.live_support import live_socket, ...``).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from innovate.accounts.models import User
from innovate.accounts.tokens import create_token
from innovate.app import create_app
from innovate.realtime import fastpath
from innovate.resources import Resources
from innovate.settings import Settings
from tests.clients import sign_in_with

WAIT = 10.0


@dataclass
class LiveServer:
    settings: Settings
    resources: Resources
    server: uvicorn.Server
    listener: socket.socket
    tokens: dict[int, str] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        return self.settings.public_origin

    @property
    def hub(self) -> Any:
        return self.resources.hub

    def live_url(self, slug: str, **params: Any) -> str:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"ws://127.0.0.1:{self.port}/rooms/{slug}/live" + (f"?{query}" if query else "")

    def user_stream_url(self, **params: Any) -> str:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"ws://127.0.0.1:{self.port}/me/live" + (f"?{query}" if query else "")

    async def connect_user_stream(self, user: User | None, *, fmt: str | None = "json",
                                  headers: dict[str, str] | None = None) -> ClientConnection:
        """The user's own socket (pages with no room)."""
        all_headers = dict(headers or {})
        if user is not None:
            all_headers.setdefault("Authorization", f"Bearer {await self.token(user)}")
        return await connect(self.user_stream_url(format=fmt), additional_headers=all_headers, compression=None,
                             max_size=None, open_timeout=WAIT)

    async def token(self, user: User) -> str:
        if user.id not in self.tokens:
            _, self.tokens[user.id] = await create_token(self.resources, user, "live tests")
        return self.tokens[user.id]

    def api(self, token: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    async def connect(self, user: User | None, slug: str, *, after: int | None = None, fmt: str | None = "json",
                      headers: dict[str, str] | None = None, **kwargs: Any) -> ClientConnection:
        all_headers = dict(headers or {})
        if user is not None:
            all_headers.setdefault("Authorization", f"Bearer {await self.token(user)}")
        return await connect(self.live_url(slug, after=after, format=fmt), additional_headers=all_headers,
                             compression=None, max_size=None, open_timeout=WAIT, **kwargs)

    async def session_cookie(self, user: User, password: str) -> str:
        """Sign in through the login form like a browser; the session cookie's value."""
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            response = await sign_in_with(http, user.email or "", password)
            assert response.status_code == 303, response.text[:300]
            cookie = http.cookies.get(self.settings.session_cookie_name)
        assert cookie
        return cookie


def bind_free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


@pytest.fixture
def live_socket() -> Any:
    sock = bind_free_socket()
    yield sock
    sock.close()


@pytest.fixture
def live_overrides() -> dict[str, Any]:
    """Redefine in a test module to change the live server's settings."""
    return {}


@pytest.fixture
def settings_overrides(live_socket: socket.socket, live_overrides: dict[str, Any]) -> dict[str, Any]:
    """The server's public origin is where the test server listens."""
    return {"public_url": f"http://127.0.0.1:{live_socket.getsockname()[1]}", **live_overrides}


@pytest.fixture
async def live(settings: Settings, resources: Resources, live_socket: socket.socket) -> AsyncIterator[LiveServer]:
    app = create_app(settings, resources=resources)
    config = uvicorn.Config(
        app, ws=fastpath.SERVER_PROTOCOL, ws_max_size=settings.ws_max_frame_bytes, ws_per_message_deflate=False,
        ws_ping_interval=20.0, ws_ping_timeout=20.0, lifespan="on", log_level="warning",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[live_socket]))
    async with asyncio.timeout(WAIT):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
    try:
        yield LiveServer(settings=settings, resources=resources, server=server, listener=live_socket)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


# Rooms through the JSON API ---------------------------------------------------------------


async def api_call(live: LiveServer, user: User, method: str, path: str, json: Any = None,
                   expect: int | tuple[int, ...] = (200, 201)) -> Any:
    async with live.api(await live.token(user)) as http:
        response = await http.request(method, path, json=json)
    expected = (expect,) if isinstance(expect, int) else expect
    assert response.status_code in expected, f"{method} {path}: {response.status_code} {response.text[:500]}"
    return response.json() if response.content else None


_rooms = iter(range(1, 1_000_000))


async def open_room(live: LiveServer, moderator: User, *members: User, **fields: Any) -> dict[str, Any]:
    data = {"slug": f"live-{next(_rooms)}", "title": "Live room", "phase": "open", **fields}
    room = await api_call(live, moderator, "POST", "/api/v1/rooms", data)
    for member in members:
        await api_call(live, member, "POST", f"/api/v1/rooms/{room['slug']}/join")
    return await api_call(live, moderator, "GET", f"/api/v1/rooms/{room['slug']}")


async def post(live: LiveServer, user: User, slug: str, body: str, **fields: Any) -> dict[str, Any]:
    return await api_call(live, user, "POST", f"/api/v1/rooms/{slug}/messages", {"body": body, **fields})


# Reading frames ---------------------------------------------------------------------------


def decode(raw: str | bytes) -> dict[str, Any]:
    return orjson.loads(raw)


async def frames_until(ws: ClientConnection, done: Callable[[list[dict[str, Any]]], bool],
                       timeout: float = WAIT) -> list[dict[str, Any]]:
    """Read frames until ``done(frames)`` holds; fail after ``timeout`` seconds."""
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while not done(frames):
            frames.append(decode(await ws.recv()))
    return frames


async def post_marker(live: LiveServer, user: User, slug: str) -> int:
    """Post a message every member of the room sees, and return its seq: read up to it with
    :func:`frames_before` to show that something did not arrive. A room's stored events reach
    each socket in seq order, after whatever was sent to it earlier, so a frame that is not
    there by the marker never comes."""
    await post(live, user, slug, "marker")
    room = await api_call(live, user, "GET", f"/api/v1/rooms/{slug}")
    return int(room["last_seq"])


async def frames_before(ws: ClientConnection, seq: int, timeout: float = WAIT) -> list[dict[str, Any]]:
    """The frames a socket receives before the stored event ``seq``, which is read too."""
    frames = await frames_until(ws, lambda fs: bool(fs) and (fs[-1].get("seq") or 0) >= seq, timeout)
    assert frames[-1]["seq"] == seq, f"the marker {seq} did not come first: {frames[-1]}"
    return frames[:-1]


def stored(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f.get("seq") is not None]


def of_kind(frames: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [f for f in frames if f.get("kind") == kind]


def has_kind(kind: str, count: int = 1) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda frames: len(of_kind(frames, kind)) >= count


async def until(condition: Callable[[], bool | Awaitable[bool]], timeout: float = WAIT) -> None:
    async with asyncio.timeout(timeout):
        while True:
            value = condition()
            if not isinstance(value, bool):
                value = await value
            if value:
                return
            await asyncio.sleep(0.02)
