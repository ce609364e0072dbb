"""Single sign-on in tests: two real OpenID Connect providers and a browser-like sign-in.

- ``corp_idp``: the company's identity provider (client ``corp``, an employee provider that
  requires a verified ``@corp.example`` address and the tenant claim ``tid=tenant-1``);
- ``ext_idp``: an outside provider for guests (client ``experts``); it also knows the client
  ``corp`` so a test can hand the app an answer from the wrong issuer.

The app runs on the ASGI transport at http://testserver; Authlib's own HTTP client reaches
the providers over real sockets, as the browser-side ``complete_login`` does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.clients import form_csrf
from tests.oidc_provider import OidcProvider, complete_login

APP = "http://testserver"
TENANT = "tenant-1"
# A start takes about a second; a busy CI machine gets a wide margin per attempt, and a start that
# stays silent is retried (OidcProvider.start).
STARTUP_TIMEOUT = 25.0

CORP_ACCOUNTS = {
    "alice": {"email": "alice@corp.example", "email_verified": True, "name": "Alice Corp", "tid": TENANT},
    "bob": {"email": "bob@corp.example", "email_verified": True, "name": "Bob Corp", "tid": TENANT},
    "mallory": {"email": "mallory@corp.example", "email_verified": False, "name": "Mallory", "tid": TENANT},
    "olga": {"email": "olga@corp.example", "email_verified": True, "name": "Olga Other", "tid": "tenant-2"},
}
EXT_ACCOUNTS = {
    "erin": {"email": "erin@expert.example", "email_verified": True, "name": "Erin Expert"},
    "frank": {"email": "frank@expert.example", "email_verified": True, "name": "Frank Expert"},
    "uma": {"email": "uma@expert.example", "email_verified": False, "name": "Uma Unverified"},
    # Claims an employee's address; a different issuer must never reach Alice's account.
    "alice": {"email": "alice@corp.example", "email_verified": True, "name": "Not Alice"},
}


def client_for(name: str) -> dict[str, Any]:
    return {"client_id": f"innovate-{name}", "client_secret": f"secret-{name}-0123456789",
            "redirect_uris": [f"{APP}/auth/{name}/callback"]}


@pytest.fixture(scope="module")
def corp_idp() -> Iterator[OidcProvider]:
    with OidcProvider(clients=[client_for("corp")], accounts=CORP_ACCOUNTS, require_pkce=True,
                      startup_timeout=STARTUP_TIMEOUT) as op:
        yield op


@pytest.fixture(scope="module")
def ext_idp() -> Iterator[OidcProvider]:
    with OidcProvider(clients=[client_for("experts"), client_for("corp")], accounts=EXT_ACCOUNTS,
                      require_pkce=True, startup_timeout=STARTUP_TIMEOUT) as op:
        yield op


def providers_setting(corp: OidcProvider, ext: OidcProvider) -> str:
    return json.dumps([
        {"name": "corp", "display_name": "Corp SSO", "kind": "employee", "issuer": corp.issuer,
         "client_id": "innovate-corp", "client_secret": "secret-corp-0123456789",
         "employee_domains": ["corp.example"], "require_claim": {"tid": TENANT}},
        {"name": "experts", "display_name": "Expert ID", "kind": "guest", "discovery_url": ext.discovery_url,
         "client_id": "innovate-experts", "client_secret": "secret-experts-0123456789"},
    ])


def sso_settings(corp: OidcProvider, ext: OidcProvider, **more: Any) -> dict[str, Any]:
    return {"oidc_providers": providers_setting(corp, ext), "allow_local_guests": True, **more}


@pytest.fixture
def settings_overrides(corp_idp: OidcProvider, ext_idp: OidcProvider) -> dict[str, Any]:
    """Both providers configured (a test class may override this fixture to add settings)."""
    return sso_settings(corp_idp, ext_idp)


def asgi_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url=APP)


async def start_login(http: httpx.AsyncClient, provider: str, next_url: str = "/") -> str:
    """Press "Continue with <provider>" on the sign-in page; return the authorization URL."""
    page = await http.get("/login")
    response = await http.post(f"/auth/{provider}/login", data={"csrf_token": form_csrf(page.text), "next": next_url})
    assert response.status_code == 303, response.text[:500]
    return response.headers["location"]


async def at_provider(authorize_url: str, account: str) -> str:
    """Log in and consent at the provider; return the callback URL it sends the browser to."""
    async with httpx.AsyncClient() as network:
        return str(await complete_login(network, authorize_url, account))


async def sso_sign_in(http: httpx.AsyncClient, provider: str, account: str, next_url: str = "/") -> httpx.Response:
    authorize_url = await start_login(http, provider, next_url)
    return await http.get(await at_provider(authorize_url, account))
