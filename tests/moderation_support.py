"""Shared set-up for the moderation tests: two rooms run by different moderators (plus an
invite-only one), members and a guest, and helpers that read the room timeline and the
audit log the way clients do (through the JSON API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from innovate.accounts.models import User
from innovate.resources import Resources
from innovate.rooms.memberships import add_member
from innovate.rooms.models import Idea, Message, Room
from innovate.writes import write
from tests.factories import join, make_idea, make_message, make_room


@dataclass
class World:
    mod: User            # moderates room A
    mod_b: User          # moderates rooms B and C
    ada: User            # member of A and B
    bob: User            # member of A and B
    gia: User            # guest, member of A
    admin: User
    a: Room
    b: Room
    c: Room              # invite-only: the moderator of A cannot even see it
    message: Message     # Ada's, in A
    idea: Idea           # Ada's, in A
    b_message: Message   # Bob's, in B
    b_idea: Idea         # Bob's, in B
    c_message: Message
    c_idea: Idea
    clients: dict[int, httpx.AsyncClient] = field(default_factory=dict)


async def add_guest(resources: Resources, room: Room, user: User) -> None:
    """What redeeming an invite does (the invite flow is tested with the invites)."""
    async with write(resources) as (db, outbox):
        fresh = await db.get(Room, room.id)
        assert fresh is not None
        await add_member(db, outbox, fresh, user)


async def build_world(resources: Resources, make_user: Any, **room_a: Any) -> World:
    mod = await make_user("mod@example.com", name="Mo Derator", is_moderator=True)
    mod_b = await make_user("modb@example.com", name="Bea Other", is_moderator=True)
    ada = await make_user("ada@example.com", name="Ada Lovelace")
    bob = await make_user("bob@example.com", name="Bob Builder")
    gia = await make_user("gia@example.org", name="Gia Guest", kind="guest")
    admin = await make_user("admin@example.com", name="Al Admin", is_admin=True)
    a = await make_room(resources, mod, **room_a)
    b = await make_room(resources, mod_b)
    c = await make_room(resources, mod_b, visibility="invite-only")
    await join(resources, a, ada, bob)
    await join(resources, b, ada, bob)
    await add_guest(resources, a, gia)
    await add_guest(resources, c, bob)
    return World(
        mod=mod, mod_b=mod_b, ada=ada, bob=bob, gia=gia, admin=admin, a=a, b=b, c=c,
        message=await make_message(resources, ada, a, "Ada's **first** thought"),
        idea=await make_idea(resources, ada, a, title="Ada's idea", body="Secret sauce"),
        b_message=await make_message(resources, bob, b, "Bob in B"),
        b_idea=await make_idea(resources, bob, b, title="Bob's idea"),
        c_message=await make_message(resources, bob, c, "Bob in C"),
        c_idea=await make_idea(resources, bob, c, title="Bob's secret idea"),
    )


async def events(http: httpx.AsyncClient, slug: str, after: int = 0) -> list[dict[str, Any]]:
    response = await http.get(f"/api/v1/rooms/{slug}/events", params={"after": after, "limit": 100})
    assert response.status_code == 200, response.text
    return response.json()["events"]


def of_kind(frames: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [f for f in frames if f["kind"] == kind]


async def head(http: httpx.AsyncClient, slug: str) -> int:
    return int((await http.get(f"/api/v1/rooms/{slug}")).json()["last_seq"])


async def audit_entries(http: httpx.AsyncClient, slug: str, **params: Any) -> list[dict[str, Any]]:
    response = await http.get(f"/api/v1/rooms/{slug}/audit", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: " \
                                           f"{response.status_code} {response.text[:400]}"
    return response.json() if response.content else None
