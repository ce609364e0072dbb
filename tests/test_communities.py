"""Communities: any employee starts one at once; guests never see them uninvited; a
community's owners have power in it and nowhere else; the directory; abuse controls."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from innovate.accounts.hashing import token_hash
from innovate.auth.invites import InviteRequest, Joiner, create_invite, redeem_invite
from innovate.errors import AppError
from innovate.notifications.models import Notification
from innovate.resources import Resources
from innovate.rooms import service
from innovate.rooms.models import Room
from tests.factories import join, make_message, make_room


@pytest.fixture
async def people(make_user: Any) -> dict[str, Any]:
    return {
        "admin": await make_user("admin@example.com", name="Ada Admin", is_admin=True),
        "mod": await make_user("mod@example.com", name="Mo Derator", is_moderator=True),
        "emp": await make_user("emp@example.com", name="Em Ployee"),
        "emp2": await make_user("emp2@example.com", name="Eve Second"),
        "guest": await make_user("guest@example.org", name="Gus Guest", kind="guest"),
    }


async def community(resources: Resources, owner: Any, slug: str = "cyclists", **fields: Any) -> Room:
    return await service.create_room(resources, owner, {"kind": "community", "slug": slug, "title": slug.title(),
                                                        "brief": "We **ride** to work.", **fields})


async def test_an_employee_creates_a_community_at_once(people: dict[str, Any], sign_in: Any) -> None:
    emp = await sign_in(people["emp"])
    created = await emp.post("/api/v1/rooms", json={"kind": "community", "slug": "cyclists", "title": "Cyclists",
                                                    "brief": "Bikes", "visibility": "employees"})
    assert created.status_code == 201, created.text
    room = created.json()
    assert (room["kind"], room["phase"], room["my_role"], room["ideas_board"]) == ("community", "open", "moderator", True)
    # A colleague finds it in the directory, joins in one click and sees the count go up.
    eve = await sign_in(people["emp2"])
    items = (await eve.get("/api/v1/communities")).json()["items"]
    assert [(c["slug"], c["members"], c["can_join"], c["owners"]) for c in items] == [
        ("cyclists", 1, True, ["Em Ployee"])]
    assert (await eve.post("/api/v1/rooms/cyclists/join")).status_code == 200
    assert (await eve.post("/api/v1/rooms/cyclists/messages", json={"body": "Hi all"})).status_code == 201
    card = (await eve.get("/api/v1/communities")).json()["items"][0]
    assert (card["members"], card["activity_7d"], card["is_member"]) == (2, 1, True)
    # Communities stay out of the challenge list, and have their own.
    assert (await eve.get("/api/v1/rooms")).json()["items"] == []
    assert [r["slug"] for r in (await eve.get("/api/v1/rooms", params={"kind": "community"})).json()["items"]] == [
        "cyclists"]


async def test_a_community_has_no_phases(people: dict[str, Any], sign_in: Any) -> None:
    emp = await sign_in(people["emp"])
    for field, value in (("phase", "draft"), ("voting_at", "2030-01-01T00:00:00Z")):
        refused = await emp.post("/api/v1/rooms", json={"kind": "community", "slug": "c-one", "title": "C", field: value})
        assert refused.status_code == 422 and field in refused.json()["error"]["fields"]
    assert (await emp.post("/api/v1/rooms", json={"kind": "community", "slug": "c-one", "title": "C"})).status_code == 201
    moved = await emp.patch("/api/v1/rooms/c-one", json={"phase": "voting"})
    assert moved.status_code == 422 and "phase" in moved.json()["error"]["fields"]
    archive = await emp.patch("/api/v1/rooms/c-one", json={"phase": "archived"})
    assert archive.status_code == 403  # only administrators archive


async def test_the_ideas_board_is_optional(people: dict[str, Any], sign_in: Any) -> None:
    emp = await sign_in(people["emp"])
    await emp.post("/api/v1/rooms", json={"kind": "community", "slug": "talk-only", "title": "T", "ideas_board": False})
    refused = await emp.post("/api/v1/rooms/talk-only/ideas", json={"title": "An idea", "body": "x"})
    assert refused.status_code == 409
    assert (await emp.patch("/api/v1/rooms/talk-only", json={"ideas_board": True})).status_code == 200
    assert (await emp.post("/api/v1/rooms/talk-only/ideas", json={"title": "An idea", "body": "x"})).status_code == 201
    page = await emp.get("/rooms/talk-only")
    assert "Community" in page.text and "Voting starts" not in page.text


async def test_guests_cannot_create_and_never_see_communities_uninvited(
        people: dict[str, Any], resources: Resources, sign_in: Any) -> None:
    await community(resources, people["emp"])
    guest = await sign_in(people["guest"])
    refused = await guest.post("/api/v1/rooms", json={"kind": "community", "slug": "mine", "title": "Mine"})
    assert refused.status_code == 403
    assert (await guest.get("/api/v1/communities")).json()["items"] == []
    assert (await guest.get("/api/v1/rooms", params={"kind": "community"})).json()["items"] == []
    assert (await guest.get("/api/v1/rooms/cyclists")).status_code == 404
    assert (await guest.get("/rooms/cyclists")).status_code == 404
    assert (await guest.get("/communities")).status_code == 404
    assert (await guest.post("/api/v1/rooms/cyclists/join")).status_code == 404


async def test_guests_come_in_only_by_invitation_when_the_site_allows(
        people: dict[str, Any], resources: Resources, sign_in: Any, make_settings: Any) -> None:
    room = await community(resources, people["emp"])
    _invite, url = await create_invite(resources, people["emp"], room.slug, InviteRequest(max_uses=5))
    with pytest.raises(AppError):
        await redeem_invite(resources, token_hash(url.rsplit("/", 1)[1]), Joiner(user=people["guest"]))
    guest = await sign_in(people["guest"])
    assert (await guest.get("/api/v1/communities")).json()["items"] == []
    resources.settings = make_settings(community_guests=True)
    redemption = await redeem_invite(resources, token_hash(url.rsplit("/", 1)[1]), Joiner(user=people["guest"]))
    assert redemption.joined
    assert [c["slug"] for c in (await guest.get("/api/v1/communities")).json()["items"]] == ["cyclists"]
    assert (await guest.get("/api/v1/rooms/cyclists")).status_code == 200


async def test_an_owner_moderates_their_community_and_nothing_else(
        people: dict[str, Any], resources: Resources, sign_in: Any) -> None:
    emp, eve = people["emp"], people["emp2"]
    mine = await community(resources, emp)
    other = await community(resources, eve, "runners")
    challenge = await make_room(resources, people["mod"])
    await join(resources, mine, eve)
    await join(resources, other, emp)
    await join(resources, challenge, emp)
    in_mine = await make_message(resources, eve, mine, "Off topic")
    in_other = await make_message(resources, eve, other, "Hello runners")
    in_challenge = await make_message(resources, people["mod"], challenge, "Welcome")
    http = await sign_in(emp)
    assert (await http.post(f"/api/v1/messages/{in_mine.id}/hide", json={"reason": "off topic"})).status_code == 200
    for message in (in_other, in_challenge):
        assert (await http.post(f"/api/v1/messages/{message.id}/hide", json={"reason": "x"})).status_code == 403
    assert (await http.patch(f"/api/v1/rooms/{mine.slug}", json={"locked": True})).status_code == 200
    for slug in (other.slug, challenge.slug):
        assert (await http.patch(f"/api/v1/rooms/{slug}", json={"locked": True})).status_code == 403
        assert (await http.patch(f"/api/v1/rooms/{slug}/members/{eve.id}",
                                 json={"mute_minutes": 10})).status_code in (403, 404)
        assert (await http.get(f"/api/v1/rooms/{slug}/audit")).status_code in (403, 404)
    assert (await http.get(f"/api/v1/rooms/{mine.slug}/audit")).status_code == 200
    # Owners add a co-moderator, who may then hand the community over.
    assert (await http.patch(f"/api/v1/rooms/{mine.slug}/members/{eve.id}", json={"role": "moderator"})).status_code == 200
    assert (await http.patch(f"/api/v1/rooms/{mine.slug}/members/{emp.id}", json={"role": "member"})).status_code == 200
    assert (await http.patch(f"/api/v1/rooms/{mine.slug}", json={"locked": False})).status_code == 403


async def test_the_creation_limit(people: dict[str, Any], resources: Resources, sign_in: Any,
                                  make_settings: Any) -> None:
    resources.settings = make_settings(communities_per_employee=1)
    emp = await sign_in(people["emp"])
    assert (await emp.post("/api/v1/rooms", json={"kind": "community", "slug": "one", "title": "One"})).status_code == 201
    second = await emp.post("/api/v1/rooms", json={"kind": "community", "slug": "two", "title": "Two"})
    assert second.status_code == 409 and "communities" in second.json()["error"]["message"]
    admin = await sign_in(people["admin"])
    assert (await admin.post("/api/v1/communities/one/archive")).status_code == 200
    assert (await emp.post("/api/v1/rooms", json={"kind": "community", "slug": "two", "title": "Two"})).status_code == 201


async def _orphan_notices(resources: Resources, admin_id: int) -> list[Notification]:
    async with resources.db() as db:
        return list((await db.execute(select(Notification).where(
            Notification.user_id == admin_id, Notification.kind == "community_orphaned"))).scalars())


async def test_the_last_owner_leaving_flags_it_to_admins(people: dict[str, Any], resources: Resources,
                                                         sign_in: Any) -> None:
    room = await community(resources, people["emp"])
    await join(resources, room, people["emp2"])
    await service.leave_room(resources, people["emp"], room.slug)
    notices = await _orphan_notices(resources, people["admin"].id)
    assert [(n.path, n.title) for n in notices] == [("/admin/communities", "Cyclists")]
    admin = await sign_in(people["admin"])
    listed = (await admin.get("/api/v1/admin/communities")).json()["items"]
    assert listed[0]["slug"] == "cyclists" and listed[0]["orphaned_at"] and listed[0]["owners"] == []
    page = await admin.get("/admin/communities")
    assert "no owner" in page.text
    bad = await admin.post("/api/v1/communities/cyclists/owners", json={"user_id": people["guest"].id})
    assert bad.status_code == 422 and "user_id" in bad.json()["error"]["fields"]
    handed = await admin.post("/api/v1/communities/cyclists/owners", json={"email": "emp2@example.com"})
    assert handed.status_code == 200 and handed.json()["orphaned_at"] is None
    eve = await sign_in(people["emp2"])
    assert (await eve.get("/api/v1/rooms/cyclists")).json()["my_role"] == "moderator"
    for who in ("emp", "emp2", "mod"):
        http = await sign_in(people[who])
        assert (await http.post("/api/v1/communities/cyclists/owners", json={"user_id": people[who].id})).status_code == 403
        assert (await http.get("/api/v1/admin/communities")).status_code == 403
        assert (await http.post("/api/v1/communities/cyclists/archive")).status_code == 403


async def test_deactivating_the_last_owner_flags_it(people: dict[str, Any], resources: Resources,
                                                    sign_in: Any) -> None:
    await community(resources, people["emp"])
    await community(resources, people["emp2"], "runners")
    admin = await sign_in(people["admin"])
    assert (await admin.post(f"/api/v1/users/{people['emp'].id}/deactivate", json={})).status_code == 200
    assert [n.title for n in await _orphan_notices(resources, people["admin"].id)] == ["Cyclists"]
    # Archiving settles the flag; the directory no longer lists it.
    archived = await admin.post("/api/v1/communities/cyclists/archive")
    assert archived.json()["phase"] == "archived" and archived.json()["orphaned_at"] is None
    eve = await sign_in(people["emp2"])
    assert [c["slug"] for c in (await eve.get("/api/v1/communities")).json()["items"]] == ["runners"]


async def test_directory_search_tags_and_one_click_join(people: dict[str, Any], resources: Resources,
                                                        sign_in: Any) -> None:
    eve = await sign_in(people["emp2"])
    emp = await sign_in(people["emp"])
    created = await emp.post("/communities/new", data={"title": "Cyclists", "slug": "cyclists", "brief": "Bikes",
                                                       "visibility": "employees", "ideas_board": "on",
                                                       "tags": "Cycling, Health"})
    assert created.status_code == 303 and created.headers["location"] == "/rooms/cyclists"
    refused = await emp.post("/communities/new", data={"title": "", "slug": "Bad Slug", "tags": "x" * 50})
    assert refused.status_code == 422 and 'id="community-form-tags-error"' in refused.text
    await community(resources, people["emp"], "chess", visibility="invite-only", brief="Openings")
    await emp.put("/api/v1/rooms/chess/tags", json={"tags": ["Health"]})
    found = (await eve.get("/api/v1/communities", params={"q": "health"})).json()["items"]
    assert [c["slug"] for c in found] == ["cyclists"]
    assert [t["label"] for t in found[0]["tags"]] == ["Cycling", "Health"]
    tagged = (await eve.get("/api/v1/communities", params={"tag": "cycling"})).json()["items"]
    assert [c["slug"] for c in tagged] == ["cyclists"]
    # By invitation: listed by name with its owners to ask, but neither joinable nor readable.
    chess = next(c for c in (await eve.get("/api/v1/communities")).json()["items"] if c["slug"] == "chess")
    assert (chess["can_join"], chess["owners"], chess["tags"]) == (False, ["Em Ployee"], [])
    assert (await eve.get("/rooms/chess")).status_code == 404
    page = await eve.get("/communities")
    assert "Ask Em Ployee to invite you" in page.text and "Start a community" in page.text
    joined = await eve.post("/communities/cyclists/join", headers={"HX-Request": "true"})
    assert joined.status_code == 200 and "2 members" in joined.text and "Leave" in joined.text
    left = await eve.post("/communities/cyclists/leave", headers={"HX-Request": "true"})
    assert left.status_code == 200 and "1 member" in left.text and "Join" in left.text


async def test_new_room_page_offers_what_each_may_create(people: dict[str, Any], client: httpx.AsyncClient,
                                                         sign_in: Any) -> None:
    emp = await sign_in(people["emp"])
    offered = await emp.get("/rooms/new")
    assert offered.status_code == 303 and offered.headers["location"] == "/communities/new"
    assert (await emp.get("/communities/new")).status_code == 200
    mod = await sign_in(people["mod"])
    assert (await mod.get("/rooms/new")).status_code == 200
    guest = await sign_in(people["guest"])
    assert (await guest.get("/rooms/new")).status_code == 404
    assert (await guest.get("/communities/new")).status_code == 404
    for path in ("/communities", "/communities/new", "/admin/communities"):
        assert (await client.get(path)).status_code == 303  # signed out: to sign-in
    assert (await client.get("/api/v1/communities")).status_code == 401


async def test_turn_a_community_into_a_challenge(people: dict[str, Any], resources: Resources,
                                                 sign_in: Any) -> None:
    await community(resources, people["emp"])
    emp = await sign_in(people["emp"])
    assert "Turn this into a challenge" not in (await emp.get("/rooms/cyclists")).text
    mod = await sign_in(people["mod"])
    page = await mod.get("/rooms/cyclists")
    assert 'href="/rooms/new?from=cyclists"' in page.text
    form = await mod.get("/rooms/new", params={"from": "cyclists"})
    assert 'name="grown_from" value="cyclists"' in form.text and 'value="Cyclists"' in form.text
    bad = await mod.post("/api/v1/rooms", json={"slug": "bike-week", "title": "Bike week", "grown_from": "nope"})
    assert bad.status_code == 422 and "grown_from" in bad.json()["error"]["fields"]
    created = await mod.post("/api/v1/rooms", json={"slug": "bike-week", "title": "Bike week", "grown_from": "cyclists",
                                                    "phase": "open"})
    assert created.status_code == 201 and created.json()["grown_from_id"] is not None
    assert 'href="/rooms/cyclists"' in (await mod.get("/rooms/bike-week")).text
    assert 'href="/rooms/bike-week"' in (await emp.get("/rooms/cyclists")).text
