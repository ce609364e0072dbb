"""Languages in the browser.

1. With the pseudo-locale (the browser asks for en-XA), every visible text on the main pages,
   as each role sees them, went through the catalogs: a text node that is not pseudo-localised
   and is no user content is a string somebody forgot to mark. The test lists every miss.
2. German at a phone's width: no page scrolls sideways, and axe finds nothing serious.
3. An employee whose browser is German signs in, posts and votes on German pages, and gets
   the room's live updates in German.
4. A French guest gets the invite page and then the room in French.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import (
    AXE,
    GUEST_PROVIDER,
    PASSWORD,
    People,
    Site,
    live,
    mark,
    not_reloaded,
    running_site,
)
from tests.browser.test_accessibility import (  # noqa: F401 - the fixture
    BRIEF,
    PHONE,
    VISITS,
    Showcase,
    axe_violations,
    describe,
    showcase,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A site of this module's own: the pages show every room, community and persona there
    is, and only this module's people's words are known to be user content."""
    yield from running_site(tmp_path_factory)

# What the showcase's people wrote and are called: user content, never translated.
USER_CONTENT = [
    "Ada Admin", "Mo Moderator", "Emil Employee", *(f"Gina Guest {n}" for n in range(1, 21)),
    "Warehouse of the future", BRIEF, re.sub(r"[*]|^- ", "", BRIEF, flags=re.M),
    "Returnable crates for regular customers", "Sturdy crates that the driver collects on the next delivery.",
    "Right-sized boxes", "Cut each box to the parcel's size on the packing line.",
    "Paper tape instead of plastic", "Recyclable with the box itself.",
    "Welcome! Read the brief, then share your first thoughts.",
    "Returns are half our volume. Could the crates work for returns too?",
    "Good question, let us ask the logistics team.", "Leipzig could pilot it in March.",
    "We tried this in 2023, see the archive", "Book club", "One novel a month.", "I read a lot.",
    "I ran a crate pilot at a retailer; happy to share what we learned.", "Innovate",
]

# Every visible text node that is not pseudo-localised, with where it is. Not counted: text in
# <time>, code, elements in another language (a language named in itself), marked user content,
# text without letters, and text that is part of what people wrote (USER_CONTENT).
UNTRANSLATED = """(userContent) => {
    const pseudo = /[\\[\\]àƀçđéƒĝĥîĵķļɱñöþǫŕšţûṽŵẋýžÀƁÇĐÉƑĜĤÎĴĶĻṀÑÖÞǪŔŠŢÛṼŴẊÝŽ]/;
    const squash = s => s.replace(/\\s+/g, " ").replace(/…$/, "").trim();
    const known = userContent.map(squash);
    const skip = "time, code, pre, script, style, template, [data-user-content], .message-body, .brief, "
        + "[lang]:not(html), .visually-hidden, [hidden]";
    const misses = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const node = walker.currentNode;
        const text = squash(node.textContent);
        const parent = node.parentElement;
        if (!text || !/\\p{L}/u.test(text) || pseudo.test(text) || !parent) continue;
        if (parent.closest(skip) || !parent.checkVisibility({visibilityProperty: true})) continue;
        if (text.includes("@") || known.some(k => k.includes(text))) continue;
        misses.push(`${parent.tagName.toLowerCase()}${parent.id ? "#" + parent.id : ""}: ${text.slice(0, 80)}`);
    }
    for (const el of document.querySelectorAll("[placeholder], [aria-label], [title]")) {
        for (const attr of ["placeholder", "aria-label", "title"]) {
            const value = squash(el.getAttribute(attr) || "");
            if (value && /\\p{L}/u.test(value) && !pseudo.test(value) && !known.some(k => k.includes(value))
                && !el.closest("time, [data-user-content], .message-body")) {
                misses.push(`${el.tagName.toLowerCase()}[${attr}]: ${value.slice(0, 80)}`);
            }
        }
    }
    return [...new Set(misses)];
}"""


def _path(visit: Any, showcase: Showcase) -> str:
    return visit.path.format(slug=showcase.slug, idea_id=showcase.idea_id, invite_url=showcase.invite_url,
                             community=showcase.community)


async def _settled(page: Page) -> None:
    if await page.locator("#room[hx-ws\\:connect]").count():
        await live(page)
    await page.wait_for_function("() => !document.querySelector('[hx-trigger=load], .htmx-request')")


# Beyond the accessibility test's pages: the account, the site's other sections, and the
# administrator's pages.
MORE_VISITS = [
    ("employee", "/account"), ("employee", "/settings/notifications"), ("employee", "/stories"),
    ("employee", "/positions"), ("employee", "/search?q=crates"), ("guest", "/account"),
    ("admin", "/"), ("admin", "/admin/people"), ("admin", "/admin/insights"), ("admin", "/admin/audit"),
    ("admin", "/admin/positions"), ("admin", "/admin/talent"), ("admin", "/admin/pulses"),
]


async def test_every_visible_text_goes_through_the_catalogs(people: People, showcase: Showcase) -> None:
    """Runs every page first and lists every miss at the end: while strings are still being
    marked, the failure is the to-do list."""
    misses: dict[str, list[str]] = {}
    visits = [(v.name, v.who, _path(v, showcase)) for v in VISITS if not v.phone and not v.dark]
    visits += [(path, who, path) for who, path in MORE_VISITS]
    states = {**showcase.states, "admin": await (await people.signed_in("admin")).context.storage_state()}
    for name, who, path in visits:
        page = await people.page(locale="en-XA", storage_state=states[who] if who else None)
        response = await page.goto(path)
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        await _settled(page)
        assert await page.evaluate("document.documentElement.lang") == "en-XA", path
        found = await page.evaluate(UNTRANSLATED, USER_CONTENT)
        if found:
            misses[f"{name} ({who or 'signed out'}, {path})"] = found
        await page.context.close()
    report = "\n".join(f"{where}:\n" + "\n".join(f"    {m}" for m in found) for where, found in misses.items())
    total = sum(map(len, misses.values()))
    assert not misses, f"{total} untranslated texts on {len(misses)} pages:\n{report}"


