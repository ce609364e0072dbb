"""Communities open by request: an employee asks to join (with a short message), the owners
approve or decline (with a reason), the requester is told. Every role against every route, on
both databases; the cool-down, the rate limit, withdrawal, and what becomes of pending requests
when a community is opened or archived."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from innovate import audit
from innovate.audit import AuditEntry
from innovate.db import utcnow
from innovate.notifications.models import Notification
from innovate.resources import Resources
from innovate.rooms import service
from innovate.rooms.models import JoinRequest, Membership, Room
from tests.factories import join

HX = {"HX-Request": "true"}


@pytest.fixture
async def people(app: Any, make_user: Any) -> dict[str, Any]:
    return {
        "admin": await make_user("admin@example.com", name="Ada Admin", is_admin=True),
        "owner": await make_user("owner@example.com", name="Olga Owner"),
        "comod": await make_user("comod@example.com", name="Cole Moderator"),
        "member": await make_user("member@example.com", name="Mel Member"),
        "emp": await make_user("emp@example.com", name="Em Ployee"),
        "emp2": await make_user("emp2@example.com", name="Eve Second"),
        "guest": await make_user("guest@example.org", name="Gus Guest", kind="guest"),
    }


async def by_request(resources: Resources, people: dict[str, Any], slug: str = "book-club") -> Room:
    """A community open by request, with a co-moderator and a plain member."""
    room = await service.create_room(resources, people["owner"], {
        "kind": "community", "slug": slug, "title": "Book club", "brief": "We *read*.", "visibility": "by-request"})
    await service.update_room(resources, people["owner"], slug, {"visibility": "employees"})
    await join(resources, room, people["comod"], people["member"])
    await service.update_room(resources, people["owner"], slug, {"visibility": "by-request"})
    async with resources.db.begin() as db:
        await db.execute(update(Membership).where(Membership.room_id == room.id, Membership.user_id == people["comod"].id)
                         .values(role="moderator"))
    return room


async def notes(resources: Resources, user_id: int, kind: str) -> list[Notification]:
    async with resources.db() as db:
        return list((await db.execute(select(Notification).where(
            Notification.user_id == user_id, Notification.kind == kind).order_by(Notification.id))).scalars())


async def requests_of(resources: Resources, room_id: int) -> list[JoinRequest]:
    async with resources.db() as db:
        return list((await db.execute(select(JoinRequest).where(JoinRequest.room_id == room_id)
                                      .order_by(JoinRequest.id))).scalars())


async def audit_of(resources: Resources, room_id: int, action: str) -> list[AuditEntry]:
    async with resources.db() as db:
        return list((await db.execute(select(AuditEntry).where(AuditEntry.room_id == room_id, AuditEntry.action == action)
                                      .order_by(AuditEntry.id))).scalars())


async def test_an_employee_asks_and_an_owner_approves(people: dict[str, Any], resources: Resources,
                                                      sign_in: Any) -> None:
    room = await by_request(resources, people)
    owner, emp = await sign_in(people["owner"]), await sign_in(people["emp"])
    await owner.put("/api/v1/rooms/book-club/tags", json={"tags": ["Reading"]})
    # Listed with its name, description, tags and members; its content stays the members'.
    card = next(c for c in (await emp.get("/api/v1/communities")).json()["items"] if c["slug"] == "book-club")
    assert (card["visibility"], card["members"], card["can_join"], card["can_request"], card["my_request"]) == (
        "by-request", 3, False, True, None)
    assert [t["label"] for t in card["tags"]] == ["Reading"]
    assert [c["slug"] for c in (await emp.get("/api/v1/communities", params={"tag": "reading"})).json()["items"]] == [
        "book-club"]
    assert (await emp.get("/api/v1/rooms/book-club")).status_code == 404
    assert (await emp.post("/api/v1/rooms/book-club/join")).status_code == 404
    link = await emp.get("/rooms/book-club")
    assert link.status_code == 303 and link.headers["location"] == "/communities/book-club"
    about = await emp.get("/communities/book-club")
    assert about.status_code == 200 and "Ask to join" in about.text and "Reading" in about.text
    listed = await emp.get("/communities")
    assert listed.status_code == 200 and 'action="/communities/book-club/request"' in listed.text
    assert 'href="/communities/book-club"' in listed.text
    assert "<em>read</em>" in about.text
    # Asking: once; a second ask is refused while the first waits.
    asked = await emp.post("/api/v1/communities/book-club/requests", json={"message": "I read a lot of sci-fi."})
    assert asked.status_code == 201, asked.text
    mine = asked.json()["my_request"]
    assert (mine["state"], mine["message"], asked.json()["can_request"]) == ("pending", "I read a lot of sci-fi.", False)
    again = await emp.post("/api/v1/communities/book-club/requests", json={})
    assert again.status_code == 409 and "already asked" in again.json()["error"]["message"]
    assert "Request pending" in (await emp.get("/communities/book-club")).text
    assert "Request pending" in (await emp.get("/communities")).text
    # Both owners hear of it, as one item that counts the people waiting.
    for who in ("owner", "comod"):
        [note] = await notes(resources, people[who].id, "join_request")
        assert (note.category, note.path, note.data) == ("invitations", "/rooms/book-club/requests", {"pending": 1})
    await (await sign_in(people["emp2"])).post("/api/v1/communities/book-club/requests", json={})
    items = (await owner.get("/api/v1/me/notifications")).json()["items"]
    assert [i["subject"] for i in items if i["kind"] == "join_request"] == ["2 people ask to join 'Book club'"]
    # Opening the queue is reading it.
    assert (await owner.get("/rooms/book-club/requests")).status_code == 200
    [note] = await notes(resources, people["owner"].id, "join_request")
    assert note.read_at is not None and note.count == 2
    assert await notes(resources, people["member"].id, "join_request") == []
    # The queue, oldest first, with the message.
    queue = (await owner.get("/api/v1/communities/book-club/requests")).json()
    assert [(q["user"]["name"], q["message"]) for q in queue["pending"]] == [
        ("Em Ployee", "I read a lot of sci-fi."), ("Eve Second", "")]
    approved = await owner.post(f"/api/v1/communities/book-club/requests/{queue['pending'][0]['id']}/approve")
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    twice = await owner.post(f"/api/v1/communities/book-club/requests/{queue['pending'][0]['id']}/decline")
    assert twice.status_code == 409
    # The requester is in, and told.
    assert (await emp.get("/api/v1/rooms/book-club")).json()["my_role"] == "member"
    assert (await emp.post("/api/v1/rooms/book-club/messages", json={"body": "Hello readers"})).status_code == 201
    told = [i for i in (await emp.get("/api/v1/me/notifications")).json()["items"] if i["kind"] == "join_approved"]
    assert [(i["subject"], i["url"], i["category"]) for i in told] == [
        ("You are in: Olga Owner approved your request to join 'Book club'", "/rooms/book-club", "invitations")]
    assert await notes(resources, people["emp"].id, "added_to_room") == []  # the answer says it
    [entry] = await audit_of(resources, room.id, audit.JOIN_REQUEST_APPROVED)
    assert (entry.actor_id, entry.target_kind, entry.target_id) == (people["owner"].id, "user", people["emp"].id)
    counted = (await owner.get("/api/v1/communities/book-club")).json()
    assert counted["members"] == 4
    # The owners' audit log shows the decision.
    logged = (await owner.get("/api/v1/rooms/book-club/audit", params={"action": "join_request.approved"})).json()
    assert [(e["action"], e["target_id"]) for e in logged["items"]] == [("join_request.approved", people["emp"].id)]


async def test_a_decline_with_its_reason_and_the_cool_down(people: dict[str, Any], resources: Resources,
                                                           sign_in: Any, make_settings: Any) -> None:
    room = await by_request(resources, people)
    emp, comod = await sign_in(people["emp"]), await sign_in(people["comod"])
    await emp.post("/api/v1/communities/book-club/requests", json={"message": "Hi"})
    [pending] = (await comod.get("/api/v1/communities/book-club/requests")).json()["pending"]
    too_long = await comod.post(f"/api/v1/communities/book-club/requests/{pending['id']}/decline",
                                json={"reason": "x" * 501})
    assert too_long.status_code == 422 and "reason" in too_long.json()["error"]["fields"]
    declined = await comod.post(f"/api/v1/communities/book-club/requests/{pending['id']}/decline",
                                json={"reason": "We are full this season"})
    assert declined.status_code == 200 and declined.json()["reason"] == "We are full this season"
    told = [i for i in (await emp.get("/api/v1/me/notifications")).json()["items"] if i["kind"] == "join_declined"]
    assert [(i["subject"], i["url"]) for i in told] == [
        ("Your request to join 'Book club' was declined: We are full this season", "/communities/book-club")]
    [entry] = await audit_of(resources, room.id, audit.JOIN_REQUEST_DECLINED)
    assert (entry.actor_id, entry.target_id, entry.reason) == (people["comod"].id, people["emp"].id,
                                                               "We are full this season")
    # Not again before the cool-down: the card says when.
    card = (await emp.get("/api/v1/communities/book-club")).json()
    assert card["can_request"] is False and card["my_request"]["state"] == "declined"
    assert card["my_request"]["reason"] == "We are full this season" and card["my_request"]["may_ask_again_at"]
    refused = await emp.post("/api/v1/communities/book-club/requests", json={})
    assert refused.status_code == 409 and "ask again from" in refused.json()["error"]["message"]
    page = (await emp.get("/communities/book-club")).text
    assert "The owners declined your request" in page and "We are full this season" in page
    # Once it is over, they may ask again.
    async with resources.db.begin() as db:
        await db.execute(update(JoinRequest).values(decided_at=utcnow() - timedelta(days=31)))
    assert (await emp.get("/api/v1/communities/book-club")).json()["can_request"] is True
    assert (await emp.post("/api/v1/communities/book-club/requests", json={})).status_code == 201
    # A site without a cool-down lets a declined person ask at once.
    resources.settings = make_settings(join_request_cooldown_days=0)
    [again] = (await comod.get("/api/v1/communities/book-club/requests")).json()["pending"]
    await comod.post(f"/api/v1/communities/book-club/requests/{again['id']}/decline", json={})
    assert (await emp.post("/api/v1/communities/book-club/requests", json={})).status_code == 201


async def test_withdrawing_and_the_rate_limit(people: dict[str, Any], resources: Resources, sign_in: Any,
                                              make_settings: Any) -> None:
    room = await by_request(resources, people)
    emp, owner = await sign_in(people["emp"]), await sign_in(people["owner"])
    assert (await emp.delete("/api/v1/communities/book-club/requests/mine")).status_code == 409
    await emp.post("/api/v1/communities/book-club/requests", json={})
    withdrawn = await emp.delete("/api/v1/communities/book-club/requests/mine")
    assert withdrawn.status_code == 200 and withdrawn.json()["my_request"] is None
    assert withdrawn.json()["can_request"] is True
    queue = (await owner.get("/api/v1/communities/book-club/requests")).json()
    assert queue["pending"] == [] and [q["state"] for q in queue["answered"]] == ["withdrawn"]
    assert [r.state for r in await requests_of(resources, room.id)] == ["withdrawn"]
    # Withdrawn requests count: asking and withdrawing cannot tell the owners again and again.
    resources.settings = make_settings(join_requests_per_day=2)
    assert (await emp.post("/api/v1/communities/book-club/requests", json={})).status_code == 201
    await emp.delete("/api/v1/communities/book-club/requests/mine")
    too_many = await emp.post("/api/v1/communities/book-club/requests", json={})
    assert too_many.status_code == 429 and int(too_many.headers["Retry-After"]) > 0
    assert "at most 2 communities a day" in too_many.json()["error"]["message"]


async def test_opening_the_community_lets_in_everyone_waiting(people: dict[str, Any], resources: Resources,
                                                              sign_in: Any) -> None:
    room = await by_request(resources, people)
    emp, eve, owner = await sign_in(people["emp"]), await sign_in(people["emp2"]), await sign_in(people["owner"])
    await emp.post("/api/v1/communities/book-club/requests", json={})
    await eve.post("/api/v1/communities/book-club/requests", json={})
    await eve.delete("/api/v1/communities/book-club/requests/mine")
    # Made invitation-only, what waits stays for the owners to answer.
    assert (await owner.patch("/api/v1/rooms/book-club", json={"visibility": "invite-only"})).status_code == 200
    assert len((await owner.get("/api/v1/communities/book-club/requests")).json()["pending"]) == 1
    assert (await emp.get("/api/v1/communities/book-club")).json()["my_request"]["state"] == "pending"
    assert (await owner.patch("/api/v1/rooms/book-club", json={"visibility": "by-request"})).status_code == 200
    # Opened to every employee: whoever still waits is in, and told why.
    assert (await owner.patch("/api/v1/rooms/book-club", json={"visibility": "employees"})).status_code == 200
    assert [(r.state, r.decided_by_id) for r in await requests_of(resources, room.id)] == [
        ("approved", people["owner"].id), ("withdrawn", None)]
    assert (await emp.get("/api/v1/rooms/book-club")).json()["my_role"] == "member"
    assert (await eve.get("/api/v1/rooms/book-club")).json()["my_role"] is None
    told = [i["subject"] for i in (await emp.get("/api/v1/me/notifications")).json()["items"] if i["kind"] == "join_approved"]
    assert told == ["'Book club' is now open to all employees, and you are in"]
    [entry] = await audit_of(resources, room.id, audit.JOIN_REQUEST_APPROVED)
    assert entry.data["opened"] is True and entry.target_id == people["emp"].id


async def test_archiving_closes_what_waits(people: dict[str, Any], resources: Resources, sign_in: Any) -> None:
    room = await by_request(resources, people)
    emp = await sign_in(people["emp"])
    await emp.post("/api/v1/communities/book-club/requests", json={})
    admin = await sign_in(people["admin"])
    assert (await admin.post("/api/v1/communities/book-club/archive")).status_code == 200
    assert [r.state for r in await requests_of(resources, room.id)] == ["closed"]
    assert (await emp.get("/api/v1/communities/book-club")).status_code == 404
    assert (await emp.delete("/api/v1/communities/book-club/requests/mine")).status_code == 404


@pytest.mark.parametrize("community_guests", [False, True])
async def test_guests_never_ask(people: dict[str, Any], resources: Resources, sign_in: Any, make_settings: Any,
                                community_guests: bool) -> None:
    resources.settings = make_settings(community_guests=community_guests)
    await by_request(resources, people)
    guest = await sign_in(people["guest"])
    assert (await guest.get("/api/v1/communities")).json()["items"] == []
    assert (await guest.get("/api/v1/communities/book-club")).status_code == 404
    assert (await guest.post("/api/v1/communities/book-club/requests", json={})).status_code == 404
    assert (await guest.post("/communities/book-club/request", data={})).status_code == 404
    assert (await guest.get("/communities/book-club")).status_code == 404
    assert (await guest.get("/rooms/book-club")).status_code == 404


async def test_every_role_against_every_api_route(people: dict[str, Any], resources: Resources, sign_in: Any,
                                                  client: httpx.AsyncClient) -> None:
    await by_request(resources, people)
    other = await service.create_room(resources, people["emp2"], {"kind": "community", "slug": "runners",
                                                                  "title": "Runners", "visibility": "by-request"})
    assert other.visibility == "by-request"
    http = {who: await sign_in(people[who]) for who in ("admin", "owner", "comod", "member", "emp", "emp2", "guest")}
    base = "/api/v1/communities/book-club"

    async def new_request() -> int:
        """A fresh pending request from Em (what came before withdrawn, a decline's cool-down over)."""
        async with resources.db.begin() as db:
            await db.execute(update(JoinRequest).where(JoinRequest.state == "pending").values(state="withdrawn"))
            await db.execute(update(JoinRequest).where(JoinRequest.state == "declined")
                             .values(decided_at=utcnow() - timedelta(days=365)))
        assert (await http["emp"].post(f"{base}/requests", json={})).status_code == 201
        return (await http["owner"].get(f"{base}/requests")).json()["pending"][0]["id"]

    # Reading one community.
    expected = {"admin": 200, "owner": 200, "comod": 200, "member": 200, "emp": 200, "emp2": 200, "guest": 404}
    assert {who: (await c.get(base)).status_code for who, c in http.items()} == expected
    # Asking: only an employee who is not in (admins join directly).
    expected = {"admin": 409, "owner": 409, "comod": 409, "member": 409, "guest": 404, "emp2": 201}
    assert {who: (await http[who].post(f"{base}/requests", json={})).status_code for who in expected} == expected
    # The queue: the community's moderators and the administrators. An owner of another
    # community has no power here (they cannot even see this one).
    expected = {"admin": 200, "owner": 200, "comod": 200, "member": 403, "emp": 404, "emp2": 404, "guest": 404}
    assert {who: (await c.get(f"{base}/requests")).status_code for who, c in http.items()} == expected
    # Answering.
    for action in ("approve", "decline"):
        request_id = await new_request()
        for who, status in (("member", 403), ("emp", 404), ("emp2", 404), ("guest", 404)):
            assert (await http[who].post(f"{base}/requests/{request_id}/{action}", json={})).status_code == status, who
        # Signed out: refused before anything (the CSRF check answers first for a post).
        assert (await client.post(f"{base}/requests/{request_id}/{action}", json={})).status_code in (401, 403)
        assert (await http["emp2"].post(f"/api/v1/communities/runners/requests/{request_id}/{action}",
                                        json={})).status_code == 404  # not a request of that community
        for who in ("admin", "owner", "comod"):
            if who != "admin":
                request_id = await new_request()
            answered = await http[who].post(f"{base}/requests/{request_id}/{action}", json={})
            assert answered.status_code == 200, (who, action, answered.text)
            if action == "approve":
                assert (await http["emp"].delete("/api/v1/rooms/book-club/membership")).status_code in (200, 204)
    bad = await http["owner"].post(f"{base}/requests/{await new_request()}/approve",
                                   content=b"[1]", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"
    assert (await http["owner"].post(f"{base}/requests/999999/approve", json={})).status_code == 404
    # Withdrawing: one's own pending request only.
    assert (await http["emp"].delete(f"{base}/requests/mine")).status_code == 200
    assert (await http["member"].delete(f"{base}/requests/mine")).status_code == 409
    assert (await http["guest"].delete(f"{base}/requests/mine")).status_code == 404
    # Signed out: 401 (a change is refused by the CSRF check first: 403).
    for method, path in (("GET", base), ("GET", f"{base}/requests")):
        assert (await client.request(method, path)).status_code == 401, path
    for method, path in (("POST", f"{base}/requests"), ("DELETE", f"{base}/requests/mine")):
        assert (await client.request(method, path)).status_code in (401, 403), path


async def test_every_role_against_every_page(people: dict[str, Any], resources: Resources, sign_in: Any,
                                             client: httpx.AsyncClient) -> None:
    room = await by_request(resources, people)
    http = {who: await sign_in(people[who]) for who in ("admin", "owner", "comod", "member", "emp", "guest")}
    # The about page: for employees who are not in; members go to the room.
    about = {who: (await c.get("/communities/book-club")) for who, c in http.items()}
    assert {who: r.status_code for who, r in about.items()} == {
        "admin": 303, "owner": 303, "comod": 303, "member": 303, "emp": 200, "guest": 404}
    assert about["member"].headers["location"] == "/rooms/book-club"
    # Asking from the directory (htmx swaps the card's part) and from the about page (plain).
    tall = await http["emp"].post("/communities/book-club/request", data={"message": "x" * 501}, headers=HX)
    assert tall.status_code == 422 and 'id="ask-book-club-message-error"' in tall.text
    asked = await http["emp"].post("/communities/book-club/request", data={"message": "Hi"}, headers=HX)
    assert asked.status_code == 200 and "Request pending" in asked.text and "Withdraw request" in asked.text
    twice = await http["emp"].post("/communities/book-club/request", data={})
    assert twice.status_code == 409 and "already asked" in twice.text
    for who in ("admin", "owner", "member"):
        assert (await http[who].post("/communities/book-club/request", data={}, headers=HX)).status_code == 409, who
    assert (await http["guest"].post("/communities/book-club/request", data={})).status_code == 404
    # The queue page and its live parts.
    paths = ("/rooms/book-club/requests", "/rooms/book-club/requests/queue", "/rooms/book-club/requests/count")
    for path in paths:
        statuses = {who: (await c.get(path)).status_code for who, c in http.items()}
        assert statuses == {"admin": 200, "owner": 200, "comod": 200, "member": 403, "emp": 404, "guest": 404}, path
    page = await http["owner"].get("/rooms/book-club/requests")
    assert "Em Ployee" in page.text and "emp@example.com" in page.text and "Approve" in page.text
    assert 'hx-ws:connect="/rooms/book-club/live' in page.text
    count = await http["owner"].get("/rooms/book-club/requests/count")
    assert 'id="join-requests-count"' in count.text and ">1<" in count.text
    room_page = await http["owner"].get("/rooms/book-club")
    assert 'href="/rooms/book-club/requests"' in room_page.text
    assert 'href="/rooms/book-club/requests"' not in (await http["member"].get("/rooms/book-club")).text
    [pending] = await requests_of(resources, room.id)
    for who, status in (("member", 403), ("emp", 404), ("guest", 404)):
        refused = await http[who].post(f"/rooms/book-club/requests/{pending.id}/approve", data={}, headers=HX)
        assert refused.status_code == status, who
    long_reason = await http["owner"].post(f"/rooms/book-club/requests/{pending.id}/decline",
                                           data={"reason": "y" * 501}, headers=HX)
    assert long_reason.status_code == 422 and f'id="request-{pending.id}-reason-error"' in long_reason.text
    approved = await http["comod"].post(f"/rooms/book-club/requests/{pending.id}/approve", data={}, headers=HX)
    assert approved.status_code == 200 and "Em Ployee is a member now." in approved.text
    late = await http["owner"].post(f"/rooms/book-club/requests/{pending.id}/decline", data={}, headers=HX)
    assert late.status_code == 409 and "approved already" in late.text
    # Withdrawing from the page.
    eve = await sign_in(people["emp2"])
    await eve.post("/communities/book-club/request", data={})
    withdrawn = await eve.post("/communities/book-club/withdraw", data={}, headers=HX)
    assert withdrawn.status_code == 200 and "Ask to join" in withdrawn.text
    assert (await eve.post("/communities/book-club/withdraw", data={}, headers=HX)).status_code == 409
    # The request part alone, as the live frame's refresh asks for it.
    part = {who: await c.get("/communities/book-club/request") for who, c in http.items()}
    assert {who: r.status_code for who, r in part.items()} == {
        "admin": 200, "owner": 200, "comod": 200, "member": 200, "emp": 200, "guest": 404}
    assert "You are in." in part["emp"].text and "<html" not in part["emp"].text
    # Signed out: to sign-in.
    for path in ("/communities/book-club", "/communities/book-club/request", *paths):
        assert (await client.get(path)).status_code == 303, path
    for path in ("/communities/book-club/request", "/communities/book-club/withdraw",
                 f"/rooms/book-club/requests/{pending.id}/approve"):
        assert (await client.post(path, data={})).status_code in (303, 403), path


async def test_a_persons_requests_are_in_their_export_and_go_with_erasure(
        people: dict[str, Any], resources: Resources, sign_in: Any) -> None:
    from innovate.people.erase import erase_user

    room = await by_request(resources, people)
    emp, owner = await sign_in(people["emp"]), await sign_in(people["owner"])
    await emp.post("/api/v1/communities/book-club/requests", json={"message": "Please, I love books"})
    [pending] = (await owner.get("/api/v1/communities/book-club/requests")).json()["pending"]
    await owner.post(f"/api/v1/communities/book-club/requests/{pending['id']}/decline", json={"reason": "Full"})
    exported = (await emp.get("/api/v1/me/export")).json()
    assert [(r["room"], r["state"], r["message"], r["reason"]) for r in exported["join_requests"]] == [
        ("book-club", "declined", "Please, I love books", "Full")]
    await erase_user(resources, people["admin"], people["emp"].id)
    assert await requests_of(resources, room.id) == []
    # The owners' answer stays in the audit trail, pointed at the Former member.
    [entry] = await audit_of(resources, room.id, audit.JOIN_REQUEST_DECLINED)
    assert entry.target_id != people["emp"].id and entry.reason == "Full"


async def tag_labels(resources: Resources, room_id: int) -> list[str]:
    from innovate.insights.interests import tags_of_rooms

    async with resources.db() as db:
        return [t.label for t in (await tags_of_rooms(db, [room_id]))[room_id]]


async def test_the_community_form_saves_its_tags_in_the_same_submit(people: dict[str, Any], resources: Resources,
                                                                    sign_in: Any) -> None:
    emp = await sign_in(people["emp"])
    # Every field's error at once, tags included, and nothing written.
    refused = await emp.post("/communities/new", data={"title": "", "slug": "poets", "tags": "x" * 50})
    assert refused.status_code == 422
    assert 'id="community-form-tags-error"' in refused.text and 'id="community-form-title-error"' in refused.text
    assert (await emp.get("/api/v1/rooms/poets")).status_code == 404
    created = await emp.post("/communities/new", data={"title": "Poets", "slug": "poets", "tags": "Poetry, Books",
                                                       "visibility": "by-request", "ideas_board": "on"})
    assert created.status_code == 303
    room = (await emp.get("/api/v1/rooms/poets")).json()
    assert await tag_labels(resources, room["id"]) == ["Books", "Poetry"]
    # One transaction: the creation and its tags are in the room's timeline together, before anything else.
    events = (await emp.get("/api/v1/rooms/poets/events", params={"after": 0})).json()["events"]
    assert [(e["kind"], e["data"].get("fields")) for e in events] == [("member.joined", None),
                                                                      ("room.updated", ["tags"])]


async def test_editing_a_community_with_its_tags(people: dict[str, Any], resources: Resources, sign_in: Any,
                                                 client: httpx.AsyncClient) -> None:
    room = await by_request(resources, people)
    http = {who: await sign_in(people[who]) for who in ("admin", "owner", "comod", "member", "emp", "guest")}
    statuses = {who: (await c.get("/communities/book-club/edit")).status_code for who, c in http.items()}
    assert statuses == {"admin": 200, "owner": 200, "comod": 200, "member": 403, "emp": 404, "guest": 404}
    assert (await client.get("/communities/book-club/edit")).status_code == 303
    owner = http["owner"]
    form = await owner.get("/communities/book-club/edit")
    assert 'value="Book club"' in form.text and 'name="slug"' not in form.text
    assert 'href="/communities/book-club/edit"' in (await owner.get("/rooms/book-club")).text
    bad = await owner.post("/communities/book-club/edit", data={"title": "", "tags": "a, " + "y" * 49,
                                                                 "visibility": "by-request"}, headers=HX)
    assert bad.status_code == 422
    assert 'id="community-form-tags-error"' in bad.text and 'id="community-form-title-error"' in bad.text
    assert (await owner.get("/api/v1/rooms/book-club")).json()["title"] == "Book club"
    saved = await owner.post("/communities/book-club/edit", data={
        "title": "Readers", "brief": "Novels", "tags": "Fiction, Reading", "visibility": "by-request",
        "ideas_board": "on"}, headers=HX)
    assert saved.status_code == 200 and "Saved." in saved.text and 'value="Fiction, Reading"' in saved.text
    assert (await owner.get("/api/v1/rooms/book-club")).json()["title"] == "Readers"
    assert await tag_labels(resources, room.id) == ["Fiction", "Reading"]
    assert [e.data for e in await audit_of(resources, room.id, audit.ROOM_TAGS_CHANGED)] == [
        {"tags": ["fiction", "reading"]}]
    for who, status in (("member", 403), ("emp", 404), ("guest", 404)):
        refused = await http[who].post("/communities/book-club/edit", data={"title": "Mine", "tags": ""})
        assert refused.status_code == status, who
    assert await tag_labels(resources, room.id) == ["Fiction", "Reading"]
    # A challenge is no community: not here.
    from tests.factories import make_room

    challenge = await make_room(resources, people["admin"])
    assert (await http["admin"].get(f"/communities/{challenge.slug}/edit")).status_code == 404


async def test_by_request_is_for_communities_and_an_invited_guest_is_a_member_like_any(
        people: dict[str, Any], resources: Resources, sign_in: Any, make_settings: Any) -> None:
    from innovate.accounts.hashing import token_hash
    from innovate.auth.invites import InviteRequest, Joiner, create_invite, redeem_invite
    from tests.factories import make_room

    challenge = await make_room(resources, people["admin"])
    admin = await sign_in(people["admin"])
    refused = await admin.patch(f"/api/v1/rooms/{challenge.slug}", json={"visibility": "by-request"})
    assert refused.status_code == 422 and "visibility" in refused.json()["error"]["fields"]
    # The room's settings form offers it for a community.
    await by_request(resources, people)
    owner = await sign_in(people["owner"])
    assert 'value="by-request" checked' in (await owner.get("/rooms/book-club/settings")).text
    # A guest the owners invited (where the site allows guests in communities) is a member: no
    # request, no queue.
    resources.settings = make_settings(community_guests=True)
    _invite, url = await create_invite(resources, people["owner"], "book-club", InviteRequest(max_uses=1))
    assert (await redeem_invite(resources, token_hash(url.rsplit("/", 1)[1]), Joiner(user=people["guest"]))).joined
    guest = await sign_in(people["guest"])
    assert (await guest.post("/api/v1/communities/book-club/requests", json={})).status_code == 409
    assert (await guest.get("/api/v1/communities/book-club/requests")).status_code == 403
    assert (await guest.get("/rooms/book-club/requests")).status_code == 403


async def test_the_owners_item_goes_once_nobody_waits(people: dict[str, Any], resources: Resources,
                                                      sign_in: Any) -> None:
    await by_request(resources, people)
    emp, eve, owner = await sign_in(people["emp"]), await sign_in(people["emp2"]), await sign_in(people["owner"])
    await emp.post("/api/v1/communities/book-club/requests", json={})
    assert len(await notes(resources, people["comod"].id, "join_request")) == 1
    # Withdrawn before anyone answered: nothing is left to tell the owners about.
    await emp.delete("/api/v1/communities/book-club/requests/mine")
    for who in ("owner", "comod"):
        assert await notes(resources, people[who].id, "join_request") == []
    unread = (await owner.get("/api/v1/me/notifications")).json()["unread"]
    assert unread == 0
    # Two ask; while one still waits the item stays, once both are answered it goes.
    await emp.post("/api/v1/communities/book-club/requests", json={})
    await eve.post("/api/v1/communities/book-club/requests", json={})
    first, second = (await owner.get("/api/v1/communities/book-club/requests")).json()["pending"]
    await owner.post(f"/api/v1/communities/book-club/requests/{first['id']}/approve")
    [still] = await notes(resources, people["comod"].id, "join_request")
    assert still.read_at is None
    await owner.post(f"/api/v1/communities/book-club/requests/{second['id']}/decline", json={})
    assert await notes(resources, people["comod"].id, "join_request") == []


async def test_who_comes_in_by_an_invite_leaves_the_queue(people: dict[str, Any], resources: Resources,
                                                          sign_in: Any) -> None:
    from innovate.accounts.hashing import token_hash
    from innovate.auth.invites import InviteRequest, Joiner, create_invite, redeem_invite

    room = await by_request(resources, people)
    emp, owner = await sign_in(people["emp"]), await sign_in(people["owner"])
    await emp.post("/api/v1/communities/book-club/requests", json={})
    _invite, url = await create_invite(resources, people["owner"], "book-club", InviteRequest(max_uses=1))
    assert (await redeem_invite(resources, token_hash(url.rsplit("/", 1)[1]), Joiner(user=people["emp"]))).joined
    assert [r.state for r in await requests_of(resources, room.id)] == ["closed"]
    assert (await owner.get("/api/v1/communities/book-club/requests")).json()["pending"] == []
    assert await notes(resources, people["owner"].id, "join_request") == []
    assert (await emp.get("/api/v1/communities/book-club")).json()["my_request"] is None


async def test_for_you_suggests_a_community_one_may_ask_to_join(people: dict[str, Any], resources: Resources,
                                                                 sign_in: Any) -> None:
    await by_request(resources, people)
    owner, emp = await sign_in(people["owner"]), await sign_in(people["emp"])
    await owner.put("/api/v1/rooms/book-club/tags", json={"tags": ["Reading"]})
    reading = next(t for t in (await emp.get("/api/v1/tags")).json()["items"] if t["label"] == "Reading")
    assert (await emp.put("/api/v1/me/interests", json={"tags": [reading["id"]]})).status_code == 200
    items = (await emp.get("/api/v1/me/for-you")).json()["items"]
    assert [(i["type"], i["item"]["slug"], i["reasons"]) for i in items] == [
        ("community", "book-club", ["because you follow the tag Reading"])]
    # Once asked, it waits for the owners, not for them.
    await emp.post("/api/v1/communities/book-club/requests", json={})
    assert (await emp.get("/api/v1/me/for-you")).json()["items"] == []
    # Members get no such suggestion; guests no "For you" at all.
    assert (await (await sign_in(people["member"])).get("/api/v1/me/for-you")).json()["items"] == []
    assert (await (await sign_in(people["guest"])).get("/api/v1/me/for-you")).status_code in (403, 404)
    # The directory's tag filter offers its tag, as the cards show it.
    assert 'value="reading"' in (await emp.get("/communities")).text
