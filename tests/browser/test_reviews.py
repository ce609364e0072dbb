"""Expert reviews in Chromium: a guest expert finds their queue through the bell, scores two
ideas and submits; the moderator's review page follows the progress live and releases the
results; the author then reads them on the idea's page."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import GUEST_ACCOUNTS, People, Site, live, mark, not_reloaded

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]

CRITERIA = [{"name": "Impact", "weight": 2, "scale": 5, "low_label": "Marginal", "high_label": "Transformative"},
            {"name": "Feasibility", "weight": 1, "scale": 10, "low_label": "Moonshot", "high_label": "Ready"}]


async def score(page: Page, impact: str, feasibility: str, summary: str) -> None:
    form = page.locator("#scorecard")
    await form.get_by_role("group", name=re.compile("^Impact")).get_by_role("radio", name=impact, exact=True).check()
    await form.get_by_role("group", name=re.compile("^Feasibility")).get_by_role(
        "radio", name=feasibility, exact=True).check()
    await form.get_by_role("textbox", name="Summary").fill(summary)
    await form.get_by_role("radio", name="Advance").check()
    await form.get_by_role("button", name="Submit review").click()
    await expect(page.locator("#flash")).to_contain_text("Review submitted")


async def test_a_guest_expert_reviews_the_moderator_follows_live_and_the_author_reads_the_results(
        site: Site, people: People) -> None:
    room = await site.open_room("reviews")
    slug = room["slug"]
    async with site.api("employee") as emp:
        ideas = []
        for title in ("Returnable crates", "Night-time loading"):
            made = await emp.post(f"/rooms/{slug}/ideas", json={"title": title, "body": "Less waste, fewer trips."})
            assert made.status_code == 201, made.text
            ideas.append(made.json()["id"])
    account = site.new_guest()
    guest = await people.guest(await site.invite_url(slug), account)
    guest_id = await site.member_id(slug, str(GUEST_ACCOUNTS[account]["name"]))
    async with site.api("moderator") as mod:
        assert (await mod.put(f"/rooms/{slug}/criteria", json={"criteria": CRITERIA})).status_code == 200
        assert (await mod.post(f"/rooms/{slug}/reviewers", json={"user_id": guest_id})).status_code == 201
        assigned = await mod.post(f"/rooms/{slug}/assignments",
                                  json={"pairs": [{"idea_id": i, "reviewer_id": guest_id} for i in ideas]})
        assert assigned.status_code == 201, assigned.text

    moderator = await people.signed_in("moderator")
    await moderator.goto(f"/rooms/{slug}/reviews")
    await live(moderator)
    await mark(moderator)
    totals = moderator.locator("#review-totals")
    await expect(totals).to_contain_text("0 of 2 reviews in")

    # The guest's bell says what waits for them, and leads to the queue.
    await guest.locator("#notification-bell a").click()
    await guest.get_by_role("link", name=re.compile("You have 2 ideas to review")).click()
    await expect(guest.get_by_role("heading", level=1)).to_have_text("Your reviews")
    queue = guest.locator("#review-queue")
    await expect(queue.locator("li")).to_have_count(2)

    await queue.get_by_role("link", name="Returnable crates").click()
    await score(guest, "4", "7", "Cheap to try in one depot.")
    await expect(totals).to_contain_text("1 of 2 reviews in")  # live, on the moderator's page
    await guest.get_by_role("link", name="Your reviews").click()
    await guest.locator("#review-queue").get_by_role("link", name="Night-time loading").click()
    await score(guest, "2", "9", "Neighbours will object.")
    await expect(totals).to_contain_text("2 of 2 reviews in")
    await expect(moderator.locator(".review-results tbody tr").first).to_contain_text("Returnable crates")
    await expect(moderator.locator(".review-results tbody tr").first).to_contain_text("72.22")
    await not_reloaded(moderator)

    # Before release the author sees nothing; after it, the results without the reviewer's name.
    author = await people.signed_in("employee")
    await author.goto(f"/rooms/{slug}/ideas/{ideas[0]}")
    await expect(author.get_by_role("heading", level=1)).to_be_visible()
    await expect(author.locator("#idea-review")).to_have_count(0)
    await moderator.get_by_role("button", name="Release results to authors").click()
    await expect(moderator.locator("#flash")).to_contain_text("Results released")
    await author.reload()
    results = author.locator("#idea-review")
    await expect(results).to_contain_text("72.22")
    await expect(results).to_contain_text("Cheap to try in one depot.")
    await expect(results).not_to_contain_text(str(GUEST_ACCOUNTS[account]["name"]))
