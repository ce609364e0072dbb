"""Open positions, referrals (one polite mail with a one-click "not interested") and visitors'
interest; the public forms' CSRF, honeypot, plain text and per-IP rate."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from innovate.resources import Resources
from tests.clients import form_csrf
from tests.mail_support import FAST_MAIL, Sink, parts, sink, wait_until
from tests.showcase_support import SECRET_IDEA, SECRET_MESSAGE, Showcase, build_showcase, leaks

__all__ = ["sink"]


@pytest.fixture
def settings_overrides(sink: Sink) -> dict[str, Any]:
    return {"smtp_url": f"smtp://127.0.0.1:{sink.port}", "public_forms_per_hour": 4, **FAST_MAIL}


@pytest.fixture
async def world(resources: Resources, make_user) -> Showcase:
    return await build_showcase(resources, make_user)


POSITION = {"title": "Logistics engineer", "team": "Operations", "location": "Rotterdam",
            "ats_url": "https://jobs.example.com/42", "tags": ["Logistics", "Sustainability"]}


async def open_position(http: httpx.AsyncClient, **more: Any) -> dict[str, Any]:
    created = await http.post("/api/v1/positions", json={**POSITION, **more})
    assert created.status_code == 201, created.text
    return created.json()


async def test_a_referral_mails_once_and_not_interested_takes_one_click(
        world: Showcase, client: httpx.AsyncClient, sign_in, sink: Sink) -> None:
    hr = await sign_in(world.hr)
    position = await open_position(hr)
    ada = await sign_in(world.ada)
    by_mail = await ada.post(f"/api/v1/positions/{position['id']}/referrals", json={
        "email": "Friend@Example.net", "name": "Fran Friend", "note": "You would love this team."})
    assert by_mail.status_code == 201 and by_mail.json()["state"] == "sent"
    again = await ada.post(f"/api/v1/positions/{position['id']}/referrals", json={
        "email": "friend@example.net", "name": "Fran Friend"})
    assert again.status_code == 409
    met = await ada.post(f"/api/v1/positions/{position['id']}/referrals", json={"user_id": world.gia.id})
    assert met.status_code == 201 and met.json()["name"] == "Gia Guestexpert"

    [mail] = await wait_until(lambda: sink.to("friend@example.net"), what="the referral mail")
    await wait_until(lambda: sink.to("gia@example.org"), what="the guest's referral mail")
    assert mail["Subject"] == "Ada Lovelace thought of you for \u201cLogistics engineer\u201d at Innovate"
    text, html = parts(mail)
    assert "Ada Lovelace" in text and "You would love this team." in text and "https://jobs.example.com/42" in text
    # Nothing from the room: not its title, not an idea, not a message.
    for body in (text, html):
        assert world.room.title not in body and SECRET_MESSAGE not in body and SECRET_IDEA not in body
        assert "Cargo bikes" not in body
    link = re.search(r"http://testserver(/referrals/[\w-]+)", text).group(1)  # type: ignore[union-attr]

    visitor = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    page = await visitor.get(link)
    assert page.status_code == 200 and "Logistics engineer" in page.text and "Ada" not in page.text
    assert (await visitor.post(link, data={})).status_code == 403          # no CSRF token
    token = form_csrf(page.text)
    robot = await visitor.post(link, data={"csrf_token": token, "website": "http://spam.example"})
    assert robot.status_code == 422
    done = await visitor.post(link, data={"csrf_token": token})
    assert done.status_code == 200 and "We will not write to you again" in done.text
    assert (await visitor.get("/referrals/not-a-token")).status_code == 404

    listed = (await hr.get(f"/api/v1/positions/{position['id']}/referrals")).json()["referrals"]
    assert {(r["name"], r["state"], r["referrer"]) for r in listed} == {
        ("Fran Friend", "not_interested", "Ada Lovelace"), ("Gia Guestexpert", "sent", "Ada Lovelace")}
    counts = {p["title"]: p["referrals"] for p in (await hr.get("/api/v1/positions")).json()["items"]}
    assert counts == {"Logistics engineer": {"not_interested": 1, "sent": 1}}
    page = await hr.get(f"/admin/positions/{position['id']}")
    assert "Fran Friend" in page.text and "not interested" in page.text
    await visitor.aclose()


async def test_referral_input_and_who_may_be_referred(world: Showcase, sign_in) -> None:
    hr = await sign_in(world.hr)
    position = await open_position(hr)
    url = f"/api/v1/positions/{position['id']}/referrals"
    ada = await sign_in(world.ada)
    stranger = await ada.post(url, json={"user_id": world.stranger.id})
    assert stranger.status_code == 422 and "user_id" in stranger.json()["error"]["fields"]
    bad = await ada.post(url, json={"email": "not an address", "name": "X"})
    assert bad.status_code == 422 and "email" in bad.json()["error"]["fields"]
    html = await ada.post(url, json={"email": "x@example.net", "name": "X", "note": "<b>hi</b>"})
    assert html.status_code == 422 and html.json()["error"]["fields"] == {"note": "write plain text, without < or >"}
    assert (await ada.post(url, json={"email": "x@example.net"})).json()["error"]["fields"] == {"name": "is required"}
    closed = await open_position(hr, title="Closed one")
    await hr.patch(f"/api/v1/positions/{closed['id']}", json={"state": "closed"})
    assert (await ada.post(f"/api/v1/positions/{closed['id']}/referrals", json={
        "email": "x@example.net", "name": "X"})).status_code == 404


async def test_who_may_do_what_with_positions(world: Showcase, client: httpx.AsyncClient, sign_in) -> None:
    admin = await sign_in(world.admin)
    position = await open_position(admin)
    hr_roles = {"admin", "hr", "other_mod"}
    for role, user in world.people().items():
        http = await sign_in(user)
        listed = await http.get("/api/v1/positions")
        items = {p["title"]: p for p in listed.json()["items"]}
        assert listed.status_code == 200 and "Logistics engineer" in items
        assert ("referrals" in items["Logistics engineer"]) == (role in hr_roles), role
        created = await http.post("/api/v1/positions", json={**POSITION, "title": f"By {role}"})
        assert created.status_code == (201 if role in hr_roles else 403), role
        patched = await http.patch(f"/api/v1/positions/{position['id']}", json={"team": role})
        assert patched.status_code == (200 if role in hr_roles else 403), role
        seen = await http.get(f"/api/v1/positions/{position['id']}/referrals")
        assert seen.status_code == (200 if role in hr_roles else 403), role
        referred = await http.post(f"/api/v1/positions/{position['id']}/referrals",
                                   json={"email": f"{role}-friend@example.net", "name": "A Friend"})
        assert referred.status_code == (403 if user.is_guest else 201), role
        assert (await http.get("/admin/positions")).status_code == (200 if role in hr_roles else 403), role
        assert (await http.get(f"/positions/{position['key']}/refer")).status_code == (
            404 if user.is_guest else 200), role
    for path in ("/api/v1/positions", f"/api/v1/positions/{position['id']}/referrals"):
        assert (await client.get(path)).status_code == 401
    assert (await client.get("/admin/positions")).status_code == 303
    bad = await admin.post("/api/v1/positions", json={**POSITION, "ats_url": "javascript:alert(1)"})
    assert bad.status_code == 422 and "ats_url" in bad.json()["error"]["fields"]


async def test_visitors_interest_form_is_protected(world: Showcase, client: httpx.AsyncClient, sign_in) -> None:
    hr = await sign_in(world.hr)
    position = await open_position(hr)
    public = await client.get(f"/positions/{position['key']}")
    assert public.status_code == 200 and "set-cookie" not in public.headers
    assert f'href="/positions/{position["key"]}/interested"' in public.text and leaks(public.text, world) == []
    form = await client.get(f"/positions/{position['key']}/interested")
    token = form_csrf(form.text)
    path = f"/positions/{position['key']}/interested"
    assert (await client.post(path, data={"name": "Vi Sitor", "email": "vi@example.net"})).status_code == 403
    html = await client.post(path, data={"csrf_token": token, "name": "<script>x</script>", "email": "vi@example.net"})
    assert html.status_code == 422 and "write plain text" in html.text
    robot = await client.post(path, data={"csrf_token": token, "name": "Bot", "email": "bot@example.net",
                                          "website": "http://spam.example"})
    assert robot.status_code == 422
    done = await client.post(path, data={"csrf_token": token, "name": "Vi Sitor", "email": "vi@example.net",
                                         "note": "Hello"})
    assert done.status_code == 200 and "HR will get in touch" in done.text
    seen = (await hr.get(f"/api/v1/positions/{position['id']}/referrals")).json()["interested"]
    assert [(i["name"], i["email"]) for i in seen] == [("Vi Sitor", "vi@example.net")]
    # Four posts an hour from one address (refused ones for a bad field count too once they
    # reach the count; the honeypot and markup are refused before it).
    for _ in range(3):
        await client.post(path, data={"csrf_token": token, "name": "Vi", "email": "vi@example.net"})
    limited = await client.post(path, data={"csrf_token": token, "name": "Vi", "email": "vi@example.net"})
    assert limited.status_code == 429 and limited.headers["retry-after"]
