"""Joining a community by request, end to end in Chromium against a real server, by keyboard.

1. test_an_employee_asks_the_owner_approves_live_and_the_requester_gets_in
2. test_a_declined_request_and_its_reason
"""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import People, Site, live, mark, not_reloaded, post

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]


async def by_request(site: Site, stem: str) -> str:
    """A community open by request, owned by Mo."""
    slug = site.new_slug(stem)
    async with site.api("moderator") as mo:
        created = await mo.post("/rooms", json={"kind": "community", "slug": slug, "title": f"Book club {slug}",
                                                "brief": "We read one novel a month.", "visibility": "by-request"})
        assert created.status_code == 201, created.text
    return slug


async def ask_by_keyboard(page: Page, slug: str, message: str) -> None:
    """Open "Ask to join" and send the request with the keyboard alone."""
    card = page.locator(f"#community-{slug}")
    await card.get_by_role("button", name="Ask to join").focus()
    await page.keyboard.press("Enter")
    message_box = card.get_by_role("textbox", name="A message to the owners")
    await expect(message_box).to_be_visible()
    await page.keyboard.press("Tab")
    await expect(message_box).to_be_focused()
    await page.keyboard.type(message)
    await page.keyboard.press("Tab")
    await expect(card.get_by_role("button", name="Send request")).to_be_focused()
    await page.keyboard.press("Enter")


async def test_an_employee_asks_the_owner_approves_live_and_the_requester_gets_in(site: Site, people: People) -> None:
    slug = await by_request(site, "readers")

    # The owner has the request queue open, live.
    mo = await people.signed_in("moderator")
    await mo.goto(f"/rooms/{slug}/requests")
    await live(mo)
    await expect(mo.locator("#join-requests")).to_contain_text("Nobody is waiting.")
    await mark(mo)

    # The employee finds it in the directory: description and members, but no way in but asking.
    emil = await people.signed_in("employee")
    await emil.goto(f"/communities?q={slug}")
    card = emil.locator(f"#community-{slug}")
    await expect(card).to_contain_text("1 member")
    await expect(card).to_contain_text("by request")
    await expect(card.get_by_role("button", name="Join", exact=True)).to_have_count(0)
    await mark(emil)
    await ask_by_keyboard(emil, slug, "I have read every Le Guin.")
    await expect(card.get_by_role("status")).to_have_text("Request pending")
    await expect(card.get_by_role("button", name="Withdraw request")).to_be_visible()
    await not_reloaded(emil)
    bell = emil.locator("#notification-bell")
    before = await bell.inner_text()

    # It appears in the owner's queue without a reload, with the message; the count follows.
    request = mo.locator("#join-requests article").filter(has_text="Emil Employee")
    await expect(request).to_contain_text("I have read every Le Guin.")
    await expect(mo.locator("#join-requests-count")).to_contain_text("1")
    await not_reloaded(mo)
    # Approved by keyboard.
    await request.get_by_role("button", name="Approve").focus()
    await mo.keyboard.press("Enter")
    # The answer is in the table of answers. (The confirmation line the answer's own response
    # shows can be replaced at once by the queue's live update, so it is not waited for.)
    await expect(mo.locator("#join-requests table").get_by_role("row").filter(has_text="Emil Employee")).to_contain_text("approved")
    await expect(mo.locator("#join-requests")).to_contain_text("Nobody is waiting.")

    # The requester's card and bell follow live: the way in is open.
    await expect(card.get_by_role("status")).to_contain_text("You are in.")
    await expect(bell).not_to_have_text(before)
    await not_reloaded(emil)
    await card.get_by_role("link", name="Open the community").click()
    await expect(emil).to_have_url(f"{site.url}/rooms/{slug}")
    await live(emil)
    await post(emil, "Thanks for letting me in!")
    await emil.goto("/notifications")
    await expect(emil.get_by_role("main")).to_contain_text(
        f"You are in: Mo Moderator approved your request to join 'Book club {slug}'")


async def test_a_declined_request_and_its_reason(site: Site, people: People) -> None:
    slug = await by_request(site, "poets")
    emil = await people.signed_in("employee")
    await emil.goto(f"/communities/{slug}")
    await expect(emil.get_by_role("heading", level=1)).to_have_text(f"Book club {slug}")
    await emil.get_by_role("button", name="Ask to join").click()
    await emil.get_by_role("button", name="Send request").click()
    await expect(emil.get_by_role("status")).to_have_text("Request pending")
    await mark(emil)

    mo = await people.signed_in("moderator")
    await mo.goto(f"/rooms/{slug}/requests")
    request = mo.locator("#join-requests article").filter(has_text="Emil Employee")
    await request.get_by_role("textbox", name="Reason for declining").fill("We only read poetry in French")
    await request.get_by_role("button", name="Decline").click()
    await expect(mo.locator("#join-requests table").get_by_role("row").filter(has_text="Emil Employee")).to_contain_text("declined")
    await expect(mo.locator("#join-requests table")).to_contain_text("We only read poetry in French")

    # The about page the requester has open follows live too.
    await expect(emil.locator(f"#join-request-{slug}")).to_contain_text("We only read poetry in French")
    await expect(emil.locator(f"#join-request-{slug}")).to_contain_text("You may ask again from")
    await expect(emil.get_by_role("button", name="Ask to join")).to_have_count(0)
    await not_reloaded(emil)
