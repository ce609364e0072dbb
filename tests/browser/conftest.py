"""End-to-end fixtures: a real ``innovate serve``, the real OpenID Connect provider, Debian's Chromium.

One of each is started per test session (they are slow to start on a small machine); every test
makes its own room, its own guest (a provider account nobody else uses) and its own browser
contexts, so tests do not depend on each other's data.

- ``site``: the server (SQLite file of its own), the provider, local accounts made with the CLI
  (``innovate user create``) and API tokens for them (``innovate token create``);
- ``browser``: Chromium through Playwright's async API (not pytest-playwright, which would
  fight pytest-asyncio for the event loop);
- ``people``: signs people in, each in a browser context of their own.

Without Chromium (or Node for the provider) the suite skips with the reason, except in CI
(``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pluggy
import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    async_playwright,
    expect,
)

from tests.clients import CSRF_META, form_csrf
from tests.oidc_provider import OidcProvider
from tests.servers import INNOVATE, ServerProcess, serve

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE / "screenshots"
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "browser-tests-password"
GUEST_PROVIDER = "experts"
GUEST_PROVIDER_NAME = "Expert ID"
# One provider account per test that needs a guest, so no guest ever holds two rooms.
GUEST_ACCOUNTS = {f"guest{n}": {"email": f"guest{n}@expert.example", "email_verified": True,
                                 "name": f"Gina Guest {n}"} for n in range(1, 21)}
STAFF = {
    "admin": ("ada@corp.example", "Ada Admin", ["--admin"]),
    "moderator": ("mo@corp.example", "Mo Moderator", ["--moderator"]),
    "employee": ("emil@corp.example", "Emil Employee", []),
}
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
# Waits end as soon as their condition holds; the bound only matters on a busy 2-core machine.
TIMEOUT_MS = 30_000


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Skip locally; in CI the browser suite must run, so a missing piece fails it."""
    if in_ci():
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    # The provider must know the app's callback URL before the app starts, so the app's port
    # is chosen here (bind port 0, read it, release it) rather than by the server itself.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Site:
    """The running product and the people who already have accounts on it."""

    url: str
    server: ServerProcess
    provider: OidcProvider
    env: dict[str, str]
    emails: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, Any] = field(default_factory=dict)  # who -> a signed-in browser's storage state
    _slugs: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _guests: Iterator[str] = field(default_factory=lambda: iter(GUEST_ACCOUNTS))

    def api(self, who: str) -> httpx.AsyncClient:
        """A JSON API client acting as ``who`` (admin, moderator, employee) with a bearer token."""
        return httpx.AsyncClient(base_url=f"{self.url}/api/v1", timeout=15,
                                 headers={"Authorization": f"Bearer {self.tokens[who]}"})

    def new_slug(self, stem: str) -> str:
        return f"{stem}-{next(self._slugs)}"

    def new_guest(self) -> str:
        """A provider account that has never signed in here."""
        return next(self._guests)

    async def open_room(self, stem: str, **settings: Any) -> dict[str, Any]:
        """A room the moderator created (open, employees may join) with the employee joined."""
        body = {"slug": self.new_slug(stem), "title": f"{stem.replace('-', ' ').title()} challenge",
                "brief": "How might we **cut waste** in our warehouses?", "phase": "open",
                "voting_mode": "updown", **settings}
        async with self.api("moderator") as mod:
            created = await mod.post("/rooms", json=body)
            assert created.status_code == 201, created.text
        async with self.api("employee") as emp:
            joined = await emp.post(f"/rooms/{body['slug']}/join")
            assert joined.status_code == 200, joined.text
        return created.json()

    async def invite_url(self, slug: str) -> str:
        async with self.api("moderator") as mod:
            answer = await mod.post(f"/rooms/{slug}/invites", json={"max_uses": 1, "expires_in_hours": 24})
            assert answer.status_code == 201, answer.text
            return answer.json()["url"]

    async def member_id(self, slug: str, name: str) -> int:
        async with self.api("moderator") as mod:
            members = (await mod.get(f"/rooms/{slug}/members")).json()["items"]
        return next(m["user_id"] for m in members if m["name"] == name)


