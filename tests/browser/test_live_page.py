"""The live side of a room page in real Chromium: presence, typing, and catching up after the
socket was away (live.js rewrites the reconnect URL with the last seq it has)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import People, Site, live

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]

# hx-ws closes the socket of a hidden tab and opens a new one when it is shown again; the
# test plays that by overriding document.hidden.
SET_HIDDEN = """hidden => {
  Object.defineProperty(document, "hidden", {value: hidden, configurable: true});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


async def test_a_room_page_shows_who_is_here_who_is_typing_and_catches_up(site: Site, people: People) -> None:
    room = await site.open_room("live-page")
    slug = room["slug"]
    employee = await people.signed_in("employee")
    moderator = await people.signed_in("moderator")
    sockets: list[str] = []
    employee.on("websocket", lambda ws: sockets.append(ws.url))
    for page in (employee, moderator):
        await page.goto(f"/rooms/{slug}")
        await live(page)
    mo_id = await site.member_id(slug, "Mo Moderator")

    # Presence: the moderator's dot in the employee's member list lights up.
    await expect(employee.locator(f"#presence-{mo_id}")).to_have_attribute("data-presence", "online")

    # Typing in a composer shows on the other page, under that thread.
    await moderator.locator("#composer-room textarea").fill("Thinking out loud…")
    await expect(employee.locator("#typing-room")).to_have_text("Mo Moderator is typing…")

    # A post while connected moves the page's seq on; the reconnect below must ask for what
    # came after it, not after the seq the page was rendered with.
    async with site.api("moderator") as api:
        first = (await api.post(f"/rooms/{slug}/messages", json={"body": "Before the break"})).json()
    await expect(employee.locator(f"#message-{first['id']}")).to_have_count(1)
    seq_before = await employee.locator("#room").get_attribute("data-last-seq")
    assert seq_before is not None and int(seq_before) > room["last_seq"]

    # Away and back: what was posted meanwhile arrives once, in order, and the page's seq follows.
    await employee.evaluate(SET_HIDDEN, True)
    await expect(employee.locator("#room")).not_to_have_attribute("data-live", "open")
    posted: list[dict[str, Any]] = []
    async with site.api("moderator") as api:
        for n in range(3):
            answer = await api.post(f"/rooms/{slug}/messages", json={"body": f"While you were away {n}"})
            assert answer.status_code == 201, answer.text
            posted.append(answer.json())
        last_seq = (await api.get(f"/rooms/{slug}")).json()["last_seq"]
    await employee.evaluate(SET_HIDDEN, False)
    await live(employee)
    assert sockets[-1].endswith(f"/rooms/{slug}/live?after={seq_before}"), sockets
    for message in posted:
        await expect(employee.locator(f"#message-{message['id']}")).to_have_count(1)
    await expect(employee.locator("#room")).to_have_attribute("data-last-seq", str(last_seq))
    bodies = await employee.locator("#thread-room li.message .message-body").all_inner_texts()
    assert [b.strip() for b in bodies][-3:] == [f"While you were away {n}" for n in range(3)]
