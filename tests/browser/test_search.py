"""Search in Chromium: from the challenge directory to an idea and a message found by a word
of theirs, and a guest who finds only what is in their room."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.browser.conftest import People, Site

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]


async def test_a_word_of_an_idea_or_a_message_finds_it_and_leads_there(site: Site, people: People) -> None:
    room = await site.open_room("search")
    other = await site.open_room("search-other")
    slug = room["slug"]
    async with site.api("moderator") as mod:
        idea = (await mod.post(f"/rooms/{slug}/ideas", json={"title": "Shared backhaul for the depots",
                                                              "body": "Trucks come back full."})).json()
        message = (await mod.post(f"/rooms/{slug}/messages", json={"body": "Who runs the backhaul pilot?"})).json()
        await mod.post(f"/rooms/{other['slug']}/ideas", json={"title": "Backhaul elsewhere", "body": "Not for guests."})
    employee = await people.signed_in("employee")
    await employee.goto("/rooms")
    await employee.get_by_label("Search by title").fill("backhaul")
    await employee.get_by_role("link", name=re.compile("Search the ideas and messages")).click()
    await employee.wait_for_url(re.compile(r"/search\?q=backhaul"))
    hit = employee.locator(f"#hit-idea-{idea['id']}")
    await expect(hit.locator("mark").first).to_have_text("backhaul")
    await expect(employee.locator(f"#hit-message-{message['id']} mark")).to_have_text("backhaul")
    await hit.get_by_role("link", name="Shared backhaul for the depots").click()
    await employee.wait_for_url(re.compile(rf"/rooms/{slug}/ideas/{idea['id']}$"))
    await expect(employee.get_by_role("heading", level=1)).to_contain_text("Shared backhaul for the depots")

    guest = await people.guest(await site.invite_url(slug), site.new_guest())
    await guest.goto("/search?q=backhaul")
    await expect(guest.locator(f"#hit-idea-{idea['id']}")).to_have_count(1)
    await expect(guest.locator("main")).not_to_contain_text("Backhaul elsewhere")
    await guest.locator(f"#hit-message-{message['id']} a").first.click()
    await guest.wait_for_url(re.compile(rf"/rooms/{slug}#message-{message['id']}$"))
    await expect(guest.locator(f"#message-{message['id']}")).to_be_visible()
