"""A room on a phone (390 px), in real Chromium: one section at a time, the discussion first with
its message box in reach, a header on one line; the same room on a desktop is unchanged, and
without JavaScript the sections are plain links."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import People, Site, live, messages

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]

PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
BRIEF = "How might we cut packaging waste by half?\n\n" + "\n\n".join(
    f"Consideration {n}: returns, outbound parcels, pilot sites and suppliers all matter here." for n in range(1, 9))


async def lived_in_room(site: Site) -> str:
    """A room whose page is long: a long brief, ideas and a discussion."""
    room = await site.open_room("phone", brief=BRIEF)
    slug = room["slug"]
    async with site.api("moderator") as mod, site.api("employee") as emp:
        for n in range(1, 7):
            answer = await emp.post(f"/rooms/{slug}/ideas", json={"title": f"Idea number {n}",
                                                                   "body": "A longer description. " * 6})
            assert answer.status_code == 201, answer.text
        for n in range(1, 13):
            api = mod if n % 2 else emp
            answer = await api.post(f"/rooms/{slug}/messages", json={"body": f"Discussion point {n}: " + "words " * 15})
            assert answer.status_code == 201, answer.text
    return slug


def pane(page: Page, name: str) -> Any:
    return page.locator(f"#room [data-pane={name}]")


async def header_on_one_line(page: Page) -> bool:
    """Every item of the site header sits level with the first one."""
    return await page.evaluate("""() => {
        // The items shown: the Menu's own entries open below it, and the sections' row is hidden.
        const items = [...document.querySelectorAll(".site-header nav > ul > li")]
            .filter(li => li.getClientRects().length).map(li => li.getBoundingClientRect());
        return items.every(box => box.top < items[0].bottom && box.bottom > items[0].top);
    }""")


async def test_a_phone_opens_the_discussion_with_the_message_box_in_reach(site: Site, people: People) -> None:
    slug = await lived_in_room(site)
    employee = await people.signed_in("employee", **PHONE)
    await employee.goto(f"/rooms/{slug}")
    await live(employee)

    sections = employee.get_by_role("navigation", name="Sections of this room")
    await expect(sections).to_be_visible()
    await expect(sections.get_by_role("link")).to_have_text(["Discussion", "Ideas", "Brief", "People"])
    await expect(sections.get_by_role("link", name="Discussion")).to_have_attribute("aria-current", "true")
    # The discussion, with its latest message and the message box on the first screen.
    textbox = employee.locator("#composer-room").get_by_role("combobox", name="Your message")
    await expect(textbox).to_be_in_viewport()
    await expect(employee.locator("#composer-room").get_by_role("button", name="Send")).to_be_in_viewport()
    await expect(messages(employee, "Discussion point 12")).to_be_in_viewport()
    for other in ("ideas", "brief", "people"):
        await expect(pane(employee, other)).to_be_hidden()
    assert await header_on_one_line(employee), "the header wraps"
    # A touch screen's Enter adds a line (no Shift key there): no Enter hint.
    await expect(employee.locator("#composer-room .composer-hint")).to_be_hidden()

    await textbox.fill("Posted from the bus")
    await employee.locator("#composer-room").get_by_role("button", name="Send").tap()
    await expect(messages(employee, "Posted from the bus")).to_be_in_viewport()

    # The other sections, one at a time; the address follows, and a reload keeps the section.
    await sections.get_by_role("link", name="Ideas").tap()
    await expect(sections.get_by_role("link", name="Ideas")).to_have_attribute("aria-current", "true")
    await expect(sections.get_by_role("link", name="Discussion")).not_to_have_attribute("aria-current", "true")
    await expect(employee.get_by_role("heading", name="Ideas", exact=True)).to_be_visible()
    await expect(employee.locator(".idea-card", has_text="Idea number 6")).to_be_visible()
    await expect(pane(employee, "discussion")).to_be_hidden()
    await expect(employee).to_have_url(re.compile(r"#ideas-board$"))
    await employee.reload()
    await live(employee)
    await expect(pane(employee, "ideas")).to_be_visible()
    await expect(pane(employee, "discussion")).to_be_hidden()

    await sections.get_by_role("link", name="People").tap()
    await expect(employee.get_by_role("heading", name=re.compile(r"^Members"))).to_be_visible()
    await expect(pane(employee, "ideas")).to_be_hidden()
    await sections.get_by_role("link", name="Brief").tap()
    await expect(employee.locator("#brief")).to_contain_text("Consideration 8")
    await sections.get_by_role("link", name="Discussion").tap()
    await expect(messages(employee, "Posted from the bus")).to_be_in_viewport()

    # A link to a message opens the discussion.
    message_id = await messages(employee, "Discussion point 3").get_attribute("id")
    await employee.goto(f"/rooms/{slug}#{message_id}")
    await live(employee)
    await expect(sections.get_by_role("link", name="Discussion")).to_have_attribute("aria-current", "true")
    await expect(employee.locator(f"#{message_id}")).to_be_visible()


async def test_moderators_get_their_tools_as_a_section_and_the_desktop_shows_everything(site: Site,
                                                                                         people: People) -> None:
    slug = await lived_in_room(site)
    moderator = await people.signed_in("moderator", **PHONE)
    await moderator.goto(f"/rooms/{slug}")
    await live(moderator)
    sections = moderator.get_by_role("navigation", name="Sections of this room")
    await expect(sections.get_by_role("link")).to_have_text(["Discussion", "Ideas", "Brief", "People", "Tools"])
    await expect(pane(moderator, "tools")).to_be_hidden()
    await sections.get_by_role("link", name="Tools").tap()
    await expect(moderator.get_by_role("heading", name="Moderator tools")).to_be_visible()
    assert await header_on_one_line(moderator), "the header wraps"
    overflow = await moderator.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px"

    # On a desktop: no section bar, every section side by side as before.
    desktop = await people.signed_in("moderator")
    await desktop.goto(f"/rooms/{slug}")
    await live(desktop)
    await expect(desktop.get_by_role("navigation", name="Sections of this room")).to_be_hidden()
    for name in ("discussion", "ideas", "brief", "people", "tools"):
        await expect(pane(desktop, name)).to_be_visible()
    ideas, discussion = await pane(desktop, "ideas").bounding_box(), await pane(desktop, "discussion").bounding_box()
    assert ideas is not None and discussion is not None and discussion["x"] > ideas["x"] + ideas["width"] - 1


async def test_without_javascript_the_sections_are_links(site: Site, people: People) -> None:
    slug = await lived_in_room(site)
    state = (await people.signed_in("employee")).context
    page = await people.page(storage_state=await state.storage_state(), java_script_enabled=False, **PHONE)
    await page.goto(f"/rooms/{slug}")
    sections = page.get_by_role("navigation", name="Sections of this room")
    await expect(sections.get_by_role("link", name="Discussion")).to_have_attribute("href", "#discussion")
    for name in ("discussion", "ideas", "brief", "people"):
        await expect(pane(page, name)).to_be_visible()
    await sections.get_by_role("link", name="Ideas").tap()
    await expect(page).to_have_url(re.compile(r"#ideas-board$"))
    await expect(page.locator("#ideas-board")).to_be_in_viewport()
