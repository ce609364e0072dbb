"""SCIM 2.0 at /scim/v2 with the request sequences Entra ID and Okta send (their bodies as their
documentation gives them, with userName mapped to the e-mail address), the discovery documents,
tokens (hashed, revocable, accepted on /scim/v2 only) and SCIM's error schema. Both databases."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from innovate import cli
from innovate.accounts.models import Session, User
from innovate.accounts.tokens import create_token
from innovate.audit import AuditEntry
from innovate.resources import Resources
from innovate.scim.models import ScimToken
from innovate.scim.tokens import create_scim_token

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_TYPE = "application/scim+json"


@pytest.fixture
async def directory(app: Any, resources: Resources, make_user: Any) -> Any:
    """An httpx client that speaks for the directory, with a SCIM token an admin made."""
    admin = await make_user("root@corp.example", name="Root Admin", is_admin=True)
    _row, token = await create_scim_token(resources, admin, "Entra ID")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": SCIM_TYPE}) as http:
        yield http


def scim_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(SCIM_TYPE)
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status)
    return dict(body)


async def test_entra_id_sequence(directory: httpx.AsyncClient, resources: Resources) -> None:
    # Entra asks whether the user exists, by userName, before creating them.
    missing = await directory.get("/scim/v2/Users", params={"filter": 'userName eq "ada.lovelace@corp.example"'})
    assert missing.status_code == 200 and missing.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "startIndex": 1,
        "itemsPerPage": 0, "Resources": []}
    created = await directory.post("/scim/v2/Users", json={
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "ada.lovelace@corp.example",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "ada.lovelace@corp.example"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"},
        "roles": [],
    })
    assert created.status_code == 201, created.text
    user = created.json()
    assert created.headers["location"] == user["meta"]["location"] == f"http://testserver/scim/v2/Users/{user['id']}"
    assert user["userName"] == "ada.lovelace@corp.example" and user["active"] is True
    assert user["externalId"] == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef" and user["displayName"] == "Ada Lovelace"
    found = (await directory.get("/scim/v2/Users", params={"filter": 'userName eq "Ada.Lovelace@corp.example"'})).json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == user["id"]
    by_external = await directory.get("/scim/v2/Users",
                                      params={"filter": 'externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"'})
    assert by_external.json()["totalResults"] == 1
    # Creating the same userName again: 409 uniqueness.
    again = await directory.post("/scim/v2/Users", json={"schemas": [USER], "userName": "ada.lovelace@corp.example"})
    assert scim_error(again, 409)["scimType"] == "uniqueness"
    path = f"/scim/v2/Users/{user['id']}"
    # Update single-valued and multi-valued attributes, as Entra writes them ("Replace").
    patched = await directory.patch(path, json={"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada.lovelace@corp.example"},
        {"op": "Replace", "path": "name.familyName", "value": "King"},
    ]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"]["familyName"] == "King" and patched.json()["displayName"] == "Ada King"
    renamed = await directory.patch(path, json={"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "userName", "value": "ada.king@corp.example"}]})
    assert renamed.json()["userName"] == "ada.king@corp.example"
    # Disable: active false (older Entra apps send the string "False").
    disabled = await directory.patch(path, json={"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "active", "value": False}]})
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    listed = (await directory.get("/scim/v2/Users", params={"filter": 'userName eq "ada.king@corp.example"'})).json()
    assert listed["Resources"][0]["active"] is False
    enabled = await directory.patch(path, json={"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "active", "value": "True"}]})
    assert enabled.json()["active"] is True
    # Delete: deactivated, never destroyed; gone for SCIM.
    assert (await directory.delete(path)).status_code == 204
    scim_error(await directory.get(path), 404)
    async with resources.db() as db:
        row = await db.get(User, int(user["id"]))
        actions = [a for a in (await db.execute(select(AuditEntry.action).where(
            AuditEntry.target_id == int(user["id"])).order_by(AuditEntry.id))).scalars()]
    assert row is not None and not row.is_active and row.email == "ada.king@corp.example"
    assert actions[0] == "user.created" and actions.count("user.deactivated") == 2 and "user.updated" in actions


async def test_okta_sequence(directory: httpx.AsyncClient, make_user: Any, sign_in: Any) -> None:
    # Okta's connection test, then its lookup with paging.
    probe = await directory.get("/scim/v2/Users", params={"startIndex": "1", "count": "2"})
    assert probe.status_code == 200 and probe.json()["itemsPerPage"] <= 2
    lookup = await directory.get("/scim/v2/Users", params={
        "filter": 'userName eq "test.user@corp.example"', "startIndex": "1", "count": "100"})
    assert lookup.json()["totalResults"] == 0
    created = await directory.post("/scim/v2/Users", json={
        "schemas": [USER], "userName": "test.user@corp.example", "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@corp.example", "type": "work"}],
        "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7", "groups": [],
        "password": "1mz050nq", "active": True,
    })
    assert created.status_code == 201, created.text
    user = created.json()
    path = f"/scim/v2/Users/{user['id']}"
    assert (await directory.get(path)).json()["displayName"] == "Test User"
    # Okta updates a profile with PUT (the whole resource).
    replaced = await directory.put(path, json={
        "schemas": [USER], "id": user["id"], "userName": "test.user@corp.example",
        "name": {"givenName": "Another", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@corp.example", "type": "work"}],
        "displayName": "Another User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7", "groups": [],
        "password": "t1meMa$heen", "active": True,
    })
    assert replaced.status_code == 200 and replaced.json()["name"]["givenName"] == "Another"
    # ... and name changes with PATCH too; and deactivates with a path-less replace.
    renamed = await directory.patch(path, json={"schemas": [PATCH], "Operations": [
        {"op": "replace", "value": {"name": {"givenName": "Third"}}}]})
    assert renamed.json()["name"] == {"formatted": "Third User", "givenName": "Third", "familyName": "User"}
    off = await directory.patch(path, json={"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]})
    assert off.json()["active"] is False
    # An existing employee is matched by userName, and deactivating them ends their sessions.
    emma = await make_user("emma@corp.example", name="Emma")
    emma_http = await sign_in(emma)
    assert (await emma_http.get("/api/v1/me")).status_code == 200
    [found] = (await directory.get("/scim/v2/Users", params={"filter": 'userName eq "emma@corp.example"'})).json()["Resources"]
    await directory.patch(f"/scim/v2/Users/{found['id']}", json={"schemas": [PATCH], "Operations": [
        {"op": "replace", "value": {"active": False}}]})
    assert (await emma_http.get("/api/v1/me")).status_code == 401


async def test_paging_and_filters(directory: httpx.AsyncClient, make_user: Any) -> None:
    for n in range(5):
        await make_user(f"p{n}@corp.example", name=f"Person {n}")
    await make_user("guest@partner.example", name="A Guest", kind="guest")
    page = (await directory.get("/scim/v2/Users", params={"startIndex": "2", "count": "3"})).json()
    assert page["totalResults"] == 6 and page["startIndex"] == 2 and page["itemsPerPage"] == 3  # no guests
    assert all(r["userName"] != "guest@partner.example" for r in page["Resources"])
    both = (await directory.get("/scim/v2/Users", params={
        "filter": 'userName eq "p1@corp.example" and active eq true'})).json()
    assert both["totalResults"] == 1
    bad = await directory.get("/scim/v2/Users", params={"filter": 'userName co "p"'})
    assert scim_error(bad, 400)["scimType"] == "invalidFilter"
    guest_address = await directory.post("/scim/v2/Users", json={"schemas": [USER], "userName": "guest@partner.example"})
    assert scim_error(guest_address, 409)["scimType"] == "uniqueness"
    not_an_address = await directory.post("/scim/v2/Users", json={"schemas": [USER], "userName": "Test_User_ab64"})
    assert scim_error(not_an_address, 400)["scimType"] == "invalidValue"
    bad_op = await directory.patch("/scim/v2/Users/1", json={"schemas": [PATCH], "Operations": [{"op": "move"}]})
    assert scim_error(bad_op, 400)["scimType"] == "invalidSyntax"
    scim_error(await directory.get("/scim/v2/Users/999999"), 404)
    scim_error(await directory.get("/scim/v2/Users/abc"), 404)
    broken = await directory.post("/scim/v2/Users", content=b"{not json")
    assert scim_error(broken, 400)["scimType"] == "invalidSyntax"
    scim_error(await directory.get("/scim/v2/Groups"), 501)


async def test_discovery_documents(directory: httpx.AsyncClient) -> None:
    config = (await directory.get("/scim/v2/ServiceProviderConfig")).json()
    assert config["patch"] == {"supported": True} and config["filter"]["supported"] is True
    assert config["bulk"]["supported"] is False and config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    types = (await directory.get("/scim/v2/ResourceTypes")).json()
    assert [t["id"] for t in types["Resources"]] == ["User"]
    assert (await directory.get("/scim/v2/ResourceTypes/User")).json()["endpoint"] == "/Users"
    schemas = (await directory.get("/scim/v2/Schemas")).json()
    assert schemas["Resources"][0]["id"] == USER
    names = {a["name"] for a in (await directory.get(f"/scim/v2/Schemas/{USER}")).json()["attributes"]}
    assert {"userName", "externalId", "name", "emails", "active"} <= names


async def test_tokens_only_scim_tokens_and_only_on_scim(
        app: Any, resources: Resources, make_user: Any, sign_in: Any, client: httpx.AsyncClient) -> None:
    admin = await make_user("root@corp.example", name="Root Admin", is_admin=True)
    row, token = await create_scim_token(resources, admin, "Okta")
    async with resources.db() as db:
        stored = await db.get(ScimToken, row.id)
    assert stored is not None and token not in stored.token_hash and stored.prefix == token[:10]
    # No token, a wrong one: 401 with SCIM's error body.
    scim_error(await client.get("/scim/v2/Users"), 401)
    wrong = await client.get("/scim/v2/Users", headers={"Authorization": "Bearer scim_not-a-real-token"})
    assert scim_error(wrong, 401)["detail"] and wrong.headers["www-authenticate"].startswith("Bearer")
    # A person (session or personal token), whatever their role, is refused.
    moderator = await make_user("hr@corp.example", is_moderator=True)
    employee = await make_user("e@corp.example")
    guest = await make_user("g@partner.example", kind="guest")
    for person in (admin, moderator, employee, guest):
        http = await sign_in(person)
        for method, path in (("GET", "/scim/v2/Users"), ("POST", "/scim/v2/Users"), ("GET", "/scim/v2/Users/1"),
                             ("PATCH", "/scim/v2/Users/1"), ("DELETE", "/scim/v2/Users/1"),
                             ("GET", "/scim/v2/ServiceProviderConfig")):
            scim_error(await http.request(method, path, json={}), 403)
        _t, personal = await create_token(resources, person, "script")
        scim_error(await client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {personal}"}), 403)
    # The SCIM token is not accepted anywhere else.
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401
    ok = await client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    # Tokens through the admin API (and nobody else), revoked at once.
    as_admin = await sign_in(admin)
    made = await as_admin.post("/api/v1/admin/scim-tokens", json={"name": "Google"})
    assert made.status_code == 201 and made.json()["token"].startswith("scim_")
    listed = (await as_admin.get("/api/v1/admin/scim-tokens")).json()["items"]
    assert {t["name"] for t in listed} == {"Okta", "Google"} and all("token" not in t for t in listed)
    for person in (moderator, employee):
        http = await sign_in(person)
        assert (await http.get("/api/v1/admin/scim-tokens")).status_code == 403
        assert (await http.get("/admin/people/scim")).status_code == 403
    assert (await as_admin.delete(f"/api/v1/admin/scim-tokens/{row.id}")).status_code == 204
    scim_error(await client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}), 401)
    page = await as_admin.get("/admin/people/scim")
    assert page.status_code == 200 and "Groups are out of scope" in page.text and "revoked" in page.text


async def test_the_command_line_makes_a_token(resources: Resources, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    monkeypatch.setenv("INNOVATE_DATABASE_URL", resources.settings.resolved_database_url)
    monkeypatch.setenv("INNOVATE_DATA_DIR", str(resources.settings.data_dir))
    assert await asyncio.to_thread(cli.main, ["scim", "token", "create", "--name", "Entra ID"]) == 0
    out = capsys.readouterr().out
    assert "shown once" in out and "scim_" in out
    async with resources.db() as db:
        row = (await db.execute(select(ScimToken))).scalar_one()
    assert row.name == "Entra ID"
    assert await asyncio.to_thread(cli.main, ["scim", "token", "revoke", str(row.id)]) == 0
    assert await asyncio.to_thread(cli.main, ["scim", "token", "revoke", str(row.id)]) == 1


async def test_scim_deactivation_closes_sessions_in_the_database(directory: httpx.AsyncClient, make_user: Any,
                                                                 sign_in: Any, resources: Resources) -> None:
    emma = await make_user("emma2@corp.example", name="Emma")
    await sign_in(emma)
    await directory.delete(f"/scim/v2/Users/{emma.id}")
    async with resources.db() as db:
        live = (await db.execute(select(Session).where(Session.user_id == emma.id,
                                                       Session.revoked_at.is_(None)))).scalars().all()
    assert live == []
