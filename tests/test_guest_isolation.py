"""Guest isolation: a guest sees only the rooms they were invited to, and only those rooms'
people, on pages, the API and the live stream; their access ends with the room, a removal
or a deactivation. On both databases, with the guest signing in through a real OIDC provider.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select, update
from websockets.exceptions import ConnectionClosed, InvalidStatus

from innovate.accounts.hashing import token_hash
from innovate.accounts.models import User
from innovate.audit import AuditEntry
from innovate.auth.invites import InviteRequest, Joiner, create_invite, redeem_invite
from innovate.auth.oidc import ExternalIdentity
from innovate.people.service import set_active
from innovate.resources import Resources
from innovate.rooms import service
from innovate.rooms.models import Membership, Room
from tests.clients import form_csrf
from tests.factories import join, make_idea, make_message, make_room
from tests.live_support import live, live_socket  # noqa: F401  (fixtures)
from tests.sso import asgi_client, at_provider, corp_idp, ext_idp, settings_overrides  # noqa: F401  (fixtures)


@dataclass
class World:
    moderator: User
    alice: User
    mine: Room          # the guest was invited here
    employees: Room     # an open employee room the guest was not invited to
    secret: Room        # invite-only, the guest is not in it
    draft: Room
    ideas: dict[str, int]
    guest_id: int = 0


async def invite_url(resources: Resources, moderator: User, room: Room, **fields: Any) -> str:
    _invite, url = await create_invite(resources, moderator, room.slug, InviteRequest(**fields))
    return url


@pytest.fixture
async def world(resources: Resources, make_user) -> World:
    moderator = await make_user("hr@corp.example", name="Hanna HR", is_moderator=True)
    alice = await make_user("alice@corp.example", name="Alice Employee")
    mine = await make_room(resources, moderator, title="Guest room")
    employees = await make_room(resources, moderator, title="Employees only room")
    secret = await make_room(resources, moderator, title="Secret room", visibility="invite-only")
    draft = await make_room(resources, moderator, title="Draft room", phase="draft")
    await join(resources, employees, alice)
    ideas = {}
    for room in (mine, employees, secret):
        ideas[room.slug] = (await make_idea(resources, moderator, room, title=f"Idea in {room.title}")).id
        await make_message(resources, moderator, room, f"Hello from {room.title}")
    return World(moderator, alice, mine, employees, secret, draft, ideas)


@pytest.fixture
async def guest(app: Any, world: World, resources: Resources) -> Any:
    """The expert Erin, signed in after redeeming an invite to ``world.mine``."""
    url = await invite_url(resources, world.moderator, world.mine)
    http = asgi_client(app)
    path = urlsplit(url).path
    page = await http.get(path)
    start = await http.post(path, data={"csrf_token": form_csrf(page.text), "provider": "experts"})
    response = await http.get(await at_provider(start.headers["location"], "erin"))
    assert response.status_code == 303, response.text[:300]
    me = (await http.get("/api/v1/me")).json()
    assert me["kind"] == "guest"
    world.guest_id = me["id"]
    http.headers["X-CSRF-Token"] = form_csrf((await http.get("/account")).text)
    yield http
    await http.aclose()


def other_slugs(world: World) -> list[str]:
    return [world.employees.slug, world.secret.slug, world.draft.slug, "no-such-room"]


ROOM_API = ["", "/ideas", "/messages", "/events", "/members", "/invites"]
ROOM_PAGES = ["", "/ideas", "/messages"]


async def test_guest_sees_exactly_one_room(guest: httpx.AsyncClient, world: World) -> None:
    listing = (await guest.get("/api/v1/rooms")).json()["items"]
    assert [r["slug"] for r in listing] == [world.mine.slug]
    for params in ({"mine": "0"}, {"q": "room"}, {"phase": "open"}):
        items = (await guest.get("/api/v1/rooms", params=params)).json()["items"]
        assert [r["slug"] for r in items] == [world.mine.slug], params
    directory = await guest.get("/rooms")  # a guest's directory is "My challenges": their room alone
    assert directory.status_code == 200 and f'href="/rooms/{world.mine.slug}"' in directory.text
    for room in (world.employees, world.secret, world.draft):
        assert room.slug not in directory.text and room.title not in directory.text
    home = await guest.get("/")
    for room in (world.employees, world.secret, world.draft):
        assert room.title not in home.text and room.title not in directory.text
    assert (await guest.get(f"/api/v1/rooms/{world.mine.slug}")).status_code == 200
    ideas = (await guest.get(f"/api/v1/rooms/{world.mine.slug}/ideas")).json()["items"]
    assert [i["title"] for i in ideas] == ["Idea in Guest room"]


async def test_other_rooms_do_not_exist_for_a_guest(guest: httpx.AsyncClient, world: World) -> None:
    for slug in other_slugs(world):
        for suffix in ROOM_API:
            response = await guest.get(f"/api/v1/rooms/{slug}{suffix}")
            assert response.status_code == 404, (slug, suffix, response.status_code)
            assert response.json()["error"]["code"] == "not_found"
        for suffix in ROOM_PAGES:
            for headers in ({}, {"HX-Request": "true"}):
                response = await guest.get(f"/rooms/{slug}{suffix}", headers=headers, follow_redirects=True)
                assert response.status_code == 404, (slug, suffix, headers)
        assert (await guest.post(f"/api/v1/rooms/{slug}/join")).status_code == 404
        assert (await guest.post(f"/api/v1/rooms/{slug}/messages", json={"body": "hi"})).status_code == 404
    # Another room's idea, by id, is as absent as one that never existed.
    for room in (world.employees, world.secret):
        assert (await guest.get(f"/api/v1/ideas/{world.ideas[room.slug]}")).status_code == 404
        assert (await guest.get(f"/rooms/{room.slug}/ideas/{world.ideas[room.slug]}")).status_code == 404
        assert (await guest.put(f"/api/v1/ideas/{world.ideas[room.slug]}/vote", json={"value": 1})).status_code == 404
    assert (await guest.get("/api/v1/ideas/999999")).status_code == 404


async def test_guest_cannot_create_rooms_or_invite(guest: httpx.AsyncClient, world: World) -> None:
    created = await guest.post("/api/v1/rooms", json={"slug": "guest-room", "title": "Mine now", "phase": "open"})
    assert created.status_code == 403
    assert (await guest.get("/rooms/new")).status_code == 404
    assert (await guest.post(f"/api/v1/rooms/{world.mine.slug}/invites", json={})).status_code == 403
    assert (await guest.get(f"/api/v1/rooms/{world.mine.slug}/invites")).status_code == 403
    assert (await guest.get(f"/rooms/{world.mine.slug}/invites")).status_code == 403


async def test_guest_cannot_invite_even_as_a_room_moderator(guest: httpx.AsyncClient, world: World,
                                                            resources: Resources) -> None:
    async with resources.db.begin() as db:
        await db.execute(update(Membership).where(Membership.user_id == world.guest_id).values(role="moderator"))
    assert (await guest.post(f"/api/v1/rooms/{world.mine.slug}/invites", json={})).status_code == 403


async def test_guest_sees_only_the_people_of_their_rooms(guest: httpx.AsyncClient, world: World) -> None:
    members = (await guest.get(f"/api/v1/rooms/{world.mine.slug}/members")).json()["items"]
    people = {(m["name"], m["kind"]) for m in members}
    assert people == {("Hanna HR", "employee"), ("Erin Expert", "guest")}
    # Alice shares no room with the guest: her member page is not there for them.
    assert (await guest.get(f"/rooms/{world.mine.slug}/members/{world.alice.id}")).status_code == 404
    assert (await guest.get(f"/rooms/{world.employees.slug}/members/{world.alice.id}")).status_code == 404


async def test_guests_are_marked_where_their_name_appears(guest: httpx.AsyncClient, world: World,
                                                          sign_in) -> None:
    page = await guest.get("/account")
    assert '<span class="badge guest"' in page.text
    hr = await sign_in(world.moderator)
    room_page = await hr.get(f"/rooms/{world.mine.slug}")
    if room_page.status_code == 200:
        assert "Erin Expert" in room_page.text and "badge guest" in room_page.text
    members = (await hr.get(f"/api/v1/rooms/{world.mine.slug}/members")).json()["items"]
    assert {m["name"]: m["kind"] for m in members}["Erin Expert"] == "guest"


async def test_access_ends_when_the_room_is_archived(guest: httpx.AsyncClient, world: World,
                                                     resources: Resources, app: Any) -> None:
    for phase in ("voting", "closed"):
        await service.change_phase(resources, world.moderator, world.mine.slug, phase)
    assert (await guest.get(f"/api/v1/rooms/{world.mine.slug}")).status_code == 200  # guests stay until archived
    await service.change_phase(resources, world.moderator, world.mine.slug, "archived")
    # It was the guest's only room: archiving cut their sessions, so nothing answers any more.
    assert (await guest.get("/api/v1/me")).status_code == 401
    for suffix in ROOM_API[:5]:
        assert (await guest.get(f"/api/v1/rooms/{world.mine.slug}{suffix}")).status_code == 401
    assert (await guest.get("/api/v1/rooms")).status_code == 401


async def test_access_ends_at_closing_when_the_room_says_so(guest: httpx.AsyncClient, world: World,
                                                            resources: Resources) -> None:
    await service.update_room(resources, world.moderator, world.mine.slug, {"guests_until": "closed"})
    for phase in ("voting", "closed"):
        await service.change_phase(resources, world.moderator, world.mine.slug, phase)
    assert (await guest.get(f"/api/v1/rooms/{world.mine.slug}")).status_code == 401  # session cut at closing
    assert (await guest.get("/api/v1/me")).status_code == 401


async def test_a_guest_with_another_room_keeps_the_session(guest: httpx.AsyncClient, world: World,
                                                           resources: Resources) -> None:
    second = await make_room(resources, world.moderator, title="Second guest room")
    url = await invite_url(resources, world.moderator, second)
    page = await guest.get(urlsplit(url).path)
    assert (await guest.post(urlsplit(url).path, data={"csrf_token": form_csrf(page.text)})).status_code == 303
    assert {r["slug"] for r in (await guest.get("/api/v1/rooms")).json()["items"]} == {world.mine.slug, second.slug}
    for phase in ("voting", "closed", "archived"):
        await service.change_phase(resources, world.moderator, world.mine.slug, phase)
    assert (await guest.get("/api/v1/me")).status_code == 200
    assert [r["slug"] for r in (await guest.get("/api/v1/rooms")).json()["items"]] == [second.slug]


async def test_access_ends_when_a_moderator_removes_the_guest(guest: httpx.AsyncClient, world: World,
                                                              sign_in, resources: Resources) -> None:
    second = await make_room(resources, world.moderator, title="Second guest room")
    url = await invite_url(resources, world.moderator, second)
    page = await guest.get(urlsplit(url).path)
    assert (await guest.post(urlsplit(url).path, data={"csrf_token": form_csrf(page.text)})).status_code == 303

    hr = await sign_in(world.moderator)
    removed = await hr.delete(f"/api/v1/rooms/{world.mine.slug}/members/{world.guest_id}")
    assert removed.status_code in (200, 204)
    assert (await guest.get(f"/api/v1/rooms/{world.mine.slug}")).status_code == 404
    assert [r["slug"] for r in (await guest.get("/api/v1/rooms")).json()["items"]] == [second.slug]
    # Removed from the last room: nothing is left, so the guest's sessions end too.
    assert (await hr.delete(f"/api/v1/rooms/{second.slug}/members/{world.guest_id}")).status_code in (200, 204)
    assert (await guest.get("/api/v1/me")).status_code == 401


async def test_admin_deactivates_a_guest(guest: httpx.AsyncClient, world: World, make_user, sign_in,
                                         resources: Resources) -> None:
    admin = await make_user("root@corp.example", is_admin=True)
    published: list[dict[str, Any]] = []
    publish = resources.broker.publish

    async def recording(message: dict[str, Any]) -> None:
        published.append(message)
        await publish(message)

    resources.broker.publish = recording  # type: ignore[method-assign]
    try:
        moderator_http = await sign_in(world.moderator)
        refused = await moderator_http.post(f"/api/v1/users/{world.guest_id}/deactivate")
        assert refused.status_code == 403
        assert (await guest.get("/api/v1/me")).status_code == 200

        admin_http = await sign_in(admin)
        response = await admin_http.post(f"/api/v1/users/{world.guest_id}/deactivate", json={"reason": "project over"})
        assert response.status_code == 200 and response.json()["is_active"] is False
        # Every live socket of the guest, in every process, re-checks after the commit.
        assert {"kind": "access", "user_id": world.guest_id} in published
    finally:
        resources.broker.publish = publish  # type: ignore[method-assign]
    assert (await guest.get("/api/v1/me")).status_code == 401
    assert (await guest.get(f"/api/v1/rooms/{world.mine.slug}")).status_code == 401
    async with resources.db() as db:
        entry = (await db.execute(select(AuditEntry).where(AuditEntry.action == "user.deactivated"))).scalar_one()
    assert (entry.actor_id, entry.target_id, entry.reason) == (admin.id, world.guest_id, "project over")
    assert (await admin_http.post(f"/api/v1/users/{admin.id}/deactivate")).status_code == 403  # not oneself
    assert (await admin_http.post("/api/v1/users/999999/deactivate")).status_code == 404


# The live stream ------------------------------------------------------------------------------------


class TestLiveStream:
    @pytest.fixture
    def settings_overrides(self, live_socket: Any) -> dict[str, Any]:  # noqa: F811
        return {"public_url": f"http://127.0.0.1:{live_socket.getsockname()[1]}"}

    async def test_guest_socket_only_for_their_room_and_cut_on_deactivation(
            self, live: Any, resources: Resources, make_user) -> None:  # noqa: F811
        moderator = await make_user("hr@corp.example", is_moderator=True)
        admin = await make_user("root@corp.example", is_admin=True)
        mine = await make_room(resources, moderator, title="Guest room")
        other = await make_room(resources, moderator, title="Employees only room")
        secret = await make_room(resources, moderator, title="Secret", visibility="invite-only")
        _invite, url = await create_invite(resources, moderator, mine.slug, InviteRequest())
        erin = ExternalIdentity(provider="experts", issuer="https://idp.example", subject="erin",
                                email="erin@expert.example", email_verified=True, name="Erin Expert")
        redemption = await redeem_invite(resources, token_hash(url.rsplit("/", 1)[1]), Joiner(identity=erin))
        guest = redemption.user

        for slug in (other.slug, secret.slug, "no-such-room"):
            with pytest.raises(InvalidStatus) as refused:
                await live.connect(guest, slug)
            assert refused.value.response.status_code == 403, slug

        ws = await live.connect(guest, mine.slug)
        try:
            await set_active(resources, admin, guest.id, active=False)
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(10):
                    while True:
                        await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        finally:
            await ws.close()
        with pytest.raises(InvalidStatus):
            await live.connect(guest, mine.slug)
