"""Rooms over the JSON API: creation, phases, joining, the timeline."""

from __future__ import annotations

import httpx
import pytest

from innovate.rooms.events import next_seq
from innovate.rooms.models import Room
from innovate.writes import write
from tests.factories import join, make_message, make_room


@pytest.fixture
async def people(make_user):
    return {
        "admin": await make_user("admin@example.com", name="Ada Admin", is_admin=True),
        "mod": await make_user("mod@example.com", name="Mo Derator", is_moderator=True),
        "emp": await make_user("emp@example.com", name="Em Ployee"),
        "emp2": await make_user("emp2@example.com", name="Eve Second"),
        "guest": await make_user("guest@example.org", name="Gus Guest", kind="guest"),
    }


async def test_create_room_and_read_it_back(people, sign_in) -> None:
    http = await sign_in(people["mod"])
    created = await http.post("/api/v1/rooms", json={
        "slug": "green-logistics", "title": "Green logistics", "brief": "Cut **emissions** <script>x</script>",
        "visibility": "employees", "voting_mode": "budget", "budget": 5, "max_per_idea": 2,
        "hide_tallies_until_closed": True, "allow_anonymous": True, "phase": "open",
    })
    assert created.status_code == 201, created.text
    room = created.json()
    assert room["slug"] == "green-logistics" and room["phase"] == "open" and room["my_role"] == "moderator"
    assert room["voting"] == {"mode": "budget", "budget": 5, "max_per_idea": 2, "votes_in_open": True,
                              "hide_tallies_until_closed": True, "allow_anonymous": True}
    assert "<strong>emissions</strong>" in room["brief_html"] and "<script>" not in room["brief_html"]
    again = await http.get("/api/v1/rooms/green-logistics")
    assert again.json()["last_seq"] >= 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"slug": "Bad Slug!", "title": "t"}, "slug"),
        ({"slug": "ok-slug", "title": "   "}, "title"),
        ({"slug": "ok-slug", "title": "x" * 201}, "title"),
        ({"slug": "ok-slug", "title": "t", "voting_mode": "ranked"}, "voting_mode"),
        ({"slug": "ok-slug", "title": "t", "voting_mode": "budget"}, "budget"),
        ({"slug": "ok-slug", "title": "t", "voting_mode": "budget", "budget": 3, "max_per_idea": 4}, "max_per_idea"),
        ({"slug": "ok-slug", "title": "t", "budget": "many", "voting_mode": "budget"}, "budget"),
        ({"slug": "ok-slug", "title": "t", "visibility": "public"}, "visibility"),
        ({"slug": "ok-slug", "title": "t", "opens_at": "tomorrow"}, "opens_at"),
        ({"slug": "ok-slug", "title": "t", "voting_at": "2030-01-02T00:00:00Z", "closes_at": "2030-01-01T00:00:00Z"},
         "closes_at"),
        ({"slug": "ok-slug", "title": ["t"]}, "title"),
        ({"slug": "ok-slug", "title": "t", "cover_url": "javascript:alert(1)"}, "cover_url"),
        ({"slug": "new", "title": "t"}, "slug"),
    ],
)
async def test_bad_room_input_names_the_field(people, sign_in, payload, field) -> None:
    http = await sign_in(people["mod"])
    response = await http.post("/api/v1/rooms", json=payload)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["fields"]
    assert (await http.get("/api/v1/rooms")).json()["items"] == []  # nothing half-written


