"""The showcase end to end: a moderator publishes a closed challenge's results with one author
who agreed to be named and one who declined; a visitor who never signed in reads the story
that links to it, then the results, and sees the right names (and no cookie is ever set)."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import People, Site, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]


async def test_published_results_name_only_the_author_who_agreed(site: Site, people: People) -> None:
    room = await site.open_room("showcase", allow_anonymous=True)
    slug = room["slug"]
    async with site.api("admin") as admin:
        assert (await admin.post(f"/rooms/{slug}/join")).status_code == 200
        declined = await admin.post(f"/rooms/{slug}/ideas", json={"title": "Reuse the pallets", "body": "Twice."})
        assert declined.status_code == 201, declined.text
    async with site.api("employee") as employee:
        agreed = await employee.post(f"/rooms/{slug}/ideas", json={"title": "Cargo bikes in the yard",
                                                                   "body": "Bikes for **short** hauls."})
        assert agreed.status_code == 201, agreed.text
        hidden = await employee.post(f"/rooms/{slug}/messages", json={"body": "A discussion nobody outside reads"})
        assert hidden.status_code == 201, hidden.text
    async with site.api("moderator") as mod:
        for phase in ("voting", "closed"):
            assert (await mod.patch(f"/rooms/{slug}", json={"phase": phase})).status_code == 200

    # The moderator picks both ideas and publishes.
    moderator = await people.signed_in("moderator")
    await moderator.goto(f"/rooms/{slug}/publication")
    await moderator.get_by_label("Cargo bikes in the yard").check()
    await moderator.get_by_label("Reuse the pallets").check()
    await moderator.get_by_label("What came of it (Markdown)").fill("A pilot with **four** cargo bikes.")
    await moderator.get_by_role("button", name="Publish").click()
    await expect(moderator.get_by_role("link", name=f"/results/{slug}")).to_be_visible()
    await expect(moderator.locator(".publication-candidates")).to_contain_text("author asked, no answer yet")

    # The employee agrees from their own page; the admin declines through the API.
    employee_page = await people.signed_in("employee")
    await employee_page.goto("/me/publications")
    request = employee_page.locator("article.consent-request", has_text="Cargo bikes in the yard")
    await request.get_by_role("button", name="Name me", exact=True).click()
    await expect(employee_page.locator("article.consent-request", has_text="Cargo bikes in the yard")).to_contain_text(
        "You agreed to be named.")
    async with site.api("admin") as admin:
        mine = (await admin.get("/me/publication-consents")).json()["items"]
        item = next(i for i in mine if i["title"] == "Reuse the pallets")
        assert (await admin.put(f"/me/publication-consents/{item['id']}", json={"consent": False})).status_code == 200
        story = await admin.post("/stories", json={
            "title": f"How the yard got its bikes ({slug})", "summary": "A challenge, a pilot, four bikes.",
            "body": f"It started as a challenge. [Read the results](/results/{slug}).", "published": True})
        assert story.status_code == 201, story.text
        story_slug = story.json()["slug"]

    # A visitor who never signed in: the stories page, the story, then the results it links to.
    visitor = await people.page()
    await visitor.goto("/stories")
    await visitor.get_by_role("link", name=f"How the yard got its bikes ({slug})").click()
    await expect(visitor).to_have_url(f"{site.url}/stories/{story_slug}")
    await expect(visitor.get_by_role("heading", level=1)).to_have_text(f"How the yard got its bikes ({slug})")
    await visitor.get_by_role("link", name="Read the results").click()
    await expect(visitor).to_have_url(f"{site.url}/results/{slug}")
    await expect(visitor.get_by_role("heading", level=1)).to_have_text(room["title"])
    ideas = visitor.locator("article.public-idea")
    await expect(ideas).to_have_count(2)
    await expect(ideas.filter(has_text="Cargo bikes in the yard")).to_contain_text("Emil Employee")
    await expect(ideas.filter(has_text="Reuse the pallets")).to_contain_text("by a colleague")
    await expect(visitor.locator("main")).to_contain_text("A pilot with four cargo bikes.")
    body = await visitor.locator("body").inner_text()
    assert "Ada Admin" not in body and "nobody outside reads" not in body
    assert "@" not in body
    assert await visitor.context.cookies() == []
    await screenshot(visitor, "showcase-results")
