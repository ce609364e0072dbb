"""Sign-in, sign-out, sessions and the sign-in throttle."""

from __future__ import annotations

import httpx

from innovate.settings import Settings
from tests.clients import form_csrf, sign_in_with
from tests.conftest import PASSWORD


async def test_sign_in_and_out_revokes_the_session(client: httpx.AsyncClient, make_user, settings: Settings) -> None:
    await make_user("ada@example.com", name="Ada")
    assert (await client.get("/api/v1/me")).status_code == 401
    response = await sign_in_with(client, "ada@example.com", PASSWORD)
    assert response.status_code == 303
    cookie = client.cookies.get(settings.session_cookie_name)
    assert cookie
    me = await client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["name"] == "Ada"

    home = await client.get("/")
    token = form_csrf(home.text)
    assert (await client.post("/logout", data={"csrf_token": token})).status_code == 303
    assert (await client.get("/api/v1/me")).status_code == 401

    # Replaying the old cookie after sign-out gets nothing.
    client.cookies.clear()
    client.cookies.set(settings.session_cookie_name, cookie)
    assert (await client.get("/api/v1/me")).status_code == 401
    assert (await client.get("/", follow_redirects=False)).headers["location"] == "/login"


async def test_sign_in_rotates_the_session_id(client: httpx.AsyncClient, make_user, settings: Settings) -> None:
    await make_user("rot@example.com")
    await client.get("/login")  # an anonymous session exists for the form's CSRF token
    before = client.cookies.get(settings.session_cookie_name)
    assert before
    await sign_in_with(client, "rot@example.com", PASSWORD)
    after = client.cookies.get(settings.session_cookie_name)
    assert after and after != before


async def test_wrong_password_and_unknown_user_get_the_same_answer(client: httpx.AsyncClient, make_user) -> None:
    await make_user("bob@example.com")
    wrong = await sign_in_with(client, "bob@example.com", "not the password")
    unknown = await sign_in_with(client, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 400
    assert "do not match" in wrong.text and "do not match" in unknown.text
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_repeated_failures_are_throttled_per_account(client: httpx.AsyncClient, make_user, settings: Settings) -> None:
    await make_user("eve@example.com")
    for _ in range(settings.login_max_failures):
        assert (await sign_in_with(client, "eve@example.com", "guess guess guess")).status_code == 400
    throttled = await sign_in_with(client, "eve@example.com", PASSWORD)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_cookie_flags(client: httpx.AsyncClient, make_user) -> None:
    await make_user("flags@example.com")
    response = await sign_in_with(client, "flags@example.com", PASSWORD)
    set_cookie = response.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "path=/" in set_cookie
    assert "secure" not in set_cookie  # http public URL


async def test_https_public_url_uses_host_prefix_and_secure(make_settings) -> None:
    settings = make_settings(public_url="https://innovate.example.com")
    assert settings.session_cookie_name == "__Host-innovate_session"
    from innovate.accounts.sessions import _cookie_header

    header = _cookie_header(settings.session_cookie_name, "v", max_age=10, secure=settings.https)
    assert header.startswith("__Host-innovate_session=v") and "Secure" in header


async def test_deactivated_user_loses_access(client: httpx.AsyncClient, make_user, sign_in, resources) -> None:
    from sqlalchemy import update

    from innovate.accounts.models import User

    user = await make_user("gone@example.com")
    http = await sign_in(user)
    assert (await http.get("/api/v1/me")).status_code == 200
    async with resources.db.begin() as db:
        await db.execute(update(User).where(User.id == user.id).values(is_active=False))
    assert (await http.get("/api/v1/me")).status_code == 401
