"""Signing in the way a browser does: fetch the form, post it, keep the cookie and CSRF token."""

from __future__ import annotations

import re
from typing import Any

import httpx

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def form_csrf(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def refresh_csrf(http: httpx.AsyncClient) -> str:
    """Read the session's CSRF token from a page and send it as a header from now on."""
    page = await http.get("/")
    match = CSRF_META.search(page.text)
    assert match, f"no CSRF meta tag on / (status {page.status_code})"
    http.headers["X-CSRF-Token"] = match.group(1)
    return match.group(1)


async def sign_in_with(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    page = await http.get("/login")
    return await http.post("/login", data={"email": email, "password": password, "csrf_token": form_csrf(page.text)})


async def signed_in_client(app: Any, email: str, password: str, base_url: str = "http://testserver") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    http = httpx.AsyncClient(transport=transport, base_url=base_url)
    response = await sign_in_with(http, email, password)
    assert response.status_code == 303, f"sign-in failed: {response.status_code} {response.text[:300]}"
    await refresh_csrf(http)
    return http
