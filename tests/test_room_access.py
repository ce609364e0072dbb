"""Access matrix: each role against each room route (404 = may not see, 403 = may not do)."""

from __future__ import annotations

import pytest

from innovate.rooms.memberships import add_member
from innovate.writes import write
from tests.factories import make_idea, make_message, make_room

ROLES = ("admin", "moderator", "member", "employee", "guest_member", "guest_outsider")


@pytest.fixture
async def world(make_user, resources):
    users = {
        "admin": await make_user("admin@example.com", is_admin=True),
        "moderator": await make_user("mod@example.com", is_moderator=True),
        "member": await make_user("member@example.com"),
        "employee": await make_user("employee@example.com"),
        "guest_member": await make_user("gm@example.org", kind="guest"),
        "guest_outsider": await make_user("go@example.org", kind="guest"),
        "author": await make_user("author@example.com"),
    }
    room = await make_room(resources, users["moderator"], visibility="invite-only")
    async with write(resources) as (db, outbox):  # an invite-only room: members are added, not joined
        await add_member(db, outbox, room, users["member"])
        await add_member(db, outbox, room, users["guest_member"])
        await add_member(db, outbox, room, users["author"])
    idea = await make_idea(resources, users["author"], room)
    message = await make_message(resources, users["author"], room)
    return users, room, idea, message


READS = {
    # route: the roles that may see it
    "/api/v1/rooms/{slug}": {"admin", "moderator", "member", "guest_member"},
    "/api/v1/rooms/{slug}/members": {"admin", "moderator", "member", "guest_member"},
    "/api/v1/rooms/{slug}/ideas": {"admin", "moderator", "member", "guest_member"},
    "/api/v1/rooms/{slug}/messages": {"admin", "moderator", "member", "guest_member"},
    "/api/v1/rooms/{slug}/events": {"admin", "moderator", "member", "guest_member"},
    "/api/v1/ideas/{idea}": {"admin", "moderator", "member", "guest_member"},
}


@pytest.mark.parametrize("role", ROLES)
async def test_read_matrix(world, sign_in, role) -> None:
    users, room, idea, _ = world
    http = await sign_in(users[role])
    for route, allowed in READS.items():
        response = await http.get(route.format(slug=room.slug, idea=idea.id))
        expected = 200 if role in allowed else 404
        assert response.status_code == expected, (role, route, response.text)


@pytest.mark.parametrize("role", ROLES)
async def test_write_matrix(world, sign_in, role) -> None:
    users, room, idea, message = world
    http = await sign_in(users[role])
    sees = role in {"admin", "moderator", "member", "guest_member"}
    member = role in {"moderator", "member", "guest_member"}
    moderates = role in {"admin", "moderator"}

    post = await http.post(f"/api/v1/rooms/{room.slug}/messages", json={"body": f"hello from {role}"})
    assert post.status_code == (201 if member else 403 if sees else 404), (role, post.text)
    vote = await http.put(f"/api/v1/ideas/{idea.id}/vote", json={"value": 1})
    assert vote.status_code == (200 if member else 403 if sees else 404), (role, vote.text)
    status = await http.patch(f"/api/v1/ideas/{idea.id}", json={"status": "under_review"})
    assert status.status_code == (200 if moderates else 403 if sees else 404), (role, status.text)
    patch = await http.patch(f"/api/v1/rooms/{room.slug}", json={"title": f"renamed by {role}"})
    assert patch.status_code == (200 if moderates else 403 if sees else 404), (role, patch.text)
    delete = await http.delete(f"/api/v1/messages/{message.id}")
    assert delete.status_code == (200 if moderates else 403 if sees else 404), (role, delete.text)
    edit = await http.patch(f"/api/v1/messages/{message.id}", json={"body": "edit"})
    assert edit.status_code == (403 if sees else 404), (role, edit.text)


async def test_moderator_of_one_room_has_no_power_in_another(world, sign_in, resources, make_user) -> None:
    users, room, idea, message = world
    other_mod = await make_user("other-mod@example.com", is_moderator=True)
    other_room = await make_room(resources, other_mod)  # employee-visible, so the first moderator can see it
    other_idea = await make_idea(resources, other_mod, other_room)
    http = await sign_in(users["moderator"])
    assert (await http.patch(f"/api/v1/rooms/{other_room.slug}", json={"phase": "voting"})).status_code == 403
    assert (await http.patch(f"/api/v1/ideas/{other_idea.id}", json={"status": "rejected"})).status_code == 403