def _cli(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([INNOVATE, *args], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen[str], stdin: str = "") -> str:
    out, err = process.communicate(stdin, timeout=120)
    if process.returncode != 0:
        raise RuntimeError(f"{process.args!r} failed ({process.returncode}):\n{out}\n{err}")
    return out


def _create_accounts(env: dict[str, str]) -> None:
    """The staff accounts, made with the CLI as an operator would (in parallel: each call is
    a Python start-up, and the password is hashed with the production cost)."""
    creating = [_cli(env, "user", "create", email, "--name", name, *flags) for email, name, flags in STAFF.values()]
    for process in creating:
        _finish(process, f"{PASSWORD}\n")


def _api_token(url: str, email: str) -> str:
    """Sign in like a browser and create a personal access token (POST /api/v1/tokens)."""
    with httpx.Client(base_url=url, timeout=30) as http:
        login = http.get("/login")
        http.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": form_csrf(login.text)})
        home = http.get("/")
        match = CSRF_META.search(home.text)
        assert match, f"sign-in as {email} failed"
        answer = http.post("/api/v1/tokens", json={"name": "browser tests"}, headers={"X-CSRF-Token": match.group(1)})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["token"])


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from running_site(tmp_path_factory)


def running_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server with its own database, OIDC provider and staff accounts. The session shares
    one; a test that must see only its own data (every text on a page) starts its own."""
    if shutil.which("node") is None:
        unavailable("node is not installed (it runs the OpenID Connect provider)")
    tmp = tmp_path_factory.mktemp("site")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    client = {"client_id": "innovate-experts", "client_secret": "secret-experts-0123456789",
              "redirect_uris": [f"{url}/auth/{GUEST_PROVIDER}/callback"]}
    with OidcProvider(clients=[client], accounts=GUEST_ACCOUNTS, require_pkce=True) as provider:
        providers = [{"name": GUEST_PROVIDER, "display_name": GUEST_PROVIDER_NAME, "kind": "guest",
                      "discovery_url": provider.discovery_url, "client_id": client["client_id"],
                      "client_secret": client["client_secret"]}]
        env = {
            "INNOVATE_DATA_DIR": str(tmp / "data"),
            "INNOVATE_DATABASE_URL": f"sqlite:///{tmp / 'innovate.db'}",
            "INNOVATE_PUBLIC_URL": url,
            "INNOVATE_OIDC_PROVIDERS": json.dumps(providers),
            "INNOVATE_EMPLOYEE_DOMAINS": "corp.example",
            # The pseudo-locale en_XA, for browsers that ask for it (test_languages.py); every
            # other test's browser asks for en-GB and gets English.
            "INNOVATE_PSEUDO_LOCALE": "1",
        }
        # `serve` passes --port 0 first; argparse keeps the last --port, the one chosen above.
        server = serve(tmp, env, "--port", str(port), name="innovate")
        try:
            _create_accounts(server.env)
            emails = {who: email for who, (email, _, _) in STAFF.items()}
            tokens = {who: _api_token(url, email) for who, email in emails.items()}
            yield Site(url=url, server=server, provider=provider, env=server.env, emails=emails, tokens=tokens)
        finally:
            code = server.stop()
            if code not in ServerProcess.CLEAN_EXITS:
                print(f"innovate serve exited with {code}:\n{server.logs()[-4000:]}", file=sys.stderr)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        unavailable("Debian's chromium is not installed (scripts/install-test-deps installs it)")
    expect.set_options(timeout=TIMEOUT_MS)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


class People:
    """Browser contexts for one test, each signed in as somebody; closed after the test."""

    def __init__(self, site: Site, browser: Browser) -> None:
        self.site = site
        self.browser = browser
        self.contexts: list[BrowserContext] = []

    async def context(self, **options: Any) -> BrowserContext:
        """A fresh browser profile; ``options`` go to ``Browser.new_context`` (viewport, timezone_id...)."""
        settings = {"base_url": self.site.url, "viewport": {"width": 1280, "height": 900}, "locale": "en-GB",
                    "timezone_id": "Europe/Berlin", "color_scheme": "light", **options}
        context = await self.browser.new_context(**settings)
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        return context

    async def page(self, **options: Any) -> Page:
        context = await self.context(**options)
        return await context.new_page()

    async def signed_in(self, who: str, **options: Any) -> Page:
        """A page signed in with the local account of ``who``: through the sign-in form the
        first time in the session, then with that sign-in's cookies (a fresh profile each time)."""
        state = self.site.sessions.get(who)
        if state is not None:
            return await self.page(storage_state=state, **options)
        page = await self.page(**options)
        await sign_in(page, self.site.emails[who])
        self.site.sessions[who] = await page.context.storage_state()
        return page

    async def guest(self, invite_url: str, account: str, **options: Any) -> Page:
        page = await self.page(**options)
        await join_as_guest(page, invite_url, account)
        return page

    async def keep_evidence(self, test_name: str) -> None:
        """After a failure: a screenshot of every open page, for the CI artifacts."""
        folder = SCREENSHOTS / "failures"
        folder.mkdir(parents=True, exist_ok=True)
        for n, context in enumerate(self.contexts):
            for m, page in enumerate(context.pages):
                with contextlib.suppress(Exception):
                    await page.screenshot(path=str(folder / f"{test_name}-{n}-{m}.png"), full_page=True)

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                               ) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True


