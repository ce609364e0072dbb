"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

- ``settings``: Settings for one test, on the backend of the ``backend`` parameter;
- ``resources``: the app's resources on that database (emptied after the test);
- ``app`` / ``client``: the ASGI app with its lifespan running, and an httpx client to it;
- ``make_user`` / ``sign_in``: accounts and signed-in clients.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from innovate.accounts.local import create_local_user
from innovate.accounts.models import User
from innovate.app import create_app, open_resources
from innovate.resources import Resources
from innovate.settings import Settings, load_settings
from tests import databases
from tests.clients import signed_in_client

BACKENDS = ["sqlite", "postgres"]
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> Any:
    """Argon2 with minimal cost: the same code path, without 64 MiB and three passes per
    hash on every test account (the production parameters are argon2-cffi's defaults)."""
    from argon2 import PasswordHasher

    from innovate.accounts import hashing

    original = hashing._hasher, hashing._DUMMY_HASH
    hashing._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    hashing._DUMMY_HASH = hashing._hasher.hash("innovate-timing-equaliser")
    yield
    hashing._hasher, hashing._DUMMY_HASH = original


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(databases.create_sqlite_template(path))
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Any:
    base, reason = databases.postgres_base_url()
    if base is None:
        yield None, reason
        return
    url = asyncio.run(databases.create_private_pg_database(base))
    yield url, ""
    asyncio.run(databases.drop_pg_database(base, url))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, sqlite_template: Path, postgres_url: tuple[str | None, str], tmp_path: Path) -> str:
    if backend == "sqlite":
        return databases.copy_sqlite(sqlite_template, tmp_path / "innovate.db")
    url, reason = postgres_url
    if url is None:
        pytest.skip(reason)
    return url


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Tests override settings by redefining this fixture (or with ``make_settings``)."""
    return {}


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "data_dir": tmp_path / "data",
            "public_url": "http://testserver",
            "secret_key": "test-secret-key-" + "x" * 32,
            "log_level": "warning",
            # Tests post and vote in bursts; the rate-limit tests set these low themselves.
            **{name: 100_000 for name in ("posts_per_minute", "guest_posts_per_minute", "ideas_per_hour",
                                          "guest_ideas_per_hour", "votes_per_minute", "guest_votes_per_minute")},
        }
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings], settings_overrides: dict[str, Any]) -> Settings:
    return make_settings(**settings_overrides)


@pytest.fixture
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    res = await open_resources(settings)
    try:
        yield res
    finally:
        if not settings.is_sqlite:
            await within(STOP_SECONDS, "emptying the tables", databases.empty_all_tables(res.engine))
        await within(STOP_SECONDS, "closing the database connections", res.engine.dispose())


@pytest.fixture
async def app(settings: Settings, resources: Resources) -> AsyncIterator[Any]:
    application = create_app(settings, resources=resources)
    lifespan = application.router.lifespan_context(application)
    await lifespan.__aenter__()
    try:
        yield application
    finally:
        await within(STOP_SECONDS, "stopping the app", lifespan.__aexit__(None, None, None))


STOP_SECONDS = 30.0


async def within(seconds: float, what: str, step: Awaitable[Any]) -> Any:
    """A teardown step that hangs fails with the stacks of every task still running, which say
    what it waits for (pytest-timeout's dump shows only threads, and the loop's is idle)."""
    try:
        async with asyncio.timeout(seconds):
            return await step
    except TimeoutError:
        stacks = []
        for task in asyncio.all_tasks():
            out = io.StringIO()
            task.print_stack(file=out)
            stacks.append(out.getvalue())
        raise AssertionError(f"{what} took over {seconds:.0f} s; the tasks still running:\n" + "\n".join(stacks)) from None


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def make_user(resources: Resources) -> Callable[..., Awaitable[User]]:
    counter = {"n": 0}

    async def make(email: str | None = None, *, password: str = PASSWORD, **kwargs: Any) -> User:
        counter["n"] += 1
        address = email or f"user{counter['n']}@example.com"
        return await create_local_user(resources, address, password, **kwargs)

    return make


@pytest.fixture
async def sign_in(app: Any) -> AsyncIterator[Callable[..., Awaitable[httpx.AsyncClient]]]:
    """``await sign_in(user)`` → a new httpx client signed in as ``user`` (CSRF header set)."""
    opened: list[httpx.AsyncClient] = []

    async def _sign_in(user: User, password: str = PASSWORD) -> httpx.AsyncClient:
        http = await signed_in_client(app, user.email or "", password)
        opened.append(http)
        return http

    yield _sign_in
    for http in opened:
        await http.aclose()
