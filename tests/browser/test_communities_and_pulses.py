"""Communities and HR pulses, end to end in Chromium against a real server.

1. test_employee_starts_a_community_and_a_colleague_joins_from_the_directory
2. test_admin_pulses_a_personas_followers_and_watches_the_answer_arrive
"""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import People, Site, live, mark, messages, not_reloaded, post

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]


async def test_employee_starts_a_community_and_a_colleague_joins_from_the_directory(site: Site,
                                                                                     people: People) -> None:
    slug = site.new_slug("cyclists")
    emil = await people.signed_in("employee")
    await emil.goto("/communities")
    await emil.get_by_role("button", name="Start a community").click()
    await emil.get_by_role("textbox", name="Name").fill("Cyclists")
    await emil.get_by_role("textbox", name="Address").fill(slug)
    await emil.get_by_role("textbox", name="Description").fill("We **ride** to work.")
    await emil.get_by_role("textbox", name="Tags").fill("Cycling")
    await emil.get_by_role("button", name="Start the community").click()
    await expect(emil).to_have_url(f"{site.url}/rooms/{slug}")
    await live(emil)
    await expect(emil.locator("#phase-banner")).to_contain_text("there are no phases")
    await post(emil, "Hello fellow cyclists")

    # A colleague finds it in the directory and joins in one click, without leaving the page.
    mo = await people.signed_in("moderator")
    await mo.goto("/communities")
    await mark(mo)
    card = mo.locator(f"#community-{slug}")
    await expect(card).to_contain_text("1 member")
    await card.get_by_role("button", name="Join").click()
    await expect(card).to_contain_text("2 members")
    await expect(card.get_by_role("button", name="Leave")).to_be_visible()
    await not_reloaded(mo)
    await card.get_by_role("link", name="Cyclists").click()
    await live(mo)
    await expect(messages(mo, "Hello fellow cyclists")).to_have_count(1)
    # And what the founder posts next arrives live.
    await mark(mo)
    await post(emil, "Welcome aboard, Mo!")
    await expect(messages(mo, "Welcome aboard, Mo!")).to_have_count(1)
    await not_reloaded(mo)


async def test_admin_pulses_a_personas_followers_and_watches_the_answer_arrive(site: Site, people: People) -> None:
    name = f"Night owl {site.new_slug('p')}"
    async with site.api("admin") as admin_api:
        created = await admin_api.post("/personas", json={"name": name, "portrait": "Works late."})
        assert created.status_code == 201, created.text
        persona = created.json()["id"]
    async with site.api("employee") as emil_api:
        assert (await emil_api.put("/me/personas", json={"follow": [persona]})).status_code == 200

    # The follower has the home page open; the pulse arrives there live.
    emil = await people.signed_in("employee")
    await emil.goto("/")
    await expect(emil.locator("#pulses")).to_be_visible()
    await emil.wait_for_function("document.querySelector('#notification-bell') !== null")
    await mark(emil)

    ada = await people.signed_in("admin")
    await ada.goto("/pulses/new")
    question = f"How rested are you? ({name})"
    await ada.get_by_role("textbox", name="Message").fill("Late shifts are *long*: tell us.")
    await ada.get_by_role("radio", name="A scale from 1 to 5").check()
    await ada.get_by_role("textbox", name="The question").fill(question)
    await ada.get_by_role("radio", name="The followers of these personas:").check()
    await ada.get_by_role("listbox", name="Personas").select_option(str(persona))
    await ada.get_by_role("button", name="Send the pulse").click()
    await expect(ada.locator(".pulse-results")).to_contain_text("0 answers of 1")
    await mark(ada)

    pulse = emil.locator("#pulses article.pulse").filter(has_text=question)
    await expect(pulse).to_have_count(1)
    await not_reloaded(emil)
    await pulse.get_by_role("radio", name="4").check()
    await pulse.get_by_role("button", name="Answer").click()
    answered = emil.locator("#pulses article.pulse").filter(has_text=question)
    await expect(answered).to_contain_text("Thank you for answering.")
    await expect(answered.locator(".pulse-results")).to_contain_text("1 answer of 1")

    # The sender's results changed live, without a reload.
    await expect(ada.locator(".pulse-results")).to_contain_text("1 answer of 1")
    await expect(ada.locator(".pulse-distribution td[data-count='1']")).to_have_count(1)
    await not_reloaded(ada)
