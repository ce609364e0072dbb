"""Moderators' and guests' edges, in real Chromium: the tools a moderator looks for, the
panels that had no room, copying the one-time invite link, a guest's own challenges, leaving
with a confirmation, and forms that show every error at once."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import People, Site, in_room, live

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]

TOOLS = ("Moderation queue", "Insights", "Results report", "Exports", "Audit log")


def tool_links(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Moderator tools")


async def clipped(page: Page, selector: str) -> list[str]:
    """The parts of ``selector`` that its scrolling or clipping ancestors cut off."""
    result: list[str] = await page.evaluate("""(selector) => {
        const el = document.querySelector(selector);
        const box = el.getBoundingClientRect();
        const cut = [];
        for (let up = el.parentElement; up; up = up.parentElement) {
            const style = getComputedStyle(up);
            if (style.overflowX === "visible" && style.overflowY === "visible") continue;
            const frame = up.getBoundingClientRect();
            if (box.left < frame.left - 1 || box.right > frame.right + 1 || box.top < frame.top - 1
                || box.bottom > frame.bottom + 1) cut.push(up.tagName.toLowerCase() + "." + up.className);
        }
        if (box.right > document.documentElement.clientWidth + 1) cut.push("the window");
        return cut;
    }""", selector)
    return result


async def test_a_moderator_finds_every_tool_and_others_do_not(site: Site, people: People) -> None:
    room = await site.open_room("tools")
    slug = room["slug"]
    moderator = await in_room(await people.signed_in("moderator"), slug)
    nav = tool_links(moderator)
    for name in TOOLS:
        await expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    await nav.get_by_role("link", name="Insights", exact=True).click()
    await expect(moderator.get_by_role("heading", level=1)).to_have_text("Insights")
    await tool_links(moderator).get_by_role("link", name="Moderation queue").click()
    await expect(moderator.get_by_role("heading", level=1)).to_have_text("Moderation")
    queue_nav = tool_links(moderator)
    await expect(queue_nav.get_by_role("link", name="Moderation queue")).to_have_attribute("aria-current", "page")
    await queue_nav.get_by_role("link", name="Audit log").click()
    await expect(moderator.get_by_role("heading", level=1)).to_contain_text("Audit log")
    await tool_links(moderator).get_by_role("link", name="Results report").click()
    await expect(moderator).to_have_url(re.compile(rf"/rooms/{slug}/report$"))
    await moderator.goto(f"/rooms/{slug}/moderation")
    await tool_links(moderator).get_by_role("link", name="Exports").click()
    await expect(moderator.locator("#exports").get_by_role("link", name=re.compile("^CSV"))).not_to_have_count(0)

    employee = await in_room(await people.signed_in("employee"), slug)
    await expect(employee.get_by_role("heading", level=1)).to_have_text(room["title"])
    await expect(tool_links(employee)).to_have_count(0)
    for name in TOOLS:
        await expect(employee.get_by_role("link", name=name, exact=True)).to_have_count(0)
    guest = await people.guest(await site.invite_url(slug), site.new_guest())
    await expect(tool_links(guest)).to_have_count(0)
    await expect(guest.get_by_role("link", name="Insights", exact=True)).to_have_count(0)


async def test_the_invite_link_is_whole_and_copies(site: Site, people: People) -> None:
    room = await site.open_room("copy")
    moderator = await people.signed_in("moderator")
    await moderator.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    await in_room(moderator, room["slug"])
    panel = moderator.locator("#invite-panel")
    await panel.get_by_role("button", name="Create invite link").click()
    link = panel.locator("#new-invite-url")
    await expect(link).to_contain_text("/join/")
    await expect(panel).to_contain_text("It is shown only once")
    url = (await link.text_content() or "").strip()
    assert url.startswith(f"{site.url}/join/") and len(url) > 60
    # Whole: nothing of it is cut off or scrolled away, in the panel or the window.
    assert await link.evaluate("el => el.scrollWidth <= el.clientWidth + 1 && el.scrollHeight <= el.clientHeight + 1")
    assert await clipped(moderator, "#new-invite-url") == []
    await panel.get_by_role("button", name="Copy link").click()
    await expect(panel.locator("[data-copy-status]")).to_have_text("Link copied.")
    assert await moderator.evaluate("navigator.clipboard.readText()") == url

    # Without the clipboard API (an insecure origin, an older browser) the selection is copied.
    fallback = await people.signed_in("moderator")
    await fallback.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    await fallback.goto(f"/rooms/{room['slug']}/invites")
    await fallback.get_by_role("button", name="Create invite link").click()
    await fallback.get_by_role("button", name="Copy link").click()
    status = fallback.locator("[data-copy-status]")
    await expect(status).to_have_text(re.compile(r"^(Link copied\.|Press Ctrl\+C .* to copy the selected link\.)$"))
    selected = await fallback.evaluate("String(window.getSelection())")
    assert selected.strip() == (await fallback.locator("#new-invite-url").text_content() or "").strip()


async def test_menus_and_tables_have_room(site: Site, people: People) -> None:
    room = await site.open_room("roomy")
    slug = room["slug"]
    async with site.api("moderator") as mod:
        for _ in range(2):
            assert (await mod.post(f"/rooms/{slug}/invites", json={"max_uses": 1, "note": "A long note " * 8})).status_code == 201
    async with site.api("employee") as emp:
        assert (await emp.post(f"/rooms/{slug}/messages", json={"body": "A message to moderate"})).status_code == 201
    moderator = await in_room(await people.signed_in("moderator"), slug)
    # The invite table is not clipped: it fits its panel at a laptop's width.
    table = moderator.locator("#invite-panel table")
    await expect(table).to_be_visible()
    assert await table.evaluate("t => t.closest('.table-scroll').scrollWidth <= t.closest('.table-scroll').clientWidth + 1")

    # The mute menu of a member, on the moderation page: whole, within the window.
    await moderator.goto(f"/rooms/{slug}/moderation")
    await live(moderator)
    row = moderator.locator("#moderation-members tr", has_text="Emil Employee")
    await row.locator("summary", has_text="Actions").click()
    menu = row.locator(".mod-menu-body")
    await expect(menu.get_by_role("button", name="Mute")).to_be_visible()
    assert await clipped(moderator, "#moderation-members details[open] .mod-menu-body") == []
    members = moderator.locator("#moderation-members .table-scroll")
    assert await members.evaluate("el => el.scrollWidth <= el.clientWidth + 1")

    # The author's menu on a message in the discussion column, too.
    await in_room(moderator, slug)
    message = moderator.locator("#thread-room li.message", has_text="A message to moderate")
    await message.locator("summary", has_text="Emil Employee").first.click()
    await expect(message.get_by_role("button", name="Mute")).to_be_visible()
    await message.locator(".mod-menu-body").scroll_into_view_if_needed()  # the discussion scrolls
    assert await clipped(moderator, "#thread-room details.member-menu[open] .mod-menu-body") == []


async def test_a_guest_finds_their_challenges_and_leaves_only_on_purpose(site: Site, people: People) -> None:
    room = await site.open_room("stay")
    slug = room["slug"]
    guest = await people.guest(await site.invite_url(slug), site.new_guest())
    header = guest.locator(".room-header")
    await expect(header).to_be_visible()
    await expect(header).not_to_contain_text("Open to all employees")
    await guest.get_by_role("link", name="My challenges", exact=True).click()
    await expect(guest.get_by_role("heading", level=1)).to_have_text("My challenges")
    await guest.locator(".room-cards").get_by_role("link", name=room["title"]).click()
    await live(guest)

    # Leaving asks first, and says what it costs; staying changes nothing.
    await guest.get_by_role("button", name="Leave…").click()
    await expect(guest.get_by_role("heading", level=1)).to_have_text(f"Leave “{room['title']}”?")
    await expect(guest.locator("main")).to_contain_text("You will need a new invitation to come back.")
    await guest.get_by_role("button", name="Stay").click()
    await live(guest)
    await guest.get_by_role("button", name="Leave…").click()
    await guest.get_by_role("button", name="Leave the challenge").click()
    await expect(guest.locator("main")).to_contain_text("You left the challenge.")
    response = await guest.goto(f"/rooms/{slug}")
    assert response is not None and response.status == 404


async def test_the_room_form_shows_every_error_at_once(people: People) -> None:
    moderator = await people.signed_in("moderator")
    await moderator.goto("/rooms/new")
    form = moderator.locator("#room-form")
    await form.get_by_role("textbox", name="Address", exact=True).fill("Not A Slug")
    await form.get_by_role("textbox", name="Title", exact=True).fill("")
    await form.locator("#room-form-cover_url").fill("http://plain.example/cover.png")
    await form.get_by_label("Opens", exact=True).fill("2031-03-02T09:00")
    await form.get_by_label("Voting starts", exact=True).fill("2031-03-01T09:00")
    await form.get_by_role("button", name="Create the challenge").click()
    # htmx swaps the refused form in place: every error at once, each at its field, in words.
    alert = moderator.locator("#room-form-alert")
    await expect(alert).to_have_text("Please check the 4 fields marked below.")
    for name, words in (("slug", "use 3-64 lowercase letters"), ("title", "must not be empty"),
                        ("cover_url", "use an https:// image address"), ("voting_at", "must be after the opening")):
        field = moderator.locator(f"#room-form-{name}")
        await expect(field).to_have_attribute("aria-invalid", "true")
        await expect(field).to_have_accessible_description(re.compile(re.escape(words)))
    await expect(moderator.locator("#room-form .field-error")).to_have_count(4)
    assert "_at" not in (await moderator.locator("#room-form").inner_text())
    await expect(moderator.locator("#room-form-slug")).to_have_value("Not A Slug")  # what was typed stays
