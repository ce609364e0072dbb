"""axe-core on the main pages (WCAG 2.1 A and AA rules): no serious or critical violations.

The pages are shown with real content: a room with a brief, ideas with votes, a discussion
with a guest, a post awaiting review and a report. The same visits save the screenshots
that the README shows (``make screenshots`` copies them to docs/screenshots/).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from tests.browser.conftest import AXE, People, Site, live, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
PHONE = {"width": 390, "height": 844}

BRIEF = """Our warehouses ship **40,000 parcels** a day. How might we cut packaging waste by half
within a year, without slowing deliveries down?

- Think about returns as well as outbound parcels.
- Ideas that need a pilot site are welcome: Leipzig volunteered.
"""


@dataclass
class Showcase:
    slug: str
    idea_id: int
    invite_url: str
    states: dict[str, Any]
    community: str  # open by request: the employee asked to join, the moderator owns it  # who -> Playwright storage state (cookies) of a signed-in context


async def _post(page: Page, text: str) -> None:
    composer = page.locator("#composer-room")
    await composer.get_by_label("Your message", exact=True).fill(text)
    await composer.get_by_role("button", name="Send").click()
    await expect(composer.get_by_label("Your message", exact=True)).to_have_value("")


async def done(request: Awaitable[httpx.Response]) -> dict[str, Any]:
    response = await request
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def showcase(site: Site, browser: Any) -> AsyncIterator[Showcase]:
    """A lived-in room: made through the API and one guest's browser."""
    room = await site.open_room("warehouse", title="Warehouse of the future", brief=BRIEF, premoderation="first_n")
    slug = room["slug"]
    async with site.api("employee") as emp, site.api("moderator") as mod:
        await done(mod.patch(f"/rooms/{slug}", json={"premoderation_first_n": 1}))  # the guest's first post waits
        crates = await done(emp.post(f"/rooms/{slug}/ideas", json={
            "title": "Returnable crates for regular customers",
            "body": "Sturdy crates that the driver collects on the next delivery."}))
        await done(emp.post(f"/rooms/{slug}/ideas", json={
            "title": "Right-sized boxes", "body": "Cut each box to the parcel's size on the packing line."}))
        tape = await done(mod.post(f"/rooms/{slug}/ideas", json={
            "title": "Paper tape instead of plastic", "body": "Recyclable with the box itself."}))
        for api in (emp, mod):
            await done(api.put(f"/ideas/{crates['id']}/vote", json={"value": 1}))
        await done(mod.post(f"/rooms/{slug}/messages", json={
            "body": "Welcome! Read the brief, then share your first thoughts."}))
        first = await done(emp.post(f"/rooms/{slug}/messages", json={
            "body": "Returns are half our volume. Could the crates work for returns too?"}))
        await done(mod.post(f"/rooms/{slug}/messages", json={
            "body": "Good question, let us ask the logistics team.", "reply_to": first["id"]}))
        await done(emp.post(f"/rooms/{slug}/messages", json={"body": "Leipzig could pilot it in **March**."}))
        await done(emp.post("/reports", json={"idea_id": tape["id"], "reason": "We tried this in 2023, see the archive"}))
        invite_url = await site.invite_url(slug)
        community = site.new_slug("book-club")
        await done(mod.post("/rooms", json={"kind": "community", "slug": community, "title": "Book club",
                                             "brief": "One novel a month.", "visibility": "by-request"}))
        await done(emp.post(f"/communities/{community}/requests", json={"message": "I read a lot."}))

    people = People(site, browser)
    try:
        guest = await people.guest(invite_url, site.new_guest())
        await _post(guest, "I ran a crate pilot at a retailer; happy to share what we learned.")
        states = {"guest": await guest.context.storage_state()}
        for who in ("moderator", "employee"):
            page = await people.signed_in(who)
            states[who] = await page.context.storage_state()
    finally:
        await people.close()
    # A second, unused link for the signed-out invite page.
    yield Showcase(slug=slug, idea_id=crates["id"], invite_url=await site.invite_url(slug), states=states,
                   community=community)


@dataclass(frozen=True)
class Visit:
    name: str
    who: str | None  # None: signed out
    path: str  # formatted with slug, idea_id, invite_url
    phone: bool = False
    dark: bool = False
    screenshot: str | None = None


