"""Interests: moderators tag rooms, employees follow tags, "challenges for you" on the home
page, and the followers a room has not reached yet (both databases)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from innovate.audit import AuditEntry
from innovate.errors import Forbidden, Invalid
from innovate.foryou.queries import for_you
from innovate.insights.interests import (
    followers_not_joined,
    parse_labels,
    room_tags,
    set_interests,
    set_room_tags,
)
from innovate.resources import Resources
from innovate.rooms import service
from innovate.rooms.access import can_see_room, visible_room_ids
from innovate.rooms.models import Event, Membership, Room
from tests.factories import join, make_room
from tests.moderation_support import add_guest


async def room_events(resources: Resources, room_id: int, kind: str) -> list[dict[str, Any]]:
    async with resources.db() as db:
        return [e.data for e in (await db.execute(
            select(Event).where(Event.room_id == room_id, Event.kind == kind).order_by(Event.seq))).scalars()]


def test_labels_are_trimmed_and_deduplicated() -> None:
    assert parse_labels(" Sustainability ,  logistics,sustainability,, Cost  savings ") == [
        "Sustainability", "logistics", "Cost savings"]
    assert parse_labels(["Zero waste", "zero-waste"]) == ["Zero waste"]
    for bad in (["x" * 41], "a,b,c,d,e,f,g,h,i", ["!!!"], [3]):
        with pytest.raises(Invalid):
            parse_labels(bad)


async def test_room_tags_write_path(resources: Resources, make_user: Any) -> None:
    hanna = await make_user(name="Hanna", is_moderator=True)
    alice = await make_user(name="Alice")
    room = await make_room(resources, hanna)
    await join(resources, room, alice)
    tags = await set_room_tags(resources, hanna, room.slug, "Sustainability, Logistics")
    assert [t.label for t in tags] == ["Logistics", "Sustainability"]
    assert await set_room_tags(resources, hanna, room.slug, ["logistics", "Sustainability"]) == tags  # no change
    await set_room_tags(resources, hanna, room.slug, ["Logistics"])
    assert await room_events(resources, room.id, "room.updated") == [{"fields": ["tags"]}, {"fields": ["tags"]}]
    async with resources.db() as db:
        audited = (await db.execute(select(AuditEntry.data).where(
            AuditEntry.room_id == room.id, AuditEntry.action == "room.tags_changed").order_by(AuditEntry.id))).scalars().all()
    assert audited == [{"tags": ["logistics", "sustainability"]}, {"tags": ["logistics"]}]
    with pytest.raises(Forbidden):
        await set_room_tags(resources, alice, room.slug, ["Mine"])


async def test_followers_and_for_you(resources: Resources, make_user: Any) -> None:
    hanna = await make_user(name="Hanna", is_moderator=True)
    alice, dan, eve = await make_user(name="Alice"), await make_user(name="Dan"), await make_user(name="Eve")
    guest = await make_user(name="Gina", kind="guest")
    green = await make_room(resources, hanna, title="Green")
    hidden = await make_room(resources, hanna, title="Invite only", visibility="invite-only")
    closed = await make_room(resources, hanna, title="Closed", phase="closed")
    for room in (green, hidden, closed):
        await set_room_tags(resources, hanna, room.slug, ["Sustainability"])
    async with resources.db() as db:
        from innovate.insights.interests import all_tags

        (tag,) = await all_tags(db, hanna)
        assert (tag.rooms, tag.followers) == (3, 0)
    for person in (alice, dan):
        await set_interests(resources, person, [tag.id])
    await set_interests(resources, eve, [])
    with pytest.raises(Forbidden):
        await set_interests(resources, guest, [tag.id])
    with pytest.raises(Invalid):
        await set_interests(resources, dan, [tag.id + 99])
    await join(resources, green, alice)

    async with resources.db() as db:
        assert await followers_not_joined(db, green) == 1  # Dan; Alice is in
        # Dan may join only the open employees' room; the invite-only and closed ones are not for him.
        assert [e.item["title"] for e in await for_you(db, resources.settings.secret_key, dan)] == ["Green"]
        assert (await for_you(db, resources.settings.secret_key, dan))[0].reasons == ["because you follow the tag Sustainability"]
        assert await for_you(db, resources.settings.secret_key, alice) == []  # already in it
        assert await for_you(db, resources.settings.secret_key, eve) == []  # follows nothing
        assert await for_you(db, resources.settings.secret_key, guest) == []
    await join(resources, green, dan)
    await service.leave_room(resources, alice, green.slug)
    async with resources.db() as db:
        assert await followers_not_joined(db, green) == 1  # Alice left: invite her again


async def test_interest_pages_and_api(resources: Resources, make_user: Any, sign_in: Any) -> None:
    hanna = await make_user(name="Hanna", is_moderator=True)
    dan = await make_user(name="Dan")
    guest = await make_user(name="Gina", kind="guest")
    room = await make_room(resources, hanna, title="Cleaner air")

    moderator = await sign_in(hanna)
    response = await moderator.post(f"/rooms/{room.slug}/insights/tags", data={"tags": "Air quality, Health"})
    assert response.status_code == 303 and response.headers["location"].endswith("/insights#interests")
    dashboard = await moderator.get(f"/rooms/{room.slug}/insights")
    assert 'value="Air quality, Health"' in dashboard.text and "Tags saved" in dashboard.text
    api = await moderator.put(f"/api/v1/rooms/{room.slug}/tags", json={"tags": ["Air quality", "Mobility"]})
    assert [t["label"] for t in api.json()["items"]] == ["Air quality", "Mobility"]
    assert (await moderator.put(f"/api/v1/rooms/{room.slug}/tags", json={})).status_code == 422

    employee = await sign_in(dan)
    tags = (await employee.get("/api/v1/tags")).json()["items"]
    mobility = next(t["id"] for t in tags if t["label"] == "Mobility")
    page = await employee.get("/me/interests")
    assert page.status_code == 200 and "Mobility" in page.text
    saved = await employee.post("/me/interests", data={"tag": str(mobility)})
    assert saved.status_code == 303
    assert [t["label"] for t in (await employee.get("/api/v1/me/interests")).json()["items"]] == ["Mobility"]
    assert (await employee.put("/api/v1/me/interests", json={"tags": "x"})).status_code == 422
    home = await employee.get("/")
    assert "For you" in home.text and "Cleaner air" in home.text

    outsider = await sign_in(guest)
    assert (await outsider.get("/me/interests")).status_code == 404
    assert (await outsider.get("/api/v1/me/interests")).status_code == 403
    assert (await outsider.put("/api/v1/me/interests", json={"tags": [mobility]})).status_code == 403
    assert "For you" not in (await outsider.get("/")).text

    assert (await employee.post(f"/rooms/{room.slug}/insights/tags", data={"tags": "Mine"})).status_code == 403
    assert (await employee.put(f"/api/v1/rooms/{room.slug}/tags", json={"tags": ["Mine"]})).status_code == 403
    too_long = await moderator.post(f"/rooms/{room.slug}/insights/tags", data={"tags": "x" * 60})
    assert too_long.status_code == 422  # the page again, the error at the field, what was typed kept
    assert 'aria-invalid="true" aria-describedby="room-tags-error"' in too_long.text
    assert '<small id="room-tags-error" class="field-error">' in too_long.text and 'value="' + "x" * 60 in too_long.text
    async with resources.db() as db:
        assert [t.label for t in await room_tags(db, room.id)] == ["Air quality", "Mobility"]


async def test_tags_count_only_the_rooms_the_caller_may_see(resources: Resources, make_user: Any,
                                                            sign_in: Any) -> None:
    hanna = await make_user(name="Hanna", is_moderator=True)
    admin = await make_user(name="Ada", is_admin=True)
    dan, eve = await make_user(name="Dan"), await make_user(name="Eve")
    guest = await make_user(name="Gina", kind="guest")
    public = await make_room(resources, hanna, title="Open to all")
    secret = await make_room(resources, hanna, title="Invite only", visibility="invite-only")
    await set_room_tags(resources, hanna, public.slug, ["Logistics"])
    await set_room_tags(resources, hanna, secret.slug, ["Logistics", "Acquisition plans"])
    await add_guest(resources, secret, eve)  # invite-only rooms take members through invites
    await add_guest(resources, secret, guest)
    expected = {hanna: {"Logistics": 2, "Acquisition plans": 1}, admin: {"Logistics": 2, "Acquisition plans": 1},
                eve: {"Logistics": 2, "Acquisition plans": 1}, dan: {"Logistics": 1}}
    for person, counts in expected.items():
        http = await sign_in(person)
        answer = await http.get("/api/v1/tags")
        assert answer.status_code == 200
        assert {t["label"]: t["rooms"] for t in answer.json()["items"]} == counts, person.name
    assert (await (await sign_in(guest)).get("/api/v1/tags")).status_code == 403

    # The SQL behind the counts says what can_see_room says, for every role and phase.
    draft = await make_room(resources, hanna, title="Draft", phase="draft")
    leaving = await make_room(resources, hanna, title="Guests leave at close", guests_until="closed")
    await add_guest(resources, leaving, guest)
    await service.change_phase(resources, hanna, leaving.slug, "voting")
    await service.change_phase(resources, hanna, leaving.slug, "closed")
    archived = await make_room(resources, hanna, title="Archived")
    await add_guest(resources, archived, guest)
    for step in ("voting", "closed", "archived"):
        await service.change_phase(resources, hanna, archived.slug, step)
    rooms = [public, secret, draft, leaving, archived]
    async with resources.db() as db:
        for person in (hanna, admin, dan, eve, guest):
            visible = set((await db.execute(visible_room_ids(person))).scalars())
            for room in rooms:
                membership = (await db.execute(select(Membership).where(
                    Membership.room_id == room.id, Membership.user_id == person.id))).scalar_one_or_none()
                fresh = await db.get(Room, room.id)
                assert fresh is not None
                assert (room.id in visible) == can_see_room(fresh, person, membership), (person.name, room.title)