@pytest_asyncio.fixture(loop_scope="session")
async def people(request: pytest.FixtureRequest, site: Site, browser: Browser) -> AsyncIterator[People]:
    crowd = People(site, browser)
    try:
        yield crowd
        if request.node.stash.get(FAILED, False):
            await crowd.keep_evidence(request.node.name)
    finally:
        await crowd.close()


# Journeys' building blocks --------------------------------------------------------------------


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.goto("/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def join_as_guest(page: Page, invite_url: str, account: str) -> None:
    """Open an invite link, confirm it, sign in at the provider (its dev login and consent
    forms) and wait to land in the room."""
    await page.goto(invite_url)
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Join")
    await page.get_by_role("button", name=f"Continue with {GUEST_PROVIDER_NAME}").click()
    # The provider's development login form, then its consent form.
    await page.locator("input[name=login]").fill(account)
    await page.locator("input[name=password]").fill("any")
    await page.locator("button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/interaction/"))
    await expect(page.locator("input[name=prompt][value=consent]")).to_be_attached()
    await page.locator("button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/rooms/[^/]+$"))
    await live(page)


async def live(page: Page) -> None:
    """Wait until the room page's live connection is open."""
    await page.wait_for_selector("#room[data-live=open]", state="attached")


def messages(page: Page, text: str | None = None) -> Locator:
    """The room discussion's visible messages, not counting ones still on their way
    (optionally those containing ``text``)."""
    found = page.locator("#thread-room li.message:not([hidden]):not(.pending)")
    return found.filter(has_text=text) if text else found


async def post(page: Page, text: str) -> None:
    composer = page.locator("#composer-room")
    await composer.get_by_label("Your message", exact=True).fill(text)
    await composer.get_by_role("button", name="Send").click()
    await expect(messages(page, text)).to_have_count(1)
    await expect(page.locator("#composer-room").get_by_label("Your message", exact=True)).to_have_value("")


async def in_room(page: Page, slug: str) -> Page:
    await page.goto(f"/rooms/{slug}")
    await live(page)
    await mark(page)
    return page


async def mark(page: Page) -> None:
    """A page that reloads loses this mark: ``not_reloaded`` proves nothing reloaded."""
    await page.evaluate("window.stillTheSamePage = true")


async def not_reloaded(page: Page) -> None:
    assert await page.evaluate("window.stillTheSamePage === true"), "the page reloaded"


async def screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page, animations="disabled")
