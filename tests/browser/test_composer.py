"""The message box at its edges, in real Chromium: a send that fails while offline, drafts that
outlive a reload (a reply's with whom it answers), the offline banner, the keyboard (Enter, Shift+Enter, Escape, the skip link,
the focus after sending) and posts longer than the limit."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import People, Site, in_room, live, messages, not_reloaded

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]

LIMIT = 5000


def composer(page: Page) -> tuple[Locator, Locator, Locator]:
    form = page.locator("#composer-room")
    return form, form.get_by_role("combobox", name="Your message"), form.get_by_role("button", name="Send")


async def test_a_send_that_failed_offline_recovers_and_the_draft_outlives_a_reload(site: Site, people: People) -> None:
    room = await site.open_room("train")
    other = await site.open_room("other-train")
    slug = room["slug"]
    employee = await in_room(await people.signed_in("employee"), slug)
    form, textbox, send = composer(employee)

    # A draft is kept in the browser: a reload does not lose it, another room does not get it.
    await textbox.fill("Written in a tunnel")
    await employee.reload()
    await live(employee)
    await expect(textbox).to_have_value("Written in a tunnel")
    await in_room(employee, other["slug"])
    await expect(textbox).to_have_value("")
    await in_room(employee, slug)
    await expect(textbox).to_have_value("Written in a tunnel")

    # Offline: a clear, polite banner with the time of the last update.
    await employee.context.set_offline(True)
    banner = employee.get_by_role("status").filter(has_text="You are offline")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text(re.compile(r"Last update at \d\d:\d\d"))
    await expect(banner).to_have_attribute("aria-live", "polite")

    # Sending fails and says so; the text stays.
    await textbox.fill("Written in a tunnel, sent in the dark")
    await send.click()
    await expect(form.get_by_role("alert")).to_contain_text("Your message was not sent")
    await expect(textbox).to_have_value("Written in a tunnel, sent in the dark")

    # Back online, the banner goes and the composer works again by itself.
    await employee.context.set_offline(False)
    await expect(employee.locator("#room")).to_have_attribute("data-live", "open")
    await expect(employee.locator("#connection-banner")).to_be_hidden()
    await expect(employee.locator("#connection-banner")).to_have_text("")
    await expect(send).not_to_have_attribute("aria-busy", "true")
    await expect(send).to_be_enabled()
    await expect(form.locator(".busy")).to_be_hidden()
    await send.click()
    await expect(messages(employee, "sent in the dark")).to_have_count(1)
    await expect(textbox).to_have_value("")
    await not_reloaded(employee)

    # Sent, the draft is gone.
    await employee.reload()
    await live(employee)
    await expect(messages(employee, "sent in the dark")).to_have_count(1)
    await expect(textbox).to_have_value("")


async def test_enter_sends_shift_enter_adds_a_line_and_the_focus_stays(site: Site, people: People) -> None:
    room = await site.open_room("keys")
    slug = room["slug"]
    async with site.api("moderator") as mod:
        await mod.post(f"/rooms/{slug}/messages", json={"body": "Who has tried reusable crates?"})
    employee = await in_room(await people.signed_in("employee"), slug)
    form, textbox, send = composer(employee)
    await expect(form.locator(".composer-hint")).to_have_text("Enter sends · Shift+Enter: new line")

    await textbox.click()
    await employee.keyboard.type("First line")
    await employee.keyboard.press("Shift+Enter")
    await employee.keyboard.type("second line")
    await expect(textbox).to_have_value("First line\nsecond line")
    await employee.keyboard.press("Enter")
    sent = messages(employee, "First line")
    await expect(sent).to_have_count(1)
    await expect(sent.locator(".message-body")).to_contain_text("second line")
    await expect(textbox).to_have_value("")
    await expect(textbox).to_be_focused()  # the next message can follow at once

    # The Send button and Ctrl+Enter leave the cursor in the box too.
    await textbox.fill("Sent with the button")
    await send.click()
    await expect(messages(employee, "Sent with the button")).to_have_count(1)
    await expect(textbox).to_be_focused()
    await employee.keyboard.type("Sent with Ctrl+Enter")
    await employee.keyboard.press("Control+Enter")
    await expect(messages(employee, "Sent with Ctrl+Enter")).to_have_count(1)
    await expect(textbox).to_be_focused()

    # Escape cancels a reply.
    await messages(employee, "reusable crates").get_by_role("link", name="Reply").click()
    replying = form.locator("[data-replying]")
    await expect(replying).to_contain_text("Replying to Mo Moderator")
    await expect(textbox).to_be_focused()
    await employee.keyboard.press("Escape")
    await expect(replying).to_be_hidden()
    await expect(form.locator("[data-reply-field]")).to_have_value("")
    await expect(textbox).to_be_focused()
    await employee.keyboard.type("Not a reply after all")
    await employee.keyboard.press("Enter")
    plain = messages(employee, "Not a reply after all")
    await expect(plain).to_have_count(1)
    await expect(plain.locator(".reply-ref")).to_have_count(0)


async def test_a_draft_written_as_a_reply_keeps_whom_it_answers(site: Site, people: People) -> None:
    room = await site.open_room("reply-draft")
    slug = room["slug"]
    async with site.api("moderator") as mod:
        asked = await mod.post(f"/rooms/{slug}/messages", json={"body": "Which depots still use pallets?"})
        assert asked.status_code == 201, asked.text
    question_id = str(asked.json()["id"])
    employee = await in_room(await people.signed_in("employee"), slug)
    form, textbox, send = composer(employee)
    replying, field = form.locator("[data-replying]"), form.locator("[data-reply-field]")

    # Written as a reply, the draft outlives a reload with its reply target.
    await messages(employee, "still use pallets").get_by_role("link", name="Reply").click()
    await textbox.fill("Hamburg and Lyon")
    await employee.reload()
    await live(employee)
    await expect(textbox).to_have_value("Hamburg and Lyon")
    await expect(replying).to_be_visible()
    await expect(replying).to_contain_text("Replying to Mo Moderator")
    await expect(field).to_have_value(question_id)

    # A send that fails offline keeps it too; back online, it goes as the reply it was.
    await employee.context.set_offline(True)
    await send.click()
    await expect(form.get_by_role("alert")).to_contain_text("Your message was not sent")
    await employee.context.set_offline(False)
    await expect(employee.locator("#room")).to_have_attribute("data-live", "open")
    await expect(replying).to_contain_text("Replying to Mo Moderator")
    await expect(send).to_be_enabled()
    await send.click()
    answer = messages(employee, "Hamburg and Lyon")
    await expect(answer).to_have_count(1)
    await expect(answer.locator(".reply-ref")).to_have_count(1)

    # Sent, the reply target goes with the draft: the next message is not a reply.
    await employee.reload()
    await live(employee)
    await expect(replying).to_be_hidden()
    await expect(field).to_have_value("")
    await expect(textbox).to_have_value("")

    # A cancelled reply is forgotten, the text kept.
    await messages(employee, "still use pallets").get_by_role("link", name="Reply").click()
    await textbox.fill("On second thoughts, a new topic")
    await form.get_by_role("link", name="Cancel reply").click()
    await expect(replying).to_be_hidden()
    await employee.reload()
    await live(employee)
    await expect(textbox).to_have_value("On second thoughts, a new topic")
    await expect(replying).to_be_hidden()
    await expect(field).to_have_value("")


async def test_skip_to_discussion_lands_in_the_message_box(site: Site, people: People) -> None:
    room = await site.open_room("skip")
    employee = await in_room(await people.signed_in("employee"), room["slug"])
    await employee.keyboard.press("Tab")
    await expect(employee.get_by_role("link", name="Skip to content")).to_be_focused()
    await employee.keyboard.press("Tab")
    skip = employee.get_by_role("link", name="Skip to discussion")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()
    await employee.keyboard.press("Enter")
    _, textbox, _ = composer(employee)
    await expect(textbox).to_be_focused()
    await employee.keyboard.type("Two key presses away")
    await employee.keyboard.press("Enter")
    await expect(messages(employee, "Two key presses away")).to_have_count(1)


async def test_a_post_over_the_limit_is_refused_with_the_reason_and_kept(site: Site, people: People) -> None:
    room = await site.open_room("long")
    slug = room["slug"]
    employee = await in_room(await people.signed_in("employee"), slug)
    form, textbox, send = composer(employee)
    counter = form.locator(".length-counter")

    await textbox.fill("x" * 4000)
    await expect(counter).to_be_hidden()  # far from the limit, no counter
    await textbox.fill("x" * 4600)
    await expect(counter).to_be_visible()
    await expect(counter).to_contain_text("400 characters left")
    long_text = "Our pilot report. " + "y" * (LIMIT + 20 - len("Our pilot report. "))
    await textbox.fill(long_text)
    await expect(textbox).to_have_value(long_text)  # nothing is cut off while typing or pasting
    await expect(counter).to_contain_text("20 characters too many (at most 5,000)")
    await expect(counter).to_have_class(re.compile(r"\bover\b"))

    await send.click()
    error = form.locator(".field-error")
    await expect(error).to_contain_text(f"at most {LIMIT} characters (got {LIMIT + 20})")
    await expect(textbox).to_have_attribute("aria-invalid", "true")
    await expect(textbox).to_have_value(long_text)  # nothing typed is lost
    await expect(textbox).to_be_focused()
    await expect(messages(employee)).to_have_count(0)

    # The API refuses the same way, naming the field.
    async with site.api("employee") as api:
        answer = await api.post(f"/rooms/{slug}/messages", json={"body": long_text})
    assert answer.status_code == 422, answer.text
    assert "body" in answer.json()["error"]["fields"], answer.text

    # Shortened, it goes; the counter goes with the text.
    await textbox.fill(long_text[:LIMIT])
    await expect(counter).to_contain_text("0 characters left")
    await send.click()
    await expect(messages(employee, "Our pilot report")).to_have_count(1)
    await expect(counter).to_be_hidden()


async def test_mentions_suggest_members_of_this_room_as_a_combobox(site: Site, people: People) -> None:
    room = await site.open_room("mentions")
    slug = room["slug"]
    elsewhere = await site.open_room("mentions-elsewhere")
    async with site.api("admin") as admin:  # Ada is in another room only
        joined = await admin.post(f"/rooms/{elsewhere['slug']}/join")
        assert joined.status_code == 200, joined.text
    guest = await people.guest(await site.invite_url(slug), site.new_guest())
    form, textbox, _ = composer(guest)
    listbox = form.get_by_role("listbox", name="Members to mention")

    await textbox.click()
    await guest.keyboard.type("Thanks @mo")
    await expect(listbox).to_be_visible()
    await expect(textbox).to_have_attribute("role", "combobox")
    await expect(textbox).to_have_attribute("aria-expanded", "true")
    await expect(textbox).to_have_attribute("aria-controls", await listbox.get_attribute("id") or "")
    options = listbox.get_by_role("option")
    await expect(options).to_have_count(1)
    await expect(options.first).to_contain_text("Mo Moderator @momoderator")
    await expect(options.first).to_have_attribute("aria-selected", "true")
    await expect(textbox).to_have_attribute("aria-activedescendant", await options.first.get_attribute("id") or "")
    await guest.keyboard.press("Enter")  # takes the suggestion; does not send
    await expect(textbox).to_have_value("Thanks @momoderator ")
    await expect(listbox).to_be_hidden()
    await expect(textbox).to_have_attribute("aria-expanded", "false")

    # Everyone of this room, and only them: Ada (another room) is never offered to the guest.
    await guest.keyboard.type("and @")
    await expect(options).to_have_count(2)
    await expect(options).to_have_text([re.compile("Emil Employee"), re.compile("Mo Moderator")])
    await guest.keyboard.press("ArrowDown")
    await expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    await guest.keyboard.press("Escape")  # closes the list, keeps the text
    await expect(listbox).to_be_hidden()
    async with guest.expect_response(lambda r: "/mentions?" in r.url and "q=ad" in r.url) as asked:
        await guest.keyboard.type("ad")
    assert (await (await asked.value).json())["items"] == []
    await expect(listbox).to_be_hidden()
    await guest.keyboard.press("Backspace")
    await guest.keyboard.press("Backspace")
    await guest.keyboard.type("em")
    await expect(options).to_have_count(1)
    await options.first.click()
    await expect(textbox).to_have_value("Thanks @momoderator and @emilemployee ")
    await expect(textbox).to_be_focused()
    await guest.keyboard.type("for the tour")
    await guest.keyboard.press("Enter")

    # The mention links sit in the line of text (Pico's side-menu rule made them blocks).
    sent = messages(guest, "for the tour")
    await expect(sent).to_have_count(1)
    mention = sent.locator("a.mention", has_text="@momoderator")
    await expect(mention).to_have_css("display", "inline")
    body = sent.locator(".message-body p")
    line_height = float((await body.evaluate("p => getComputedStyle(p).lineHeight")).removesuffix("px"))
    text_box, link_box = await body.bounding_box(), await mention.bounding_box()
    assert text_box is not None and link_box is not None
    assert link_box["y"] - text_box["y"] < line_height / 2, "the mention went onto a line of its own"


async def test_a_long_idea_is_counted_and_refused_not_cut(site: Site, people: People) -> None:
    room = await site.open_room("long-idea")
    employee = await in_room(await people.signed_in("employee"), room["slug"])
    form = employee.locator("#idea-form")  # open: the room has no ideas yet
    body = form.get_by_label("Describe it")
    await form.get_by_role("textbox", name="Title").fill("A very thorough proposal")
    text = "z" * 10_005
    await body.fill(text)
    await expect(body).to_have_value(text)  # nothing cut off
    await expect(form.locator(".length-counter")).to_contain_text("5 characters too many (at most 10,000)")
    await form.get_by_role("button", name="Submit idea").click()
    await expect(form.locator(".field-error")).to_contain_text("at most 10000 characters (got 10005)")
    await expect(body).to_have_value(text)
    await expect(employee.locator(".idea-card", has_text="A very thorough proposal")).to_have_count(0)