GERMAN_PHONE_VISITS = [v for v in VISITS if v.phone] + [v for v in VISITS if v.name in (
    "sign-in", "invite", "home", "room-directory", "communities", "personas", "inbox")]


@pytest.mark.parametrize("visit", GERMAN_PHONE_VISITS, ids=[v.name for v in GERMAN_PHONE_VISITS])
async def test_german_at_a_phones_width_fits_and_is_accessible(people: People, showcase: Showcase,
                                                             visit: Any) -> None:
    if not AXE.exists():
        pytest.fail("axe-core is missing: run scripts/install-test-deps (npm ci in tests/browser)")
    page = await people.page(locale="de-DE", viewport=PHONE, is_mobile=True, has_touch=True, bypass_csp=True,
                             storage_state=showcase.states[visit.who] if visit.who else None)
    path = _path(visit, showcase)
    response = await page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response and response.status}"
    await _settled(page)
    assert await page.evaluate("document.documentElement.lang") == "de"
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{visit.name} in German scrolls sideways by {overflow} px at 390 px"
    blocking = [v for v in await axe_violations(page) if v["impact"] in ("serious", "critical")]
    assert not blocking, f"{visit.name} in German ({path}):\n{describe(blocking)}"


async def test_an_employee_with_a_german_browser_posts_votes_and_follows_live_in_german(
        site: Site, people: People) -> None:
    room = await site.open_room("sprache")
    slug = room["slug"]
    async with site.api("moderator") as mod:
        idea = (await mod.post(f"/rooms/{slug}/ideas", json={"title": "Lastenräder", "body": "Für die Innenstadt."}))
        assert idea.status_code == 201, idea.text
        idea_id = idea.json()["id"]

    page = await people.page(locale="de-DE")
    await page.goto("/login")
    assert await page.evaluate("document.documentElement.lang") == "de"
    await expect(page.get_by_role("heading", level=1)).to_have_text("Anmelden")
    await page.get_by_label("E-Mail").fill(site.emails["employee"])
    await page.get_by_label("Passwort").fill(PASSWORD)
    await page.get_by_role("button", name="Anmelden", exact=True).click()
    await expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hallo, Emil Employee")

    await page.goto(f"/rooms/{slug}")
    await live(page)
    await mark(page)
    assert await page.evaluate("document.documentElement.lang") == "de"
    # Post: the composer's own words belong to the rooms' catalogs; found by its form.
    composer = page.locator("#composer-room")
    await composer.locator("textarea[name=body]").fill("Guten Tag zusammen")
    await composer.locator("button[type=submit]").first.click()
    await expect(page.locator("#thread-room li.message:not([hidden]):not(.pending)",
                              has_text="Guten Tag zusammen")).to_have_count(1)
    # Vote.
    card = page.locator(f"#idea-{idea_id}")
    await card.locator("button.vote.up").click()
    await expect(card.locator("button.vote.up")).to_have_attribute("aria-pressed", "true")
    # A colleague posts: the live update arrives, announced in German.
    async with site.api("moderator") as mod:
        posted = await mod.post(f"/rooms/{slug}/messages", json={"body": "Willkommen im Raum"})
        assert posted.status_code == 201, posted.text
    await expect(page.locator("#thread-room li.message", has_text="Willkommen im Raum")).to_have_count(1)
    await expect(page.locator("#live-announcer")).to_have_text("Neue Nachricht von Mo Moderator in der Diskussion.")
    message_time = page.locator("#thread-room li.message", has_text="Willkommen im Raum").locator("time")
    await expect(message_time).to_have_text(re.compile(r"^\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}$"))
    await not_reloaded(page)


async def test_a_french_guest_gets_the_invite_page_and_the_room_in_french(site: Site, people: People) -> None:
    room = await site.open_room("langue")
    slug = room["slug"]
    invite = await site.invite_url(slug)
    page = await people.page(locale="fr-FR")
    await page.goto(invite)
    assert await page.evaluate("document.documentElement.lang") == "fr"
    await expect(page.locator("header.site-header")).to_contain_text("Se connecter")
    await page.locator(f"form:has(input[name=provider][value={GUEST_PROVIDER}]) button[type=submit]").click()
    await page.locator("input[name=login]").fill(site.new_guest())
    await page.locator("input[name=password]").fill("any")
    await page.locator("button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/interaction/"))
    await expect(page.locator("input[name=prompt][value=consent]")).to_be_attached()
    await page.locator("button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/rooms/[^/]+$"))
    await live(page)
    assert await page.evaluate("document.documentElement.lang") == "fr"
    await expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
    await expect(page.locator(".site-links").first).to_contain_text("Mes challenges")
    async with site.api("moderator") as mod:
        posted = await mod.post(f"/rooms/{slug}/messages", json={"body": "Bienvenue"})
        assert posted.status_code == 201, posted.text
    await expect(page.locator("#live-announcer")).to_have_text("Nouveau message de Mo Moderator dans la discussion.")