async def test_malformed_json_and_duplicate_slug(people, sign_in) -> None:
    http = await sign_in(people["mod"])
    bad = await http.post("/api/v1/rooms", content=b"{not json", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"]["fields"] == {"body": "malformed JSON"}
    array = await http.post("/api/v1/rooms", json=["x"])
    assert array.status_code == 400
    assert (await http.post("/api/v1/rooms", json={"slug": "dup", "title": "One"})).status_code == 201
    dup = await http.post("/api/v1/rooms", json={"slug": "dup", "title": "Two"})
    assert dup.status_code == 409 and dup.json()["error"]["fields"] == {"slug": "already taken"}


async def test_only_moderators_and_admins_create_rooms(people, sign_in) -> None:
    for who, status in (("admin", 201), ("mod", 201), ("emp", 403), ("guest", 403)):
        http = await sign_in(people[who])
        response = await http.post("/api/v1/rooms", json={"slug": f"by-{who}", "title": "Room"})
        assert response.status_code == status, (who, response.text)


async def test_phases_decide_what_is_allowed(people, sign_in, resources) -> None:
    room = await make_room(resources, people["mod"], phase="draft", votes_in_open=False)
    mod = await sign_in(people["mod"])
    emp = await sign_in(people["emp"])
    # Draft rooms are invisible to employees.
    assert (await emp.get(f"/api/v1/rooms/{room.slug}")).status_code == 404
    assert (await mod.patch(f"/api/v1/rooms/{room.slug}", json={"phase": "open"})).json()["phase"] == "open"
    assert (await emp.post(f"/api/v1/rooms/{room.slug}/join")).status_code == 200
    idea = await emp.post(f"/api/v1/rooms/{room.slug}/ideas", json={"title": "Solar roofs", "body": "On depots."})
    assert idea.status_code == 201
    idea_id = idea.json()["id"]
    early = await emp.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": 1})
    assert early.status_code == 409 and "voting phase" in early.json()["error"]["message"]
    await mod.patch(f"/api/v1/rooms/{room.slug}", json={"phase": "voting"})
    late_idea = await emp.post(f"/api/v1/rooms/{room.slug}/ideas", json={"title": "Late", "body": "Too late"})
    assert late_idea.status_code == 409
    edit = await emp.patch(f"/api/v1/ideas/{idea_id}", json={"title": "Edited"})
    assert edit.status_code == 409 and "until voting starts" in edit.json()["error"]["message"]
    assert (await emp.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": 1})).status_code == 200
    assert (await emp.post(f"/api/v1/rooms/{room.slug}/messages", json={"body": "still talking"})).status_code == 201
    await mod.patch(f"/api/v1/rooms/{room.slug}", json={"phase": "closed"})
    for response in (
        await emp.post(f"/api/v1/rooms/{room.slug}/messages", json={"body": "closed now"}),
        await emp.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": -1}),
        await emp.delete(f"/api/v1/ideas/{idea_id}/vote"),
    ):
        assert response.status_code == 409
    back = await mod.patch(f"/api/v1/rooms/{room.slug}", json={"phase": "open"})
    assert back.status_code == 409 and "cannot go back" in back.json()["error"]["message"]
    await mod.patch(f"/api/v1/rooms/{room.slug}", json={"phase": "archived"})
    final = await mod.patch(f"/api/v1/rooms/{room.slug}", json={"phase": "closed"})
    assert final.status_code == 409


async def test_scheduled_phase_changes(people, resources) -> None:
    from datetime import timedelta

    from innovate.db import utcnow
    from innovate.rooms.service import apply_due_phases, update_room

    room = await make_room(resources, people["mod"], phase="draft")
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    future = (utcnow() + timedelta(days=1)).isoformat()
    await update_room(resources, people["mod"], room.slug, {"opens_at": past, "voting_at": future})
    assert await apply_due_phases(resources) == [(room.slug, "open")]
    assert await apply_due_phases(resources) == []  # applied once only
    async with resources.db() as db:
        from sqlalchemy import select

        from innovate.audit import AuditEntry
        from innovate.rooms.models import Room

        fresh = await db.get(Room, room.id)
        assert fresh.phase == "open"
        entry = (await db.execute(select(AuditEntry).where(AuditEntry.action == "room.phase_changed"))).scalars().all()
        assert entry[-1].data == {"from": "draft", "to": "open", "scheduled": True}


async def test_join_and_leave(people, sign_in, resources) -> None:
    room = await make_room(resources, people["mod"])
    private = await make_room(resources, people["mod"], visibility="invite-only")
    emp = await sign_in(people["emp"])
    assert (await emp.post(f"/api/v1/rooms/{private.slug}/join")).status_code == 404
    joined = await emp.post(f"/api/v1/rooms/{room.slug}/join")
    assert joined.status_code == 200 and joined.json()["my_role"] == "member"
    members = (await emp.get(f"/api/v1/rooms/{room.slug}/members")).json()["items"]
    assert {m["name"] for m in members} == {"Mo Derator", "Em Ployee"}
    assert (await emp.delete(f"/api/v1/rooms/{room.slug}/membership")).status_code == 204
    assert (await emp.delete(f"/api/v1/rooms/{room.slug}/membership")).status_code == 409
    assert (await emp.post(f"/api/v1/rooms/{room.slug}/messages", json={"body": "hi"})).status_code == 403
    guest = await sign_in(people["guest"])
    assert (await guest.post(f"/api/v1/rooms/{room.slug}/join")).status_code == 404


async def test_room_directory_search_and_filters(people, sign_in, resources) -> None:
    await make_room(resources, people["mod"], slug="solar-fleet", title="Solar fleet")
    await make_room(resources, people["mod"], slug="hiring-2027", title="Hiring 2027", phase="voting")
    await make_room(resources, people["mod"], slug="secret-plan", title="Secret plan", visibility="invite-only")
    emp = await sign_in(people["emp"])
    titles = lambda r: {i["title"] for i in r.json()["items"]}  # noqa: E731
    assert titles(await emp.get("/api/v1/rooms")) == {"Solar fleet", "Hiring 2027"}
    assert titles(await emp.get("/api/v1/rooms", params={"q": "SOLAR"})) == {"Solar fleet"}
    assert titles(await emp.get("/api/v1/rooms", params={"phase": "voting"})) == {"Hiring 2027"}
    bad = await emp.get("/api/v1/rooms", params={"phase": "later"})
    assert bad.status_code == 422 and "phase" in bad.json()["error"]["fields"]
    admin = await sign_in(people["admin"])
    assert len((await admin.get("/api/v1/rooms")).json()["items"]) == 3
    guest = await sign_in(people["guest"])
    assert (await guest.get("/api/v1/rooms")).json()["items"] == []


async def test_events_timeline_per_viewer(people, sign_in, resources) -> None:
    room = await make_room(resources, people["mod"], premoderation="all")
    await join(resources, room, people["emp"])
    from innovate.rooms.memberships import add_member
    from innovate.writes import write

    async with write(resources) as (db, outbox):
        await add_member(db, outbox, room, people["guest"])
    await make_message(resources, people["emp"], room, "visible to all")
    held = await make_message(resources, people["guest"], room, "awaiting review")
    assert held.state == "held"
    emp = await sign_in(people["emp"])
    guest = await sign_in(people["guest"])
    mod = await sign_in(people["mod"])
    kinds = lambda r: [(e["kind"], e["data"].get("message", {}).get("body")) for e in r.json()["events"]]  # noqa: E731
    emp_events = kinds(await emp.get(f"/api/v1/rooms/{room.slug}/events"))
    assert ("message.posted", "visible to all") in emp_events
    assert all(body != "awaiting review" for _, body in emp_events)
    assert ("message.posted", "awaiting review") in kinds(await guest.get(f"/api/v1/rooms/{room.slug}/events"))
    assert ("message.posted", "awaiting review") in kinds(await mod.get(f"/api/v1/rooms/{room.slug}/events"))
    timeline = (await mod.get(f"/api/v1/rooms/{room.slug}/events", params={"after": 2, "limit": 2})).json()
    assert [e["seq"] for e in timeline["events"]] == [3, 4]
    assert timeline["last_seq"] == 5
    assert (await mod.get(f"/api/v1/rooms/{room.slug}/events", params={"after": "x"})).status_code == 422
    assert (await mod.get(f"/api/v1/rooms/{room.slug}/events", params={"limit": 0})).status_code == 422


async def test_unknown_ids_are_404(people, sign_in, resources) -> None:
    emp = await sign_in(people["emp"])
    for path in ("/api/v1/rooms/nope", "/api/v1/ideas/999999", "/api/v1/ideas/abc", "/api/v1/rooms/nope/ideas"):
        assert (await emp.get(path)).status_code == 404, path
    assert (await emp.put("/api/v1/ideas/999999/vote", json={"value": 1})).status_code == 404
    assert (await emp.patch("/api/v1/messages/999999", json={"body": "x"})).status_code == 404
    assert (await emp.delete("/api/v1/messages/999999")).status_code == 404


async def test_not_signed_in_is_401(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/rooms", "/api/v1/rooms/x", "/api/v1/rooms/x/events", "/api/v1/ideas/1"):
        assert (await client.get(path)).status_code == 401


async def test_archiving_ends_guest_sessions(people, sign_in, resources) -> None:
    from innovate.rooms.memberships import add_member
    from innovate.writes import write

    room = await make_room(resources, people["mod"], guests_until="closed")
    async with write(resources) as (db, outbox):
        await add_member(db, outbox, room, people["guest"])
    guest = await sign_in(people["guest"])
    assert (await guest.get(f"/api/v1/rooms/{room.slug}")).status_code == 200
    mod = await sign_in(people["mod"])
    assert (await mod.patch(f"/api/v1/rooms/{room.slug}", json={"phase": "closed"})).status_code == 200
    # The room closed for guests and it was their only room: their session is gone.
    assert (await guest.get("/api/v1/me")).status_code == 401
    assert (await mod.get("/api/v1/me")).status_code == 200


async def test_a_room_loaded_in_a_write_shows_the_seq_its_events_took(resources, people) -> None:
    room = await make_room(resources, people["mod"])
    async with write(resources) as (db, _outbox):
        loaded = await db.get(Room, room.id)
        assert loaded is not None
        first = await next_seq(db, room.id)
        second = await next_seq(db, room.id)
        assert loaded.last_seq == second == first + 1
        assert loaded not in db.sync_session.dirty  # nothing for the commit to write again
    async with resources.db() as db:
        assert (await db.get(Room, room.id)).last_seq == second
