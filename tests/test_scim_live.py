"""Deactivation through SCIM cuts a person off at once: their open live socket closes (1008)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from innovate.scim.tokens import create_scim_token
from tests.live_support import (  # noqa: F401 - fixtures
    LiveServer,
    live,
    live_overrides,
    live_socket,
    open_room,
    settings_overrides,
    until,
)


async def test_a_scim_deactivation_closes_the_open_socket(live: LiveServer, make_user: Any) -> None:
    admin = await make_user(is_admin=True)
    moderator, emma = await make_user(is_moderator=True), await make_user("emma@corp.example")
    room = await open_room(live, moderator, emma)
    _row, token = await create_scim_token(live.resources, admin, "Okta")
    async with await live.connect(emma, room["slug"]) as ws:
        await until(lambda: emma.id in live.hub.by_user)
        async with httpx.AsyncClient(base_url=live.url, timeout=30,
                                     headers={"Authorization": f"Bearer {token}"}) as directory:
            response = await directory.patch(f"/scim/v2/Users/{emma.id}", json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": False}}]})
            assert response.status_code == 200, response.text
        async with asyncio.timeout(30):
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
