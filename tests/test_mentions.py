"""@mention suggestions (GET /api/v1/rooms/{slug}/mentions): members of the one room, matched on
the handle being typed, for each role; a guest is only ever offered people of their own room."""

from __future__ import annotations

import pytest

from innovate.rooms.memberships import add_member
from innovate.rooms.service import leave_room
from innovate.writes import write
from tests.factories import join, make_room

ROLES = ("admin", "moderator", "member", "employee", "guest_member", "guest_outsider")
SEES = {"admin", "moderator", "member", "guest_member"}


@pytest.fixture
async def world(make_user, resources):
    users = {
        "admin": await make_user("admin@example.com", name="Ada Admin", is_admin=True),
        "moderator": await make_user("mod@example.com", name="Mo Moderator", is_moderator=True),
        "member": await make_user("member@example.com", name="Emma Stone"),
        "employee": await make_user("employee@example.com", name="Emil Outside"),
        "guest_member": await make_user("gm@example.org", name="Gina Guest", kind="guest"),
        "guest_outsider": await make_user("go@example.org", name="Gus Elsewhere", kind="guest"),
        "leaver": await make_user("leaver@example.com", name="Leo Left"),
        "stranger": await make_user("stranger@example.com", name="Emmett Other"),
    }
    room = await make_room(resources, users["moderator"], visibility="invite-only")
    async with write(resources) as (db, outbox):
        for who in ("member", "guest_member", "leaver"):
            await add_member(db, outbox, room, users[who])
    await leave_room(resources, users["leaver"], room.slug)
    # Another room, with people the first room's members must never be offered.
    other = await make_room(resources, users["moderator"])
    await join(resources, other, users["stranger"], users["employee"])
    async with write(resources) as (db, outbox):
        await add_member(db, outbox, other, users["guest_outsider"])
    return users, room, other


def names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_gets_the_members_of_rooms_it_sees_only(world, sign_in, role) -> None:
    users, room, _ = world
    http = await sign_in(users[role])
    answer = await http.get(f"/api/v1/rooms/{room.slug}/mentions")
    if role not in SEES:
        assert answer.status_code == 404, (role, answer.text)
        return
    everyone = {"Mo Moderator", "Emma Stone", "Gina Guest"}
    offered = names(answer)
    # Active members of this room only, never the caller, never someone who left.
    assert set(offered) == everyone - {users[role].name}, (role, offered)


async def test_a_guest_is_offered_only_people_of_their_own_room(world, sign_in) -> None:
    users, room, other = world
    guest = await sign_in(users["guest_member"])
    # "Emmett Other" also starts with "em", but is in another room.
    assert names(await guest.get(f"/api/v1/rooms/{room.slug}/mentions", params={"q": "em"})) == ["Emma Stone"]
    assert names(await guest.get(f"/api/v1/rooms/{room.slug}/mentions", params={"q": "gus"})) == []
    # The other room is not theirs at all.
    assert (await guest.get(f"/api/v1/rooms/{other.slug}/mentions", params={"q": "em"})).status_code == 404


async def test_prefixes_match_handles_then_words_of_names(world, sign_in) -> None:
    users, room, _ = world
    member = await sign_in(users["member"])
    url = f"/api/v1/rooms/{room.slug}/mentions"
    answer = await member.get(url, params={"q": "momod"})
    assert answer.json()["items"] == [{"user_id": users["moderator"].id, "name": "Mo Moderator",
                                       "handle": "momoderator", "kind": "employee"}]
    assert names(await member.get(url, params={"q": "Moder"})) == ["Mo Moderator"]  # a word of the name
    assert names(await member.get(url, params={"q": "@gina"})) == ["Gina Guest"]
    assert names(await member.get(url, params={"q": "g", "limit": "1"})) == ["Gina Guest"]
    assert names(await member.get(url, params={"q": "m_"})) == []  # "_" is not a wildcard
    assert names(await member.get(url, params={"q": "leo"})) == []  # left the room


@pytest.mark.parametrize(("params", "field"), [
    ({"q": "two words"}, "q"), ({"q": "é"}, "q"), ({"q": "x" * 65}, "q"), ({"q": "%"}, "q"),
    ({"limit": "0"}, "limit"), ({"limit": "21"}, "limit"), ({"limit": "many"}, "limit"),
])
async def test_bad_parameters_name_the_field(world, sign_in, params, field) -> None:
    users, room, _ = world
    member = await sign_in(users["member"])
    answer = await member.get(f"/api/v1/rooms/{room.slug}/mentions", params=params)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["error"]["fields"]


async def test_signed_out_is_refused(world, client) -> None:
    _, room, _ = world
    assert (await client.get(f"/api/v1/rooms/{room.slug}/mentions")).status_code == 401
