"""Reading and posting in a room, in real Chromium: the details that make the live discussion
pleasant and accessible (optimistic posts, inline errors, loading states, unread markers,
"New messages", announcements for screen readers, empty states, local times, the keyboard)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Locator, Page, Route, expect

from innovate.i18n import use_locale
from innovate.i18n.formatting import format_datetime
from tests.browser.conftest import People, Site, in_room, messages, not_reloaded, post

UNREAD = re.compile(r"(^|\s)unread(\s|$)")

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]


def composer(page: Page) -> tuple[Locator, Locator, Locator]:
    form = page.locator("#composer-room")
    return form, form.get_by_role("combobox", name="Your message"), form.get_by_role("button", name="Send")


async def test_a_post_shows_at_once_and_becomes_one_message(site: Site, people: People) -> None:
    room = await site.open_room("optimistic")
    slug = room["slug"]
    employee = await in_room(await people.signed_in("employee"), slug)
    await expect(employee.locator("#empty-room")).to_contain_text("No messages yet")

    # Hold the post's answer: the server has the message (and publishes its live event), the
    # page does not have the answer yet.
    answer_may_go = asyncio.Event()

    async def hold_answer(route: Route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        response = await route.fetch()
        await answer_may_go.wait()
        await route.fulfill(response=response)

    await employee.route(f"**/rooms/{slug}/messages", hold_answer)
    form, textbox, send = composer(employee)
    await textbox.fill("Could we pilot crates in Leipzig?\nThey volunteered.")
    # The live event can replace the message on its way within milliseconds, before any
    # polling assertion looks: a watcher in the page records it as it appears.
    await employee.evaluate("""() => {
        window.pendingSeen = null;
        const thread = document.querySelector("#thread-room");
        new MutationObserver(() => {
            const mine = thread.querySelector("li.message.pending");
            if (mine && window.pendingSeen === null) window.pendingSeen = mine.textContent;
        }).observe(thread, {childList: true, subtree: true});
    }""")
    await send.click()

    # At once: the message on its way, a busy composer, no empty-thread notice.
    pending = employee.locator("#thread-room li.message.pending")
    await employee.wait_for_function("window.pendingSeen !== null")
    assert "Could we pilot crates in Leipzig?" in await employee.evaluate("window.pendingSeen")
    await expect(form.locator(".busy")).to_be_visible()
    await expect(employee.locator("#empty-room")).to_be_hidden()
    # The live event arrives first: it takes the pending message's place.
    await expect(messages(employee, "Could we pilot crates")).to_have_count(1)
    await expect(pending).to_have_count(0)

    answer_may_go.set()
    await expect(textbox).to_have_value("")
    await expect(textbox).to_be_editable()
    await expect(messages(employee, "Could we pilot crates")).to_have_count(1)
    await expect(messages(employee)).to_have_count(1)
    await expect(employee.locator("#empty-room")).to_have_count(0)
    await not_reloaded(employee)


async def test_a_refused_post_explains_itself_in_the_composer(site: Site, people: People) -> None:
    room = await site.open_room("refused")
    employee = await in_room(await people.signed_in("employee"), room["slug"])
    form, textbox, send = composer(employee)
    # More links than one post may carry (10): the server answers 422 for the body field.
    text = "Sources: " + " ".join(f"https://example.com/report-{n}" for n in range(11))
    await textbox.fill(text)
    await send.click()

    error = form.locator(".field-error")
    await expect(error).to_contain_text("has 11 links")
    await expect(textbox).to_have_attribute("aria-invalid", "true")
    await expect(textbox).to_have_attribute("aria-describedby", await error.get_attribute("id") or "")
    await expect(textbox).to_be_focused()
    await expect(textbox).to_have_value(text)  # nothing typed is lost
    await expect(employee.locator("#thread-room li.message.pending")).to_have_count(0)
    await expect(messages(employee)).to_have_count(0)
    await expect(employee.locator("#empty-room")).to_be_visible()

    # Fixed and sent again, the error goes.
    await textbox.fill("Sources: https://example.com/report-1")
    await send.click()
    await expect(messages(employee, "Sources")).to_have_count(1)
    await expect(form.locator(".field-error")).to_have_count(0)


async def test_unread_markers_new_messages_button_and_announcements(site: Site, people: People) -> None:
    room = await site.open_room("unread")
    slug = room["slug"]
    async with site.api("moderator") as mod:
        for n in range(1, 21):
            await mod.post(f"/rooms/{slug}/messages", json={"body": f"Earlier note {n}: " + "details " * 12})
    employee = await in_room(await people.signed_in("employee"), slug)
    await expect(employee.locator("#thread-room li.message.unread")).to_have_count(0)  # a first visit

    # Scrolled up to read, a new message is marked, offered by a button, and announced.
    await employee.locator(".thread-scroll").evaluate("el => { el.scrollTop = 0; }")
    async with site.api("moderator") as mod:
        await mod.post(f"/rooms/{slug}/messages", json={"body": "Fresh news from the pilot site"})
    fresh = messages(employee, "Fresh news from the pilot site")
    await expect(fresh).to_have_class(UNREAD)
    await expect(employee.locator("#thread-room .unread-divider + li.message")).to_contain_text("Fresh news")
    await expect(employee.locator("#live-announcer")).to_have_text("New message from Mo Moderator in the discussion.")
    jump = employee.get_by_role("button", name="New messages")
    await expect(jump).to_be_visible()
    await jump.click()
    await expect(fresh).to_be_in_viewport()
    await expect(fresh).not_to_have_class(UNREAD)  # read once seen
    await expect(jump).to_be_hidden()

    # Away from the room, two more arrive; coming back, they (and only they) are unread.
    await employee.goto("/")
    async with site.api("moderator") as mod:
        for text in ("While you were away 1", "While you were away 2"):
            await mod.post(f"/rooms/{slug}/messages", json={"body": text})
    await in_room(employee, slug)
    divider = employee.locator("#thread-room .unread-divider")
    await expect(divider).to_have_count(1)
    await expect(employee.locator("#thread-room .unread-divider + li.message")).to_contain_text("While you were away 1")
    await expect(employee.locator("#thread-room li.message.unread, #thread-room li.message.was-unread")).to_have_count(2)
    # Posting means the reader has caught up: the divider goes.
    await post(employee, "Thanks, catching up now")
    await expect(divider).to_have_count(0)


async def test_empty_states_give_way_to_live_content_in_local_time(site: Site, people: People) -> None:
    voting_at = datetime.now(UTC) + timedelta(hours=3)
    room = await site.open_room("empty", voting_at=voting_at.isoformat())
    slug = room["slug"]
    employee = await in_room(await people.signed_in("employee", timezone_id="Asia/Tokyo"), slug)
    # The phase banner counts down to the next phase, at the reader's local time (the zone the
    # browser told at sign-in), worded in the reader's language.
    await expect(employee.locator("#phase-banner [data-countdown]")).to_have_text(re.compile(r"^in (2 h 5\d|3 h 0) min$"))
    with use_locale("en", ZoneInfo("Asia/Tokyo")):
        local = format_datetime(voting_at)
    await expect(employee.locator("#phase-banner .phase-next time")).to_have_text(local)
    await expect(employee.locator("#empty-room")).to_contain_text("Say hello")
    await expect(employee.locator("#ideas-board")).to_contain_text("No ideas yet")

    async with site.api("moderator") as mod:
        await mod.post(f"/rooms/{slug}/messages", json={"body": "Welcome, everyone"})
        await mod.post(f"/rooms/{slug}/ideas", json={"title": "Paper tape", "body": "Recyclable with the box."})
    await expect(messages(employee, "Welcome, everyone")).to_have_count(1)
    await expect(employee.locator("#empty-room")).to_have_count(0)
    await expect(employee.locator(".idea-card", has_text="Paper tape")).to_be_visible()
    await expect(employee.locator("#ideas-board")).not_to_contain_text("No ideas yet")

    # Times are shown in the reader's zone (Tokyo here), with the exact UTC time on hover.
    stamp = messages(employee, "Welcome, everyone").locator("time")
    iso = await stamp.get_attribute("datetime") or ""
    with use_locale("en", ZoneInfo("Asia/Tokyo")):
        await expect(stamp).to_have_text(format_datetime(iso))
    await expect(stamp).to_have_attribute("title", iso)


async def test_the_room_works_from_the_keyboard_with_visible_focus(site: Site, people: People) -> None:
    room = await site.open_room("keyboard")
    slug = room["slug"]
    employee = await in_room(await people.signed_in("employee"), slug)

    await employee.keyboard.press("Tab")
    skip = employee.get_by_role("link", name="Skip to content")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()
    assert await focus_ring(employee), "the skip link shows no focus indicator"
    await employee.keyboard.press("Enter")
    await expect(employee.locator("#main")).to_be_focused()

    # Tab through the page to the composer; every stop shows where the focus is.
    textbox = employee.locator("#composer-room textarea")
    for _ in range(60):
        await employee.keyboard.press("Tab")
        assert await focus_ring(employee), f"no visible focus on {await focused(employee)}"
        if await textbox.evaluate("el => el === document.activeElement"):
            break
    await expect(textbox).to_be_focused()
    await employee.keyboard.type("Typed without a mouse")
    await employee.keyboard.press("Control+Enter")
    await expect(messages(employee, "Typed without a mouse")).to_have_count(1)
    await expect(textbox).to_have_value("")


async def focused(page: Page) -> str:
    return await page.evaluate("() => document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : ''")


async def focus_ring(page: Page) -> bool:
    """The focused element draws an outline or a focus shadow (what :focus-visible styles do)."""
    return await page.evaluate("""() => {
        const el = document.activeElement;
        if (!el || el === document.body) return false;
        const style = getComputedStyle(el);
        const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
        const shadow = style.boxShadow && style.boxShadow !== "none";
        return outline || shadow;
    }""")
