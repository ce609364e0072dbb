"""CSRF, Origin checks, body limits, bad encodings, tampered cookies, bearer tokens, headers."""

from __future__ import annotations

import httpx

from innovate.settings import Settings
from tests.clients import form_csrf
from tests.conftest import PASSWORD


async def _login_form(client: httpx.AsyncClient) -> str:
    return form_csrf((await client.get("/login")).text)


async def test_cross_site_post_is_refused(client: httpx.AsyncClient, make_user) -> None:
    await make_user("x@example.com")
    token = await _login_form(client)
    data = {"email": "x@example.com", "password": PASSWORD, "csrf_token": token}
    evil = await client.post("/login", data=data, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and "Cross-site" in evil.text
    lookalike = await client.post("/login", data=data, headers={"Origin": "http://testserver.evil.example"})
    assert lookalike.status_code == 403
    null_origin = await client.post("/login", data=data, headers={"Origin": "null"})
    assert null_origin.status_code == 403
    fetch_site = await client.post("/login", data=data, headers={"Sec-Fetch-Site": "cross-site"})
    assert fetch_site.status_code == 403
    same = await client.post("/login", data=data, headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 303


async def test_missing_or_wrong_csrf_token_is_refused(client: httpx.AsyncClient, make_user, sign_in) -> None:
    user = await make_user("c@example.com")
    await _login_form(client)
    missing = await client.post("/login", data={"email": "c@example.com", "password": PASSWORD})
    assert missing.status_code == 403
    http = await sign_in(user)
    del http.headers["X-CSRF-Token"]
    assert (await http.post("/api/v1/tokens", json={"name": "t"})).status_code == 403
    http.headers["X-CSRF-Token"] = "wrong"
    refused = await http.post("/api/v1/tokens", json={"name": "t"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"


async def test_oversized_body_gets_413(client: httpx.AsyncClient, settings: Settings) -> None:
    await _login_form(client)
    big = "x" * (settings.max_body_bytes + 10)
    response = await client.post("/login", data={"email": big, "password": "p"})
    assert response.status_code == 413


async def test_non_utf8_body_gets_400(client: httpx.AsyncClient, make_user, sign_in) -> None:
    user = await make_user("u8@example.com")
    http = await sign_in(user)
    response = await http.post("/api/v1/tokens", content=b"name=%ff%fe",
                               headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"body": "not valid UTF-8"}
    bad_json = await http.post("/api/v1/tokens", content=b'{"name": "\xff"}', headers={"content-type": "application/json"})
    assert bad_json.status_code == 400


async def test_tampered_cookie_is_ignored_and_cleared(client: httpx.AsyncClient, settings: Settings) -> None:
    client.cookies.set(settings.session_cookie_name, "forged-session-id")
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "not_signed_in", "message": "Sign in first."}}
    assert "Max-Age=0" in response.headers["set-cookie"]  # the forged cookie is cleared
    page = await client.get("/login")  # a fresh anonymous session replaces it
    assert page.status_code == 200
    assert page.headers["set-cookie"].startswith(f"{settings.session_cookie_name}=")


async def test_unknown_bearer_token_gets_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/me", headers={"Authorization": "Bearer inv_nope"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_signed_in"


async def test_security_headers_on_every_response(client: httpx.AsyncClient) -> None:
    for path in ("/login", "/healthz", "/api/v1/me", "/no-such-page"):
        response = await client.get(path)
        csp = response.headers["content-security-policy"]
        assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp and "'nonce-" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in response.headers


async def test_csp_nonce_matches_the_page_scripts(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    nonce = response.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in response.text
    assert "<script>" not in response.text  # no inline script without the nonce


async def test_hsts_when_public_url_is_https(make_settings, resources) -> None:
    from innovate.app import create_app

    settings = make_settings(public_url="https://innovate.example.com")
    application = create_app(settings, resources=resources)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="https://innovate.example.com") as http:
            response = await http.get("/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_errors_have_the_api_shape_and_pages_are_friendly(client: httpx.AsyncClient) -> None:
    api = await client.get("/api/v1/nothing-here")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    page = await client.get("/nothing-here")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"] and "Not found" in page.text


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "ok"}
