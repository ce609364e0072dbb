"""The bell and the inbox in Chromium: a mention turns the bell up live on a page that
follows no room, and the inbox opens the very message."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import People, Site, mark, not_reloaded

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]


async def unread(page: Page) -> int:
    count = page.locator("#notification-bell .bell-count")
    return int(await count.inner_text()) if await count.count() else 0


async def test_a_mention_rings_the_bell_live_and_the_inbox_opens_the_message(site: Site, people: People) -> None:
    room = await site.open_room("mentions")
    emil = await people.signed_in("employee")
    await emil.goto("/")  # the home page follows no room: the user's own stream carries the bell
    await mark(emil)
    # Whether the mention comes before or after the page's socket opens, the bell is right:
    # a socket is sent the current count as it goes live.
    before = await unread(emil)

    async with site.api("moderator") as mod:
        posted = await mod.post(f"/rooms/{room['slug']}/messages",
                                json={"body": "@emilemployee could you check the loading bay numbers?"})
        assert posted.status_code == 201, posted.text
    message_id = posted.json()["id"]

    await expect(emil.locator("#notification-bell .bell-count")).to_have_text(str(before + 1))
    await expect(emil.locator("#notification-bell a")).to_have_attribute(
        "aria-label", f"Unread notifications: {before + 1}")
    await not_reloaded(emil)

    await emil.locator("#notification-bell a").click()
    await expect(emil.get_by_role("heading", level=1)).to_contain_text("Notifications")
    item = emil.get_by_role("link", name=re.compile("mentioned you")).first
    await item.click()
    await expect(emil).to_have_url(re.compile(rf"/rooms/{room['slug']}.*#message-{message_id}$"))
    await expect(emil.locator(f"#message-{message_id}")).to_contain_text("loading bay numbers")
    # Reading the message read its notification: the bell is back where it was.
    await emil.reload()
    assert await unread(emil) == before
