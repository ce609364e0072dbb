"""The live fan-out writes prepared frames straight to uvicorn's transport (realtime/fastpath.py).

Those are uvicorn's and websockets' internals: an upgrade that renames one must turn these
tests red, not the fan-out silently slow (falling back to ASGI ``send``) or broken.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import pytest

from innovate.realtime import fastpath
from innovate.realtime.connection import Connection
from tests.live_support import frames_until, has_kind, live, live_socket, open_room, post, until

__all__ = ["live", "live_socket"]

ONE_BACKEND = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_innovate_serve_names_the_lean_protocol_uvicorn_can_import() -> None:
    from uvicorn.importer import import_from_string

    assert import_from_string(fastpath.SERVER_PROTOCOL) is fastpath.LeanProtocol


@ONE_BACKEND
async def test_a_live_socket_under_innovate_serves_settings_takes_the_fast_path(
        live: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    moderator, ada = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, ada)
    writes: list[int] = []
    write, write_run = fastpath.write, fastpath.write_run

    def counted(protocol: Any, wire: bytes, data: bytes) -> None:
        writes.append(1)
        write(protocol, wire, data)

    def counted_run(protocol: Any, wire: bytes) -> bool:
        writes.append(2)
        return write_run(protocol, wire)

    monkeypatch.setattr(fastpath, "write", counted)
    monkeypatch.setattr(fastpath, "write_run", counted_run)
    async with await live.connect(ada, room["slug"], after=room["last_seq"]) as ws:
        await until(lambda: ada.id in live.hub.by_user)
        conn = next(iter(live.hub.by_user[ada.id]))
        protocol = conn.protocol
        assert protocol is not None, "the fast path is off: connections fall back to ASGI send"
        missing = [name for name in fastpath.PROTOCOL_ATTRIBUTES if not hasattr(protocol, name)]
        missing += [f"conn.{name}" for name in fastpath.CONNECTION_ATTRIBUTES if not hasattr(protocol.conn, name)]
        assert missing == [], f"uvicorn/websockets internals the fast path needs are gone: {missing}"
        assert fastpath.prepared_frames_fit(protocol)
        # What the handshake read is let go of: websockets' parser keeps the request, emptied;
        # uvicorn's own references to the request and the response are dropped.
        request = protocol.conn.parser.gi_frame.f_locals["request"]
        assert list(request.headers.raw_items()) == [] and protocol.scope["headers"] == []
        assert protocol.request is None and protocol.response is None
        # Every attribute uvicorn set went to a slot: an upgrade that adds one brings back
        # the instance dict (about 1.5 KiB a socket) until LeanProtocol names it.
        assert isinstance(protocol, fastpath.LeanProtocol)
        assert vars(protocol) == {}, f"LeanProtocol has no slot for {sorted(vars(protocol))}"
        # Idle, the receive queue and the writable gate hold nothing.
        queue, writable = protocol.queue, protocol.writable
        assert isinstance(queue, fastpath.LazyQueue) and isinstance(writable, fastpath.LazyEvent)
        assert queue.empty() and queue._items is None
        assert writable.is_set() and writable._waiters is None
        await post(live, moderator, room["slug"], "through the fast path")
        frames = await frames_until(ws, has_kind("message.posted"))
    assert frames[-1]["data"]["message"]["body"] == "through the fast path"
    assert writes, "the frame left through ASGI send, not the fast path"


async def test_another_asgi_server_falls_back_to_asgi_send() -> None:
    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def receive() -> MutableMapping[str, Any]:
        await asyncio.sleep(3600)
        return {}

    conn = Connection(send=send, receive=receive, room_id=1, slug="r", user_id=1, user_name="A", user_kind="employee",
                      privileged=False, muted_until=None, format="json", session_id=None, token_hash="x",
                      queue_size=8, messages_per_second=5.0)
    assert conn.protocol is None
    conn.go_live(0)
    from innovate.realtime.connection import Outgoing

    conn.push(1, Outgoing('{"kind": "x"}'))
    assert sent == [{"type": "websocket.send", "text": '{"kind": "x"}'}]


async def test_the_lazy_queue_hands_items_over_in_order_and_survives_a_cancelled_getter() -> None:
    queue = fastpath.LazyQueue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)  # both are waiting
    queue.put_nowait("a")
    first.cancel()  # woken for "a", then cancelled before it ran: "a" goes to the other getter
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second == "a"
    queue.put_nowait("b")
    queue.put_nowait("c")
    assert queue.qsize() == 2 and not queue.empty()
    assert [await queue.get(), await queue.get()] == ["b", "c"]
    assert queue.empty() and queue._items is None and queue._getters is None


async def test_the_lazy_event_wakes_every_waiter_and_wait_returns_at_once_when_set() -> None:
    event = fastpath.LazyEvent()
    waiters = [asyncio.create_task(event.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    event.set()
    assert await asyncio.gather(*waiters) == [True, True, True]
    assert event._waiters is None
    event.clear()
    assert not event.is_set()
    cancelled = asyncio.create_task(event.wait())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert event._waiters == []
    event.set()
    assert await event.wait() is True
