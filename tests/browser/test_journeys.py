"""The main journeys, end to end in real Chromium against a real server and OIDC provider.

1. test_admin_creates_a_room_with_voting_rules
2. test_moderator_invites_a_guest_who_sees_only_that_room
3. test_employee_and_guest_see_each_others_messages_live
4. test_guest_idea_and_employee_vote_update_the_tally_live
5. test_moderator_hides_a_guest_message_live
6. test_offline_employee_gets_every_missed_message_once_in_order
7. test_muted_member_composer_is_disabled_live_until_the_mute_ends
8. test_locking_an_idea_turns_its_composer_off_live_and_keeps_the_draft
9. test_a_vote_in_one_tab_updates_the_dots_left_in_the_other
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import expect

from tests.browser.conftest import (
    GUEST_ACCOUNTS,
    People,
    Site,
    in_room,
    join_as_guest,
    live,
    mark,
    messages,
    not_reloaded,
    post,
    sign_in,
)

# Long enough for the mute to reach the page before it ends, even on a busy machine.
MUTE_SECONDS = 8

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]


async def test_admin_creates_a_room_with_voting_rules(site: Site, people: People) -> None:
    page = await people.page()
    await page.goto("/rooms")
    await expect(page).to_have_url(re.compile(r"/login"))
    await sign_in(page, site.emails["admin"])

    await page.goto("/rooms")
    await page.get_by_role("button", name="New challenge").click()
    await expect(page.get_by_role("heading", name="New challenge")).to_be_visible()
    slug = site.new_slug("packaging")
    await page.get_by_label("Address", exact=True).fill(slug)
    await page.get_by_role("textbox", name="Title").fill("Less packaging")
    await page.get_by_role("textbox", name="Brief").fill("How might we ship with **half** the cardboard?")
    await page.get_by_role("radio", name="Dot voting").check()
    await page.get_by_role("spinbutton", name="Dots per member").fill("5")
    await page.get_by_role("spinbutton", name="At most on one idea").fill("2")
    await page.get_by_role("switch", name="Allow anonymous ideas").check()
    await page.get_by_role("radio", name="Open now").check()
    await page.get_by_role("button", name="Create the challenge").click()

    await page.wait_for_url(f"**/rooms/{slug}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Less packaging")
    await expect(page.locator(".room-header")).to_contain_text("Dot voting: 5 dots each, at most 2 per idea")
    await expect(page.locator(".room-header")).to_contain_text("anonymous ideas allowed")
    await expect(page.locator("#brief strong")).to_have_text("half")

    async with site.api("admin") as api:
        room = (await api.get(f"/rooms/{slug}")).json()
    assert room["phase"] == "open"
    assert room["voting"]["mode"] == "budget"
    assert (room["voting"]["budget"], room["voting"]["max_per_idea"], room["voting"]["allow_anonymous"]) == (5, 2, True)
    assert room["my_role"] == "moderator"

    await page.goto("/rooms")
    await expect(page.get_by_role("link", name="Less packaging")).to_be_visible()


async def test_moderator_invites_a_guest_who_sees_only_that_room(site: Site, people: People) -> None:
    room = await site.open_room("invite")
    elsewhere = await site.open_room("elsewhere")
    moderator = await people.signed_in("moderator")
    await moderator.goto(f"/rooms/{room['slug']}")
    await live(moderator)
    panel = moderator.locator("#invite-panel")
    await panel.get_by_role("button", name="Create invite link").click()
    link = panel.locator("#new-invite-url")
    await expect(link).to_be_visible()
    invite_url = (await link.text_content() or "").strip()
    assert invite_url.startswith(f"{site.url}/join/")

    account = site.new_guest()
    guest = await people.page()
    await guest.goto(invite_url)
    await expect(guest.get_by_role("heading", level=1)).to_have_text(f"Join “{room['title']}”")
    await join_as_guest(guest, invite_url, account)
    name = str(GUEST_ACCOUNTS[account]["name"])
    await expect(guest.get_by_role("heading", level=1)).to_have_text(room["title"])
    await expect(guest.locator(".site-header")).to_contain_text(f"{name} guest")
    # The moderator sees the guest arrive, live, with the guest badge.
    await expect(moderator.locator("#members li.member", has_text=name).locator(".badge.guest")).to_be_visible()

    # Only that room: their own directory ("My challenges"), no other room, a home page that
    # lists just this one.
    response = await guest.goto(f"/rooms/{elsewhere['slug']}")
    assert response is not None and response.status == 404
    for path in ("/rooms", "/"):
        await guest.goto(path)
        cards = guest.locator(".room-cards li")
        await expect(cards).to_have_count(1)
        await expect(cards).to_contain_text(room["title"])
        await expect(guest.get_by_role("link", name="Challenges", exact=True)).to_have_count(0)
        await expect(guest.get_by_role("link", name="My challenges", exact=True)).to_be_visible()
    listed = await guest.request.get("/api/v1/rooms")
    assert [r["slug"] for r in (await listed.json())["items"]] == [room["slug"]]


# Live discussion -------------------------------------------------------------------------------


async def test_employee_and_guest_see_each_others_messages_live(site: Site, people: People) -> None:
    room = await site.open_room("chat")
    slug = room["slug"]
    guest = await people.guest(await site.invite_url(slug), site.new_guest())
    await mark(guest)
    employee = await in_room(await people.signed_in("employee"), slug)

    await post(employee, "Hello from the warehouse team")
    await expect(messages(guest, "Hello from the warehouse team")).to_have_count(1)
    await post(guest, "Greetings from an outside expert")
    await expect(messages(employee, "Greetings from an outside expert")).to_have_count(1)
    await expect(messages(employee, "Greetings from an outside expert").locator(".badge.guest")).to_be_visible()

    # Each sees both, once each (a post's answer and its live event are one message), in order.
    for page in (employee, guest):
        await expect(messages(page)).to_have_count(2)
        await expect(messages(page)).to_contain_text(["Hello from the warehouse team", "Greetings from an outside expert"])
        await not_reloaded(page)


async def test_guest_idea_and_employee_vote_update_the_tally_live(site: Site, people: People) -> None:
    room = await site.open_room("ideas")
    slug = room["slug"]
    guest = await people.guest(await site.invite_url(slug), site.new_guest())
    await mark(guest)
    employee = await in_room(await people.signed_in("employee"), slug)

    form = guest.locator("#idea-form")
    await expect(form).to_be_visible()  # the board is empty, so the form starts open
    await form.get_by_role("textbox", name="Title").fill("Returnable crates")
    await form.get_by_role("textbox", name="Describe it").fill("Crates that go back on the next truck.")
    await form.get_by_role("button", name="Submit idea").click()
    card = guest.locator(".idea-card", has_text="Returnable crates")
    await expect(card).to_have_count(1)
    idea_id = (await card.get_attribute("id") or "").removeprefix("idea-")
    tally = guest.locator(f"#tally-{idea_id}")
    await expect(tally.locator(".t-score")).to_have_text("0")

    their_card = employee.locator(f"#idea-{idea_id}")
    await expect(their_card).to_contain_text("Returnable crates")  # arrived live
    await their_card.get_by_role("button", name="Vote up").click()
    await expect(their_card.get_by_role("button", name="Remove your up vote")).to_have_attribute("aria-pressed", "true")

    await expect(tally.locator(".t-score")).to_have_text("1")
    await expect(tally).to_contain_text("1 voter")
    await not_reloaded(guest)


async def test_moderator_hides_a_guest_message_live(site: Site, people: People) -> None:
    room = await site.open_room("hide")
    slug = room["slug"]
    guest = await people.guest(await site.invite_url(slug), site.new_guest())
    employee = await in_room(await people.signed_in("employee"), slug)
    moderator = await in_room(await people.signed_in("moderator"), slug)
    await post(guest, "Buy our crates at a discount, link in bio")
    for page in (employee, moderator):
        await expect(messages(page, "Buy our crates")).to_have_count(1)

    # The moderator tools are the moderator's alone.
    await expect(moderator.locator("#moderator-tools")).to_be_visible()
    for page in (employee, guest):
        await expect(page.locator("#moderator-tools")).to_have_count(0)
        await expect(messages(page, "Buy our crates").get_by_text("Hide…")).to_have_count(0)

    message = messages(moderator, "Buy our crates")
    await message.get_by_text("Hide…").click()
    await message.get_by_role("textbox", name="Reason").fill("Advertising")
    await message.get_by_role("button", name="Hide from members").click()

    # Gone from the employee's page, live; still there for the moderator, marked hidden.
    await expect(messages(employee, "Buy our crates")).to_have_count(0)
    hidden = moderator.locator("#thread-room li.message.state-hidden", has_text="Buy our crates")
    await expect(hidden).to_be_visible()
    await expect(hidden).to_contain_text("Hidden by a moderator: Advertising")
    await expect(hidden.get_by_role("button", name="Restore")).to_be_visible()
    # The author is told (without the text again), and nobody reloaded.
    message_id = await hidden.get_attribute("id")
    await expect(guest.locator(f"#{message_id}")).to_contain_text("Hidden by a moderator: Advertising. Only you and the moderators")
    await not_reloaded(employee)
    await not_reloaded(moderator)


async def test_offline_employee_gets_every_missed_message_once_in_order(site: Site, people: People) -> None:
    room = await site.open_room("offline")
    slug = room["slug"]
    employee = await people.signed_in("employee")
    sockets: list[str] = []
    employee.on("websocket", lambda socket: sockets.append(socket.url))
    await in_room(employee, slug)
    seq_before = int(await employee.locator("#room").get_attribute("data-last-seq") or "0")

    await employee.context.set_offline(True)
    await expect(employee.locator("#room")).to_have_attribute("data-live", "offline")
    await expect(employee.get_by_role("status").filter(has_text="You are offline")).to_be_visible()
    texts = [f"Missed update {n} of 5" for n in range(1, 6)]
    async with site.api("moderator") as mod:
        for text in texts:
            answer = await mod.post(f"/rooms/{slug}/messages", json={"body": text})
            assert answer.status_code == 201, answer.text

    await employee.context.set_offline(False)
    await expect(messages(employee)).to_have_count(5)
    await expect(messages(employee)).to_contain_text(texts)
    # It came back on a new socket that asked for what came after what it had. (Chromium may
    # hand over frames the old socket held before the page notices it is online again, so
    # the seq asked for is the one before going offline or a later one the page received.)
    seq_now = int(await employee.locator("#room").get_attribute("data-last-seq") or "0")
    resumed = [int(parse_qs(urlsplit(url).query)["after"][0]) for url in sockets[1:]]
    assert any(seq_before <= after <= seq_now for after in resumed), sockets
    await expect(employee.locator("#room")).to_have_attribute("data-live", "open")
    # A message sent after the replay arrives after anything the replay could still repeat:
    # once it is here, each missed message is still there exactly once.
    async with site.api("moderator") as mod:
        await mod.post(f"/rooms/{slug}/messages", json={"body": "Welcome back"})
    await expect(messages(employee, "Welcome back")).to_have_count(1)
    await expect(messages(employee)).to_have_count(6)
    await expect(messages(employee)).to_contain_text([*texts, "Welcome back"])
    await not_reloaded(employee)


async def test_muted_member_composer_is_disabled_live_until_the_mute_ends(site: Site, people: People) -> None:
    room = await site.open_room("mute")
    slug = room["slug"]
    employee = await in_room(await people.signed_in("employee"), slug)
    composer = employee.locator("#composer-room")
    textbox, send = composer.get_by_role("combobox", name="Your message"), composer.get_by_role("button", name="Send")
    await expect(textbox).to_be_editable()

    member_id = await site.member_id(slug, "Emil Employee")
    until = datetime.now(UTC) + timedelta(seconds=MUTE_SECONDS)
    async with site.api("moderator") as mod:
        answer = await mod.patch(f"/rooms/{slug}/members/{member_id}", json={"muted_until": until.isoformat()})
        assert answer.status_code == 200, answer.text

    await expect(textbox).to_be_disabled()
    await expect(send).to_be_disabled()
    await expect(composer.locator("[data-why]")).to_contain_text("You are muted until")
    # The mute ends by itself: the composer comes back without a reload.
    await expect(textbox).to_be_enabled(timeout=(MUTE_SECONDS + 15) * 1000)
    await expect(send).to_be_enabled()
    await expect(composer.locator("[data-why]")).to_be_hidden()
    await post(employee, "Thanks, I will keep it on topic")
    await not_reloaded(employee)


async def test_locking_an_idea_turns_its_composer_off_live_and_keeps_the_draft(site: Site, people: People) -> None:
    room = await site.open_room("lock")
    slug = room["slug"]
    async with site.api("moderator") as mod:
        answer = await mod.post(f"/rooms/{slug}/ideas", json={"title": "Night shuttles", "body": "For late shifts."})
        assert answer.status_code == 201, answer.text
        idea_id = answer.json()["id"]
    employee = await people.signed_in("employee")
    await employee.goto(f"/rooms/{slug}/ideas/{idea_id}")
    await live(employee)
    await mark(employee)
    composer = employee.locator(f"#composer-idea-{idea_id}")
    textbox = composer.get_by_role("combobox", name="Your comment")
    await textbox.fill("A draft the lock must not eat")

    async with site.api("moderator") as mod:
        assert (await mod.post(f"/ideas/{idea_id}/lock", json={"reason": "cooling down"})).status_code == 200
    await expect(textbox).to_be_disabled()
    await expect(composer.locator("[data-why]")).to_contain_text("A moderator locked this discussion")
    await expect(textbox).to_have_value("A draft the lock must not eat")

    async with site.api("moderator") as mod:
        assert (await mod.post(f"/ideas/{idea_id}/unlock", json={})).status_code == 200
    await expect(textbox).to_be_enabled()
    await expect(composer.locator("[data-why]")).to_be_hidden()
    await expect(textbox).to_have_value("A draft the lock must not eat")
    await not_reloaded(employee)


async def test_a_vote_in_one_tab_updates_the_dots_left_in_the_other(site: Site, people: People) -> None:
    room = await site.open_room("dots", voting_mode="budget", budget=5, max_per_idea=2)
    slug = room["slug"]
    async with site.api("moderator") as mod:
        answer = await mod.post(f"/rooms/{slug}/ideas", json={"title": "Shared vans", "body": "Pool the fleet."})
        assert answer.status_code == 201, answer.text
        idea_id = answer.json()["id"]
    first = await in_room(await people.signed_in("employee"), slug)
    second = await in_room(await people.signed_in("employee"), slug)
    await expect(second.locator("#budget-left")).to_contain_text("5 of 5")

    await first.locator(f"#idea-{idea_id}").get_by_role("button", name="Add a dot").click()
    await expect(first.locator("#budget-left")).to_contain_text("4 of 5")
    # The other tab hears of it live: its buttons for that idea and its dots left follow.
    await expect(second.locator("#budget-left")).to_contain_text("4 of 5")
    await expect(second.locator(f"#idea-{idea_id}")).to_contain_text("Your dots: 1 of 2")
    await not_reloaded(second)
