"""An administrator invites a colleague from the people page; the colleague sets a password with
the one-time link and lands on the home page. In real Chromium against ``innovate serve`` (a site
without e-mail: the link is shown once, with a Copy button)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.browser.conftest import People, Site

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]


async def test_admin_invites_a_colleague_who_sets_a_password_and_lands_home(site: Site, people: People) -> None:
    admin = await people.signed_in("admin")
    await admin.goto("/admin/people")
    await expect(admin.get_by_role("heading", name="People", exact=True)).to_be_visible()
    await admin.get_by_label("E-mail addresses, one per line or separated by commas").fill(
        "Rosalind Franklin <rosalind@corp.example>\nnot-an-address")
    await admin.get_by_role("button", name="Preview the invitations").click()
    await expect(admin.get_by_role("heading", name="Invitations: preview")).to_be_visible()
    await expect(admin.locator("#invite-errors")).to_contain_text("not an e-mail address")
    await admin.get_by_role("button", name="Invite 1 person").click()
    await expect(admin.get_by_role("heading", name="1 person invited")).to_be_visible()
    await expect(admin.get_by_role("button", name="Copy")).to_be_visible()
    link = (await admin.locator("code[id^='invite-link-']").inner_text()).strip()
    assert re.fullmatch(rf"{re.escape(site.url)}/set-password/\S+", link), link

    colleague = await people.page()
    await colleague.goto(link)
    await colleague.get_by_label("Password", exact=False).first.fill("rosalind's long password")
    await colleague.get_by_label("Repeat the password").fill("rosalind's long password")
    await colleague.get_by_role("button", name="Save password").click()
    await expect(colleague).to_have_url(f"{site.url}/")
    await expect(colleague.locator(".who-name")).to_have_text("Rosalind Franklin")

    # The people page now shows her as active, with a password.
    await admin.goto("/admin/people?q=rosalind")
    row = admin.locator("tr", has_text="Rosalind Franklin")
    await expect(row).to_contain_text("active")
    await expect(row).to_contain_text("password")
