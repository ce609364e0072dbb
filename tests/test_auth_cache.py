"""The token cache: a token is looked up once per process and answered from memory after that,
yet revocation, sign-out and deactivation end it at once, in this process and in another one
(two ``innovate serve`` processes on the redis broker, with entries that would otherwise last
ten minutes)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from innovate.accounts.cache import TokenCache, token_cache
from innovate.accounts.hashing import token_hash
from innovate.accounts.sessions import load_token_user
from innovate.accounts.tokens import create_token, revoke_token
from innovate.people.service import set_active
from innovate.resources import Resources
from tests.clients import form_csrf
from tests.servers import ServerProcess, serve
from tests.sql_log import recorded_statements
from tests.test_live_brokers import Pair, on_postgres, redis_url, stop_later  # noqa: F401

WAIT = 30.0


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"auth_cache_seconds": 600.0}


@pytest.fixture
def statements(resources: Resources) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs while the test looks."""
    with recorded_statements(resources) as seen:
        yield seen


async def test_a_token_is_looked_up_once_then_answered_from_memory(resources: Resources, make_user: Any,
                                                                   statements: list[str]) -> None:
    user = await make_user()
    _, token = await create_token(resources, user)
    assert (await load_token_user(resources, token)).id == user.id  # type: ignore[union-attr]
    looked_up = len(statements)
    for _ in range(5):
        assert (await load_token_user(resources, token)).id == user.id  # type: ignore[union-attr]
    assert len(statements) == looked_up


async def test_revocation_deactivation_and_sign_out_end_a_cached_token_at_once(
        resources: Resources, make_user: Any, sign_in: Any) -> None:
    admin, ada, bob = await make_user(is_admin=True), await make_user(), await make_user()
    row, token = await create_token(resources, ada)
    _, other = await create_token(resources, ada)
    assert await load_token_user(resources, token) is not None
    assert await load_token_user(resources, other) is not None
    await revoke_token(resources, ada, row.id)
    assert await load_token_user(resources, token) is None
    assert await load_token_user(resources, other) is not None

    await set_active(resources, admin, ada.id, active=False)
    assert await load_token_user(resources, other) is None

    # Signing out publishes the same notice: the user's cached tokens are looked up again.
    _, bobs = await create_token(resources, bob)
    assert await load_token_user(resources, bobs) is not None
    assert len(token_cache(resources)) >= 1
    client = await sign_in(bob)
    home = await client.get("/")
    assert (await client.post("/logout", data={"csrf_token": form_csrf(home.text)})).status_code == 303
    assert token_cache(resources).get(token_hash(bobs)) is None


def test_a_lookup_overtaken_by_a_forget_does_not_store_what_it_read() -> None:
    cache = TokenCache(600)
    stale_row, stale_user = object(), type("U", (), {"id": 7})()
    generation = cache.generation  # the lookup starts...
    cache.forget_user(7)  # ...the token is revoked meanwhile...
    cache.put("hash", stale_row, stale_user, generation)  # type: ignore[arg-type]  # ...and its answer arrives
    assert cache.get("hash") is None
    cache.put("hash", stale_row, stale_user, cache.generation)  # type: ignore[arg-type]
    assert cache.get("hash") is not None


def test_entries_expire_and_a_broker_reconnect_forgets_everything() -> None:
    now = [100.0]
    cache = TokenCache(5, clock=lambda: now[0])
    user = type("U", (), {"id": 3})()
    cache.put("a", object(), user, cache.generation)  # type: ignore[arg-type]
    cache.put("b", object(), user, cache.generation)  # type: ignore[arg-type]
    now[0] += 4.9
    assert cache.get("a") is not None
    now[0] += 0.2
    assert cache.get("a") is None and cache.get("b") is None
    cache.put("c", object(), user, cache.generation)  # type: ignore[arg-type]
    cache.notice({"kind": "resync"})
    assert cache.get("c") is None and len(cache) == 0


async def _me(http: httpx.AsyncClient, server: ServerProcess, token: str) -> int:
    response = await http.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def _until_refused(http: httpx.AsyncClient, server: ServerProcess, token: str) -> None:
    """The other process refuses the token once the broker's notice is in, long before its
    ten-minute entry would expire."""
    deadline = time.monotonic() + WAIT
    while await _me(http, server, token) != 401:
        assert time.monotonic() < deadline, "the other process still accepts the token"
        await asyncio.sleep(0.02)


@on_postgres
async def test_two_processes_forget_a_revoked_or_deactivated_token_through_the_broker(
        tmp_path: Path, database_url: str, resources: Resources, make_user: Any, redis_url: str,  # noqa: F811
        stop_later: list[ServerProcess]) -> None:  # noqa: F811
    env = {"INNOVATE_DATABASE_URL": database_url, "INNOVATE_BROKER": redis_url,
           "INNOVATE_DATA_DIR": str(tmp_path / "data"), "INNOVATE_SECRET_KEY": "auth-cache-tests-" + "k" * 32,
           "INNOVATE_AUTH_CACHE_SECONDS": "600"}
    a, b = await asyncio.gather(asyncio.to_thread(serve, tmp_path, env, name="a"),
                                asyncio.to_thread(serve, tmp_path, env, name="b"))
    stop_later += [a, b]
    pair = Pair(a=a, b=b, resources=resources, tokens={})
    admin, ada = await make_user(is_admin=True), await make_user()
    _, admin_token = await create_token(resources, admin)
    _, first = await create_token(resources, ada)
    _, second = await create_token(resources, ada)
    async with httpx.AsyncClient(timeout=30) as http:
        for server in (pair.a, pair.b):  # both processes now hold both tokens
            assert await _me(http, server, first) == 200
            assert await _me(http, server, second) == 200
        tokens = (await http.get(f"{pair.a.url}/api/v1/tokens", headers={"Authorization": f"Bearer {second}"})).json()
        first_id = next(t["id"] for t in tokens["items"] if t["prefix"] == first[:8])
        revoked = await http.delete(f"{pair.a.url}/api/v1/tokens/{first_id}",
                                    headers={"Authorization": f"Bearer {second}"})
        assert revoked.status_code in (200, 204), revoked.text
        assert await _me(http, pair.a, first) == 401  # the process that revoked it: at once
        await _until_refused(http, pair.b, first)
        assert await _me(http, pair.b, second) == 200

        deactivated = await http.post(f"{pair.b.url}/api/v1/users/{ada.id}/deactivate", json={},
                                      headers={"Authorization": f"Bearer {admin_token}"})
        assert deactivated.status_code == 200, deactivated.text
        assert await _me(http, pair.b, second) == 401
        await _until_refused(http, pair.a, second)
