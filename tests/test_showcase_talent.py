"""The talent pool: explicit, versioned consent, withdrawn at once; HR's pool, notes and
export hold nobody who did not agree."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from innovate.resources import Resources
from innovate.showcase import talent
from innovate.showcase.models import TalentConsent, TalentNote
from tests.showcase_support import Showcase, build_showcase

HR_ROLES = {"admin", "hr", "other_mod"}


@pytest.fixture
async def world(resources: Resources, make_user) -> Showcase:
    return await build_showcase(resources, make_user)


async def test_consent_is_versioned_and_withdrawn_at_once(world: Showcase, resources: Resources, sign_in) -> None:
    gia = await sign_in(world.gia)
    hr = await sign_in(world.hr)
    before = (await gia.get("/api/v1/me/talent-consent")).json()
    assert before["open"] is False and before["current_version"] == talent.CONSENT_VERSION
    assert "I'm open to hearing about opportunities at Innovate" in before["text"]
    assert (await hr.get("/api/v1/admin/talent")).json()["items"] == []

    stale = await gia.put("/api/v1/me/talent-consent", json={"open": True, "version": "2020-01-01"})
    assert stale.status_code == 422 and "version" in stale.json()["error"]["fields"]
    agreed = await gia.put("/api/v1/me/talent-consent", json={"open": True, "version": talent.CONSENT_VERSION})
    assert agreed.status_code == 200 and agreed.json()["open"] is True
    async with resources.db() as db:
        row = await db.get(TalentConsent, world.gia.id)
        assert row is not None and row.text_version == talent.CONSENT_VERSION and row.consented_at is not None

    pool = (await hr.get("/api/v1/admin/talent")).json()["items"]
    assert [p["name"] for p in pool] == ["Gia Guestexpert"]
    (gia_entry,) = pool
    assert gia_entry["email"] == "gia@example.org" and gia_entry["challenges"] == ["Greener logistics"]
    assert [(i["title"], i["status"]) for i in gia_entry["ideas"]] == [("Night-time deliveries", "shortlisted")]
    saved = await hr.put(f"/api/v1/admin/talent/{world.gia.id}/note", json={"note": "Great at night logistics"})
    assert saved.status_code == 200
    exported = await hr.get("/api/v1/admin/talent.csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["Name"], r["Note"], r["Consent version"], r["Ideas"]) for r in rows] == [
        ("Gia Guestexpert", "Great at night logistics", talent.CONSENT_VERSION, "Night-time deliveries (Shortlisted)")]
    # People read the pool in a spreadsheet: its header and statuses are in their language.
    german = await hr.get("/api/v1/admin/talent.csv", headers={"Accept-Language": "de"})
    [in_german] = list(csv.DictReader(io.StringIO(german.text)))
    assert in_german["Name"] == "Gia Guestexpert" and in_german["Notiz"] == "Great at night logistics"
    assert in_german["Ideen"].startswith("Night-time deliveries (") and "Shortlisted" not in in_german["Ideen"]
    page = await hr.get("/admin/talent")
    assert "Gia Guestexpert" in page.text and "Great at night logistics" in page.text

    # Withdrawing: out of the pool, the export and the page at once; HR's note is gone too.
    withdrawn = await gia.put("/api/v1/me/talent-consent", json={"open": False})
    assert withdrawn.json()["open"] is False
    assert (await hr.get("/api/v1/admin/talent")).json()["items"] == []
    assert "Gia" not in (await hr.get("/api/v1/admin/talent.csv")).text
    assert "Gia" not in (await hr.get("/admin/talent")).text
    async with resources.db() as db:
        assert await db.get(TalentNote, world.gia.id) is None and await db.get(TalentConsent, world.gia.id) is None
    gone = await hr.put(f"/api/v1/admin/talent/{world.gia.id}/note", json={"note": "still here?"})
    assert gone.status_code == 404


async def test_guests_who_did_not_agree_never_appear(world: Showcase, sign_in) -> None:
    gia = await sign_in(world.gia)
    await gia.put("/api/v1/me/talent-consent", json={"open": True, "version": talent.CONSENT_VERSION})
    hr = await sign_in(world.hr)
    everything = " ".join([(await hr.get("/api/v1/admin/talent")).text, (await hr.get("/api/v1/admin/talent.csv")).text,
                           (await hr.get("/admin/talent")).text])
    assert world.stranger.name not in everything and "stranger@example.org" not in everything
    assert (await hr.put(f"/api/v1/admin/talent/{world.stranger.id}/note", json={"note": "x"})).status_code == 404


async def test_who_may_reach_the_pool(world: Showcase, client: httpx.AsyncClient, sign_in) -> None:
    for role, user in world.people().items():
        http = await sign_in(user)
        expected = 200 if role in HR_ROLES else 403
        assert (await http.get("/api/v1/admin/talent")).status_code == expected, role
        assert (await http.get("/api/v1/admin/talent.csv")).status_code == expected, role
        assert (await http.get("/admin/talent")).status_code == expected, role
        mine = 200 if user.is_guest else 403
        assert (await http.get("/api/v1/me/talent-consent")).status_code == mine, role
        assert (await http.put("/api/v1/me/talent-consent", json={"open": False})).status_code == mine, role
        assert (await http.get("/account/opportunities")).status_code == (200 if user.is_guest else 404), role
    for path in ("/api/v1/admin/talent", "/api/v1/me/talent-consent", "/api/v1/admin/talent.csv"):
        assert (await client.get(path)).status_code == 401
    assert (await client.get("/admin/talent")).status_code == 303


async def test_the_account_page_consent_form(world: Showcase, sign_in) -> None:
    gia = await sign_in(world.gia)
    assert "/account/opportunities" in (await gia.get("/account")).text
    page = await gia.get("/account/opportunities")
    assert "Nothing about you is in the talent pool" in page.text
    token = gia.headers["X-CSRF-Token"]
    joined = await gia.post("/account/opportunities", data={"csrf_token": token, "open": "1",
                                                           "version": talent.CONSENT_VERSION})
    assert joined.status_code == 303
    assert "You are in the talent pool" in (await gia.get("/account/opportunities")).text
    await gia.post("/account/opportunities", data={"csrf_token": token, "open": "0"})
    assert "Nothing about you is in the talent pool" in (await gia.get("/account/opportunities")).text
