"""A SCIM-provisioned (or invited) employee's first sign-in through the employee provider, with an
address that provider verified, is the account the directory made; never through a guest
provider, never for an unverified address, and never once the account can sign in."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from innovate.accounts.models import Identity, User
from innovate.resources import Resources
from innovate.scim.tokens import create_scim_token
from tests.sso import asgi_client, corp_idp, ext_idp, settings_overrides, sso_sign_in  # noqa: F401  (fixtures)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


async def provision(app: Any, resources: Resources, admin: User, address: str) -> int:
    _row, token = await create_scim_token(resources, admin, "Entra ID")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers={"Authorization": f"Bearer {token}"}) as directory:
        created = await directory.post("/scim/v2/Users", json={
            "schemas": [USER], "userName": address, "externalId": f"ext-{address}",
            "name": {"givenName": "Pro", "familyName": "Visioned"}, "active": True})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def test_first_sso_sign_in_is_the_provisioned_account(app: Any, resources: Resources, make_user: Any) -> None:
    admin = await make_user("root@corp.example", is_admin=True)
    alice_id = await provision(app, resources, admin, "alice@corp.example")
    mallory_id = await provision(app, resources, admin, "mallory@corp.example")
    async with asgi_client(app) as http:
        response = await sso_sign_in(http, "corp", "alice")
        assert response.status_code == 303, response.text[:300]
        me = (await http.get("/api/v1/me")).json()
    assert me["id"] == alice_id
    # The second sign-in finds the identity; no new account either time.
    async with asgi_client(app) as http:
        await sso_sign_in(http, "corp", "alice")
        assert (await http.get("/api/v1/me")).json()["id"] == alice_id
    # An address the provider did not verify never takes an account.
    async with asgi_client(app) as http:
        await sso_sign_in(http, "corp", "mallory")
        assert (await http.get("/api/v1/me")).status_code == 401
    async with resources.db() as db:
        alices = (await db.execute(select(func.count()).select_from(User).where(
            func.lower(User.email) == "alice@corp.example"))).scalar_one()
        mallory_ways = (await db.execute(select(func.count()).select_from(Identity).where(
            Identity.user_id == mallory_id))).scalar_one()
    assert alices == 1 and mallory_ways == 0


async def test_a_guest_provider_never_takes_a_provisioned_account(app: Any, resources: Resources,
                                                                  make_user: Any) -> None:
    admin = await make_user("root@corp.example", is_admin=True)
    bob_id = await provision(app, resources, admin, "alice@corp.example")
    async with asgi_client(app) as http:
        # The outside provider's "alice" claims alice@corp.example, verified: still refused.
        response = await sso_sign_in(http, "experts", "alice")
        assert response.status_code in (400, 403), response.status_code
        assert (await http.get("/api/v1/me")).status_code == 401
    async with resources.db() as db:
        ways = (await db.execute(select(func.count()).select_from(Identity).where(
            Identity.user_id == bob_id))).scalar_one()
    assert ways == 0