VISITS = [
    Visit("sign-in", None, "/login", screenshot="sign-in"),
    Visit("invite", None, "{invite_url}", screenshot="invite"),
    Visit("home", "employee", "/"),
    Visit("home-phone", "employee", "/", phone=True),
    Visit("room-directory", "moderator", "/rooms", screenshot="room-directory"),
    Visit("new-challenge", "moderator", "/rooms/new"),
    Visit("room", "moderator", "/rooms/{slug}", screenshot="room"),
    Visit("room-guest", "guest", "/rooms/{slug}"),
    Visit("room-phone", "employee", "/rooms/{slug}", phone=True, screenshot="room-phone"),
    Visit("room-moderator-phone", "moderator", "/rooms/{slug}", phone=True),
    Visit("room-dark", "employee", "/rooms/{slug}", dark=True),
    Visit("idea", "employee", "/rooms/{slug}/ideas/{idea_id}", screenshot="idea"),
    Visit("moderation-queue", "moderator", "/rooms/{slug}/moderation", screenshot="moderation-queue"),
    Visit("invite-links", "moderator", "/rooms/{slug}/invites"),
    Visit("insights", "moderator", "/rooms/{slug}/insights", screenshot="insights"),
    # The room, idea, inbox, invite and moderation pages at a phone's width too.
    Visit("idea-phone", "employee", "/rooms/{slug}/ideas/{idea_id}", phone=True),
    Visit("inbox", "employee", "/notifications"),
    Visit("inbox-phone", "employee", "/notifications", phone=True),
    Visit("invite-phone", None, "{invite_url}", phone=True),
    Visit("invite-links-phone", "moderator", "/rooms/{slug}/invites", phone=True),
    Visit("moderation-queue-phone", "moderator", "/rooms/{slug}/moderation", phone=True),
    # Where guests used to get stuck: their own challenges, and leaving.
    Visit("my-challenges", "guest", "/rooms"),
    Visit("leave-guest-phone", "guest", "/rooms/{slug}/leave", phone=True),
    Visit("expert-reviews", "moderator", "/rooms/{slug}/reviews"),
    Visit("review-queue-phone", "guest", "/rooms/{slug}/reviews/queue", phone=True),
    Visit("communities", "employee", "/communities"),
    Visit("communities-phone", "employee", "/communities", phone=True),
    Visit("new-community", "employee", "/communities/new"),
    Visit("community-by-request", "employee", "/communities/{community}"),
    Visit("join-requests", "moderator", "/rooms/{community}/requests"),
    Visit("join-requests-phone", "moderator", "/rooms/{community}/requests", phone=True),
    Visit("personas", "employee", "/personas"),
]


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(AXE))
    return await page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
            return results.violations;
        }""",
        WCAG_21_AA,
    )


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"    {' '.join(node['target'])}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)


@pytest.mark.parametrize("visit", VISITS, ids=[v.name for v in VISITS])
async def test_page_is_accessible(people: People, showcase: Showcase, visit: Visit) -> None:
    if not AXE.exists():
        pytest.fail("axe-core is missing: run scripts/install-test-deps (npm ci in tests/browser)")
    # bypass_csp: axe is injected as an inline script, which the app's CSP rightly refuses.
    page = await people.page(
        viewport=PHONE if visit.phone else {"width": 1280, "height": 900}, is_mobile=visit.phone,
        has_touch=visit.phone, color_scheme="dark" if visit.dark else "light", bypass_csp=True,
        storage_state=showcase.states[visit.who] if visit.who else None)
    path = visit.path.format(slug=showcase.slug, idea_id=showcase.idea_id, invite_url=showcase.invite_url,
                             community=showcase.community)
    response = await page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response and response.status}"
    if await page.locator("#room[hx-ws\\:connect]").count():
        await live(page)
    # Parts that load themselves (the invite panel, vote buttons) are part of the page: wait
    # until their placeholders have been replaced.
    await page.wait_for_function("() => !document.querySelector('[hx-trigger=load], .htmx-request')")
    if visit.screenshot:
        await screenshot(page, visit.screenshot, full_page=not visit.phone)

    blocking = [v for v in await axe_violations(page) if v["impact"] in BLOCKING]
    assert not blocking, f"{visit.name} ({path}):\n{describe(blocking)}"
    # Reflow (WCAG 1.4.10): nothing makes the page scroll sideways, down to a phone's width.
    overflow = await page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const wide = [...document.querySelectorAll("body *")].filter(el => el.getBoundingClientRect().right > width + 1
            && !el.closest("[hidden], .visually-hidden, .table-scroll") && getComputedStyle(el).position !== "fixed");
        return {scroll: document.documentElement.scrollWidth - width,
                culprits: wide.slice(0, 5).map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
                    + (el.className && typeof el.className === "string" ? "." + el.className.split(" ").join(".") : ""))};
    }""")
    assert overflow["scroll"] <= 0, f"{visit.name} scrolls sideways by {overflow['scroll']} px: {overflow['culprits']}"
