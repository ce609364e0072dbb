"""hxws-adapter.js against the vendored htmx, in real Chromium: every hx-ws internal the page
scripts use is there (its self-check finds nothing missing), the self-check notices one that
is gone, and the internals still do what the adapter relies on. An htmx upgrade that changes
them fails here, rather than making the live page reconnect slowly."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import People, Site, live, messages

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]

# Keeps the connection of the open socket and counts close events (hx-ws's documented events).
SEE_CONNECTIONS = """
window.wsCloses = 0;
document.addEventListener("htmx:ws:after:connection", event => { window.seenConnection = event.detail.connection; });
document.addEventListener("htmx:ws:close", () => { window.wsCloses += 1; });
"""


async def _room_page(site: Site, people: People, stem: str) -> tuple[str, Page, list[str]]:
    slug = (await site.open_room(stem))["slug"]
    page = await people.signed_in("employee")
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    await page.add_init_script(SEE_CONNECTIONS)
    await page.goto(f"/rooms/{slug}")
    await live(page)
    return slug, page, sockets


async def test_the_vendored_htmx_has_every_internal_the_adapter_uses(site: Site, people: People) -> None:
    _, page, _ = await _room_page(site, people, "adapter-check")
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)

    problems = await page.evaluate("InnovateHxWs.selfCheck(document.getElementById('room'))")
    assert problems == [], f"htmx {await page.evaluate('htmx.version')}: {problems}"

    # The same check on a copy of the live connection without one of hx-ws's fields.
    missing = await page.evaluate("""() => {
      const connection = Object.assign({}, window.seenConnection);
      delete connection.visibilityHandler;
      return InnovateHxWs.selfCheck(document.getElementById('room'), connection);
    }""")
    assert missing == ["connection.visibilityHandler is not a function"]
    assert not [w for w in warnings if "hxws-adapter" in w]


async def test_a_socket_is_replaced_at_once_at_the_url_the_adapter_set(site: Site, people: People) -> None:
    slug, page, sockets = await _room_page(site, people, "adapter-reopen")
    opened = len(sockets)
    url = await page.evaluate("""() => {
      const connection = window.seenConnection;
      const url = new URL(InnovateHxWs.url(connection));
      url.searchParams.set("after", document.getElementById("room").dataset.lastSeq);
      url.searchParams.set("probe", "1");
      InnovateHxWs.setUrl(connection, url.href);
      InnovateHxWs.reopenNow(connection);
      return url.href;
    }""")
    async with asyncio.timeout(10):
        while len(sockets) == opened:
            await asyncio.sleep(0.05)
    assert sockets[opened:] == [url]
    # At once, not by hx-ws's own reconnect after the old socket's close event and a backoff.
    assert await page.evaluate("window.wsCloses") == 0
    await expect(page.locator("#room")).to_have_attribute("data-live", "open")

    # The new socket carries the room: a message posted now shows.
    async with site.api("moderator") as api:
        answer = await api.post(f"/rooms/{slug}/messages", json={"body": "Through the new socket"})
        assert answer.status_code == 201, answer.text
    await expect(messages(page, "Through the new socket")).to_have_count(1)
    assert await page.evaluate("InnovateHxWs.send(window.seenConnection, JSON.stringify({type: 'ping'}))") is True
