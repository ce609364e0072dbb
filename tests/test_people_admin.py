"""The administrators' people page and ``/api/v1/admin/people``: every role against every route,
search and filters, invitations (one, a list, a 1,000-row CSV with bad rows; a preview before
anything is written), roles, deactivation, resending and withdrawing invitations. On both
databases, on a site without e-mail (links are answered once); mailed invitations are in
test_people_mail.py."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from innovate.accounts.hashing import hash_password, token_hash
from innovate.accounts.models import OneTimeLink, User
from innovate.audit import AuditEntry
from innovate.auth.invites import InviteRequest, Joiner, LocalGuest, create_invite, redeem_invite
from innovate.resources import Resources
from tests.clients import form_csrf
from tests.factories import join, make_room

API = "/api/v1/admin/people"


async def people(resources: Resources, make_user: Any) -> dict[str, User]:
    admin = await make_user("root@corp.example", name="Ada Admin", is_admin=True)
    moderator = await make_user("hr@corp.example", name="Hanna HR", is_moderator=True)
    employee = await make_user("emma@corp.example", name="Emma Employee")
    room = await make_room(resources, moderator, slug="people-room")
    await join(resources, room, employee)
    _invite, url = await create_invite(resources, moderator, room.slug, InviteRequest())
    redemption = await redeem_invite(resources, token_hash(url.rsplit("/", 1)[1]),
                                     Joiner(local=LocalGuest("Gus Guest", "gus@partner.example",
                                                                 hash_password("a guest password"))))
    return {"admin": admin, "moderator": moderator, "employee": employee, "guest": redemption.user}


def routes(target: int) -> list[tuple[str, str, Any]]:
    """Every admin people route: (method, path, body)."""
    return [
        ("GET", API, None), ("GET", f"{API}/{target}", None), ("PATCH", f"{API}/{target}", {"is_moderator": True}),
        ("POST", f"{API}/{target}/deactivate", {}), ("POST", f"{API}/{target}/reactivate", {}),
        ("POST", f"{API}/invitations", {"email": "new@corp.example"}),
        ("POST", f"{API}/invitations", {"email": "new@corp.example", "dry_run": True}),
        ("POST", f"{API}/{target}/invitation", {}), ("DELETE", f"{API}/{target}/invitation", None),
        ("GET", f"{API}/{target}/export", None), ("POST", f"{API}/{target}/erase", {}),
        ("GET", "/admin/people", None), ("GET", f"/admin/people/{target}", None),
        ("POST", "/admin/people/invite", {"list": "new@corp.example"}),
        ("POST", f"/admin/people/{target}/roles", {"role": "admin", "on": "1"}),
        ("POST", f"/admin/people/{target}/deactivate", {}), ("POST", f"/admin/people/{target}/reactivate", {}),
        ("POST", f"/admin/people/{target}/invitation/resend", {}),
        ("POST", f"/admin/people/{target}/invitation/revoke", {}),
        ("POST", f"/admin/people/{target}/erase", {"confirm": "ERASE"}), ("GET", f"/admin/people/{target}/export", None),
    ]


async def test_every_role_but_admin_is_refused_on_every_route(
        resources: Resources, make_user: Any, sign_in: Any, client: httpx.AsyncClient) -> None:
    who = await people(resources, make_user)
    target = who["employee"].id
    for role in ("moderator", "employee", "guest"):
        if role == "guest":
            http = await sign_in(who["guest"], "a guest password")
        else:
            http = await sign_in(who[role])
        for method, path, body in routes(target):
            page = not path.startswith("/api/")
            response = await http.request(method, path, **({"data": body} if page and body is not None
                                                          else {"json": body} if body is not None else {}))
            assert response.status_code in (403, 404), f"{role} {method} {path}: {response.status_code}"
    for method, path, body in routes(target):
        response = await client.request(method, path, json=body)
        assert response.status_code in (303, 401, 403), f"signed out {method} {path}: {response.status_code}"
    async with resources.db() as db:
        assert (await db.execute(select(func.count()).select_from(User).where(
            User.email == "new@corp.example"))).scalar_one() == 0
        changed = await db.get(User, target, populate_existing=True)
    assert changed is not None and changed.is_active and not changed.is_moderator and not changed.is_admin


async def test_search_and_filters(resources: Resources, make_user: Any, sign_in: Any) -> None:
    who = await people(resources, make_user)
    http = await sign_in(who["admin"])
    await http.post(f"{API}/invitations", json={"email": "invitee@corp.example"})
    await http.post(f"{API}/{who['employee'].id}/deactivate", json={})

    async def names(**query: str) -> set[str]:
        response = await http.get(API, params=query)
        assert response.status_code == 200, response.text
        return {p["name"] for p in response.json()["items"]}

    assert await names() == {"Ada Admin", "Hanna HR", "Emma Employee", "Gus Guest", "Invitee"}
    assert await names(kind="guest") == {"Gus Guest"}
    assert await names(role="admin") == {"Ada Admin"}
    assert await names(role="moderator") == {"Hanna HR"}
    assert await names(state="invited") == {"Invitee"}
    assert await names(state="deactivated") == {"Emma Employee"}
    assert await names(room="people-room") == {"Hanna HR", "Emma Employee", "Gus Guest"}
    assert await names(q="HANNA") == {"Hanna HR"}
    assert await names(q="partner.example") == {"Gus Guest"}
    bad = await http.get(API, params={"kind": "robot"})
    assert bad.status_code == 422 and "kind" in bad.json()["error"]["fields"]
    one = (await http.get(f"{API}/{who['guest'].id}")).json()
    assert one["rooms"] == [{"slug": "people-room", "title": "Greener logistics", "role": "member"}]
    assert one["sign_in_methods"] == ["password"] and one["state"] == "active"
    mine = (await http.get(f"{API}/{who['admin'].id}")).json()
    assert mine["open_sessions"] >= 1 and mine["last_seen_at"] is not None
    # Paging.
    first = (await http.get(API, params={"limit": "2"})).json()
    assert len(first["items"]) == 2 and first["total"] == 5 and first["next_cursor"]
    rest = (await http.get(API, params={"limit": "10", "after": str(first["next_cursor"])})).json()
    assert len(rest["items"]) == 3 and rest["next_cursor"] is None
    page = await http.get("/admin/people", params={"kind": "guest"})
    assert page.status_code == 200 and "Gus Guest" in page.text and "Emma Employee" not in page.text


def csv_rows(count: int, bad: dict[int, str]) -> str:
    """A CSV with a header and ``count`` rows; the rows at the given line numbers are ``bad``."""
    lines = ["email,name,role"]
    for line in range(2, count + 2):
        lines.append(bad.get(line, f"person{line}@corp.example,Person {line},"))
    return "\n".join(lines) + "\n"


async def test_a_1000_row_csv_with_3_bad_rows_is_previewed_then_written(
        resources: Resources, make_user: Any, sign_in: Any) -> None:
    who = await people(resources, make_user)
    http = await sign_in(who["admin"])
    bad = {10: "not-an-address,Nobody,", 500: "person2@corp.example,Twice,", 1001: "emma@corp.example,Emma again,"}
    text = csv_rows(1000, bad)

    async def count() -> int:
        async with resources.db() as db:
            return int((await db.execute(select(func.count()).select_from(User))).scalar_one())

    before = await count()
    preview = await http.post(f"{API}/invitations", json={"csv": text, "dry_run": True})
    assert preview.status_code == 200, preview.text
    checked = preview.json()
    assert len(checked["rows"]) == 997
    assert [(e["line"], e["error"]) for e in checked["errors"]] == [
        (10, "not an e-mail address"), (500, "appears twice"), (1001, "already has an account")]
    assert await count() == before  # nothing written before the preview is confirmed
    # The page does the same with an uploaded file: a preview, then the confirmation.
    csrf = form_csrf((await http.get("/admin/people")).text)
    page = await http.post("/admin/people/invite", data={"csrf_token": csrf},
                           files={"file": ("people.csv", text.encode(), "text/csv")})
    assert page.status_code == 200 and "Invite 997 people" in page.text
    assert all(f"<td>{line}</td>" in page.text for line in bad)
    assert await count() == before
    done = await http.post("/admin/people/invite", data={"csrf_token": csrf, "confirm": "1", "csv": text})
    assert done.status_code == 200 and "997 people invited" in done.text
    assert await count() == before + 997
    links = re.findall(r'<code id="invite-link-\d+">(http://testserver/set-password/[^<]+)</code>', done.text)
    assert len(links) == 997  # no mail on this site: each link shown once, with a Copy button
    assert 'data-copy="invite-link-' in done.text
    async with resources.db() as db:
        audited = (await db.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "user.invited"))).scalar_one()
    assert audited == 997


async def test_an_invited_colleague_sets_a_password_and_lands_home(
        resources: Resources, make_user: Any, sign_in: Any, app: Any) -> None:
    who = await people(resources, make_user)
    http = await sign_in(who["admin"])
    answer = await http.post(f"{API}/invitations", json={"list": "Grace Hopper <grace@corp.example>, bad@, "})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert [e["value"] for e in body["errors"]] == ["bad@"]
    [invited] = body["invited"]
    assert invited["email"] == "grace@corp.example" and invited["url"].startswith("http://testserver/set-password/")
    person = (await http.get(f"{API}/{invited['id']}")).json()
    assert person["state"] == "invited" and person["name"] == "Grace Hopper"
    # Resending makes a new link; the old one stops working.
    again = (await http.post(f"{API}/{invited['id']}/invitation", json={})).json()
    assert again["url"] != invited["url"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as grace:
        path = invited["url"].removeprefix("http://testserver")
        assert (await grace.get(path)).status_code == 404
        path = again["url"].removeprefix("http://testserver")
        form = await grace.get(path)
        done = await grace.post(path, data={"csrf_token": form_csrf(form.text), "password": "grace's long password",
                                            "password_confirm": "grace's long password"})
        assert done.status_code == 303 and done.headers["location"] == "/"
        home = await grace.get("/")
        assert home.status_code == 200 and "Grace Hopper" in home.text
    person = (await http.get(f"{API}/{invited['id']}")).json()
    assert person["state"] == "active" and person["sign_in_methods"] == ["password"]
    # An invitation that was accepted cannot be resent or withdrawn.
    assert (await http.post(f"{API}/{invited['id']}/invitation", json={})).status_code == 409
    assert (await http.delete(f"{API}/{invited['id']}/invitation")).status_code == 409


async def test_withdrawing_an_invitation_deletes_the_account(resources: Resources, make_user: Any, sign_in: Any) -> None:
    who = await people(resources, make_user)
    http = await sign_in(who["admin"])
    [invited] = (await http.post(f"{API}/invitations", json={"email": "gone@corp.example"})).json()["invited"]
    assert (await http.delete(f"{API}/{invited['id']}/invitation")).status_code == 204
    assert (await http.get(f"{API}/{invited['id']}")).status_code == 404
    async with resources.db() as db:
        links = (await db.execute(select(func.count()).select_from(OneTimeLink).where(
            OneTimeLink.user_id == invited["id"]))).scalar_one()
        actions = set((await db.execute(select(AuditEntry.action).where(
            AuditEntry.target_id == invited["id"]))).scalars())
    assert links == 0 and actions == {"user.invited", "invitation.revoked"}
    again = await http.post(f"{API}/invitations", json={"email": "BAD"})
    assert again.status_code == 201 and again.json()["errors"][0]["error"] == "not an e-mail address"
    empty = await http.post(f"{API}/invitations", json={})
    assert empty.status_code == 422 and "emails" in empty.json()["error"]["fields"]


async def test_roles_deactivation_and_the_last_admin(resources: Resources, make_user: Any, sign_in: Any) -> None:
    who = await people(resources, make_user)
    http = await sign_in(who["admin"])
    employee, guest = who["employee"].id, who["guest"].id
    made = (await http.patch(f"{API}/{employee}", json={"is_moderator": True, "is_admin": True})).json()
    assert made["is_moderator"] and made["is_admin"]
    assert (await http.patch(f"{API}/{guest}", json={"is_moderator": True})).status_code == 409
    assert (await http.patch(f"{API}/{employee}", json={"is_admin": "maybe"})).status_code == 422
    unmade = (await http.patch(f"{API}/{employee}", json={"is_admin": False})).json()
    assert not unmade["is_admin"] and unmade["is_moderator"]
    refused = await http.patch(f"{API}/{who['admin'].id}", json={"is_admin": False})
    assert refused.status_code == 409 and "last administrator" in refused.json()["error"]["message"]
    # Deactivation ends the person's sessions at once.
    emma = await sign_in(who["employee"])
    assert (await emma.get("/api/v1/me")).status_code == 200
    off = (await http.post(f"{API}/{employee}/deactivate", json={"reason": "left the company"})).json()
    assert off["state"] == "deactivated" and off["open_sessions"] == 0
    assert (await emma.get("/api/v1/me")).status_code == 401
    back = (await http.post(f"{API}/{employee}/reactivate", json={})).json()
    assert back["state"] == "active"
    assert (await http.post(f"{API}/{who['admin'].id}/deactivate", json={})).status_code == 403
    # The page's buttons do the same, and a refusal comes back as a notice.
    csrf = form_csrf((await http.get(f"/admin/people/{employee}")).text)
    done = await http.post(f"/admin/people/{employee}/roles", data={"csrf_token": csrf, "role": "admin", "on": "1"})
    assert done.status_code == 303
    page = await http.get(done.headers["location"])
    assert "Now an administrator." in page.text and "Unmake an administrator" in page.text
    await http.post(f"/admin/people/{employee}/roles", data={"csrf_token": csrf, "role": "admin", "on": "0"})
    done = await http.post(f"/admin/people/{who['admin'].id}/roles", data={"csrf_token": csrf, "role": "admin", "on": "0"})
    assert "last administrator" in (await http.get(done.headers["location"])).text
    async with resources.db() as db:
        actions = [a for a in (await db.execute(select(AuditEntry.action).where(
            AuditEntry.target_id == employee).order_by(AuditEntry.id))).scalars()]
    assert actions.count("user.role_changed") == 4 and "user.deactivated" in actions and "user.reactivated" in actions


@pytest.mark.parametrize("field", ["csv", "list"])
async def test_bad_invitation_input_names_the_field(resources: Resources, make_user: Any, sign_in: Any,
                                                    field: str) -> None:
    who = await people(resources, make_user)
    http = await sign_in(who["admin"])
    body = {"csv": "name,role\nAda,\n"} if field == "csv" else {"list": "   "}
    response = await http.post(f"{API}/invitations", json={**body, "dry_run": True})
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == ({"csv"} if field == "csv" else {"emails"})
