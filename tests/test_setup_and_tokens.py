"""The first-run setup link (once and only once) and personal access tokens."""

from __future__ import annotations

import asyncio

import httpx

from innovate.app import announce_setup_link
from innovate.resources import Resources
from tests.clients import form_csrf


async def test_setup_link_creates_the_first_admin_once(client: httpx.AsyncClient, resources: Resources, capsys) -> None:
    url = await announce_setup_link(resources)
    assert url is not None and url in capsys.readouterr().out
    path = url.removeprefix("http://testserver")
    page = await client.get(path)
    assert page.status_code == 200
    form = {"email": "root@example.com", "name": "Root", "password": "a long password", "password_confirm": "a long password",
            "csrf_token": form_csrf(page.text)}
    done = await client.post(path, data=form)
    assert done.status_code == 303
    me = (await client.get("/api/v1/me")).json()
    assert me["is_admin"] is True and me["email"] == "root@example.com"

    # Second use: refused, and no second account appears.
    again = await client.get(path)
    assert again.status_code == 404
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    login = await other.get("/login")
    form2 = {**form, "email": "second@example.com", "csrf_token": form_csrf(login.text)}
    assert (await other.post(path, data=form2)).status_code == 404
    await other.aclose()
    # No new link once an account exists.
    assert await announce_setup_link(resources) is None


async def test_setup_link_races_yield_one_admin(app, resources: Resources) -> None:
    url = await announce_setup_link(resources)
    assert url
    path = url.removeprefix("http://testserver")

    async def attempt(i: int) -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            page = await http.get(path)
            if page.status_code != 200:
                return page.status_code
            form = {"email": f"r{i}@example.com", "password": "a long password", "password_confirm": "a long password",
                    "csrf_token": form_csrf(page.text)}
            return (await http.post(path, data=form)).status_code

    results = await asyncio.gather(*(attempt(i) for i in range(5)))
    assert results.count(303) == 1


async def test_setup_form_reports_bad_fields(client: httpx.AsyncClient, resources: Resources) -> None:
    url = await announce_setup_link(resources)
    path = url.removeprefix("http://testserver")  # type: ignore[union-attr]
    page = await client.get(path)
    bad = await client.post(path, data={"email": "not-an-email", "password": "a long password",
                                        "password_confirm": "a long password", "csrf_token": form_csrf(page.text)})
    assert bad.status_code == 422 and "email" in bad.text
    short = await client.post(path, data={"email": "ok@example.com", "password": "short", "password_confirm": "short",
                                          "csrf_token": form_csrf(page.text)})
    assert short.status_code == 422 and "at least 10" in short.text
    both = await client.post(path, data={"email": "nope", "password": "short", "password_confirm": "other",
                                         "csrf_token": form_csrf(page.text)})
    assert both.status_code == 422 and "Please check the 3 fields marked below." in both.text  # all at once
    for name in ("email", "password", "password_confirm"):
        assert f'aria-invalid="true" aria-describedby="setup-form-{name}-error"' in both.text, name
    # The link survives failed attempts.
    assert (await client.get(path)).status_code == 200


async def test_token_lifecycle(client: httpx.AsyncClient, make_user, sign_in) -> None:
    user = await make_user("tok@example.com")
    http = await sign_in(user)
    created = await http.post("/api/v1/tokens", json={"name": "ci"})
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("inv_") and len(token) > 40
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/me", headers=bearer)).json()["email"] == "tok@example.com"
    # Bearer writes need no CSRF token.
    second = await client.post("/api/v1/tokens", json={"name": "second"}, headers=bearer)
    assert second.status_code == 201
    listing = (await http.get("/api/v1/tokens")).json()["items"]
    assert {t["name"] for t in listing} == {"ci", "second"}
    assert all("token" not in t for t in listing)
    assert (await http.delete(f"/api/v1/tokens/{created.json()['id']}")).status_code == 204
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    assert (await http.delete(f"/api/v1/tokens/{created.json()['id']}")).status_code == 404
