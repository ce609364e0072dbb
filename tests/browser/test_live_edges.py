"""The live room page at its edges in Chromium: presence that survives a mute, live updates
that the Content-Security-Policy has nothing to say about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import ConsoleMessage, Page, expect

from tests.browser.conftest import People, Site, in_room, mark, not_reloaded, post

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]


def console_problems(page: Page) -> list[str]:
    """Every console error and warning of ``page`` from now on (CSP reports included)."""
    problems: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"{message.type}: {message.text}")

    page.on("console", seen)
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    return problems


async def test_presence_stays_right_through_a_mute_and_live_updates_break_no_policy(
        site: Site, people: People) -> None:
    room = await site.open_room("presence-mute")
    slug = room["slug"]
    moderator = await people.signed_in("moderator")
    employee = await people.signed_in("employee")
    problems = {"moderator": console_problems(moderator), "employee": console_problems(employee)}
    await in_room(moderator, slug)
    await in_room(employee, slug)
    emil = await site.member_id(slug, "Emil Employee")
    mo = await site.member_id(slug, "Mo Moderator")
    await expect(moderator.locator(f"#presence-{emil}")).to_have_attribute("data-presence", "online")
    await expect(employee.locator(f"#presence-{mo}")).to_have_attribute("data-presence", "online")

    # Live updates of every sort: a post, an idea, a vote, a mute and its lifting.
    await post(moderator, "Welcome, everyone")
    async with site.api("moderator") as mod:
        idea = (await mod.post(f"/rooms/{slug}/ideas", json={"title": "Reusable pallets",
                                                              "body": "Pallets that come back."})).json()
    await expect(employee.locator(f"#idea-{idea['id']}")).to_have_count(1)
    async with site.api("employee") as emp:
        assert (await emp.put(f"/ideas/{idea['id']}/vote", json={"value": 1})).status_code == 200
    await expect(moderator.locator(f"#tally-{idea['id']} .t-score")).to_have_text("1")

    until = datetime.now(UTC) + timedelta(hours=1)
    async with site.api("moderator") as mod:
        answer = await mod.patch(f"/rooms/{slug}/members/{emil}", json={"muted_until": until.isoformat()})
        assert answer.status_code == 200, answer.text
    muted_row = moderator.locator(f"#member-{emil} .badge.muted")
    await expect(muted_row).to_have_count(1)
    await expect(employee.locator(f"#member-{emil} .badge.muted")).to_have_count(1)
    # The member row was drawn anew; the person in it has not gone anywhere.
    for page in (moderator, employee):
        await expect(page.locator(f"#presence-{emil}")).to_have_attribute("data-presence", "online")
        await expect(page.locator(f"#presence-{mo}")).to_have_attribute("data-presence", "online")

    async with site.api("moderator") as mod:
        answer = await mod.patch(f"/rooms/{slug}/members/{emil}", json={"muted_until": None})
        assert answer.status_code == 200, answer.text
    await expect(muted_row).to_have_count(0)
    for page in (moderator, employee):
        await expect(page.locator(f"#presence-{emil}")).to_have_attribute("data-presence", "online")
    await post(employee, "Back to it")
    await expect(moderator.locator("#thread-room li.message", has_text="Back to it")).to_have_count(1)

    for page in (moderator, employee):
        await not_reloaded(page)
    assert problems == {"moderator": [], "employee": []}


# hx-ws closes the socket of a hidden tab and opens a new one when it is shown again.
SET_HIDDEN = """hidden => {
  Object.defineProperty(document, "hidden", {value: hidden, configurable: true});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


async def test_votes_cast_while_away_are_on_the_page_after_the_reconnect(site: Site, people: People) -> None:
    room = await site.open_room("away-votes", voting_mode="budget", budget=4, max_per_idea=2, votes_in_open=True)
    slug = room["slug"]
    async with site.api("moderator") as mod:
        idea = (await mod.post(f"/rooms/{slug}/ideas", json={"title": "Night deliveries", "body": "Quiet streets."})).json()
    employee = await in_room(await people.signed_in("employee"), slug)
    problems = console_problems(employee)
    tally = employee.locator(f"#tally-{idea['id']} .t-score")
    await expect(tally).to_have_text("0")

    await employee.evaluate(SET_HIDDEN, True)
    await expect(employee.locator("#room")).not_to_have_attribute("data-live", "open")
    # Away: the moderator votes, and the employee spends dots from another device. Neither
    # is an event the replay could bring.
    async with site.api("moderator") as mod, site.api("employee") as emp:
        assert (await mod.put(f"/ideas/{idea['id']}/vote", json={"value": 1})).status_code == 200
        assert (await emp.put(f"/ideas/{idea['id']}/vote", json={"value": 2})).status_code == 200
    await employee.evaluate(SET_HIDDEN, False)
    await expect(employee.locator("#room")).to_have_attribute("data-live", "open")

    await expect(tally).to_have_text("3")
    await expect(employee.locator("#budget-left")).to_have_attribute("data-left", "2")
    await expect(employee.locator(f"#vote-{idea['id']} .my-dots .visually-hidden")).to_have_text("Your dots: 2 of 2")
    await not_reloaded(employee)
    assert problems == []


async def test_closing_a_secret_ballot_shows_the_results_on_every_open_page(site: Site, people: People) -> None:
    room = await site.open_room("secret-ballot", hide_tallies_until_closed=True)
    slug = room["slug"]
    async with site.api("moderator") as mod:
        idea = (await mod.post(f"/rooms/{slug}/ideas", json={"title": "Cargo bikes", "body": "For the centre."})).json()
        assert (await mod.patch(f"/rooms/{slug}", json={"phase": "voting"})).status_code == 200
    employee = await in_room(await people.signed_in("employee"), slug)
    guest = await people.guest(await site.invite_url(slug), site.new_guest())
    await mark(guest)
    pages = [employee, guest]
    for page in pages:
        await expect(page.locator(f"#tally-{idea['id']}")).to_contain_text("Tally hidden until voting closes")
    async with site.api("employee") as emp:
        assert (await emp.put(f"/ideas/{idea['id']}/vote", json={"value": 1})).status_code == 200
    async with site.api("moderator") as mod:
        assert (await mod.put(f"/ideas/{idea['id']}/vote", json={"value": 1})).status_code == 200
        assert (await mod.patch(f"/rooms/{slug}", json={"phase": "closed"})).status_code == 200
    for page in pages:
        await expect(page.locator(f"#tally-{idea['id']} .t-score")).to_have_text("2")
        await expect(page.locator(f"#tally-{idea['id']}")).to_contain_text("2 voters")
        await not_reloaded(page)
