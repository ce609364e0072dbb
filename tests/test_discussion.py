"""The discussion: threads, replies, mentions, edits, deletes, paging backwards."""

from __future__ import annotations

import re

import pytest

from tests.factories import join, make_idea, make_message, make_room


@pytest.fixture
async def people(make_user):
    return {
        "mod": await make_user("mod@example.com", name="Mo Derator", is_moderator=True),
        "emp": await make_user("emp@example.com", name="Em Ployee"),
        "emp2": await make_user("emp2@example.com", name="Eve Second"),
    }


async def test_post_reply_mention_and_threads(people, sign_in, resources) -> None:
    room = await make_room(resources, people["mod"])
    await join(resources, room, people["emp"], people["emp2"])
    idea = await make_idea(resources, people["emp"], room)
    emp = await sign_in(people["emp"])
    url = f"/api/v1/rooms/{room.slug}/messages"
    first = await emp.post(url, json={"body": "Hi @evesecond and @nobody, see [docs](https://example.com)"})
    assert first.status_code == 201
    html = first.json()["body_html"]
    assert f'href="/rooms/{room.slug}/members/{people["emp2"].id}"' in html and "@nobody" in html
    assert 'rel="nofollow noopener noreferrer"' in html
    reply = await emp.post(url, json={"body": "replying", "reply_to": first.json()["id"]})
    assert reply.json()["reply_to"] == first.json()["id"]
    in_idea = await emp.post(url, json={"body": "on the idea", "idea_id": idea.id})
    assert in_idea.json()["idea_id"] == idea.id
    wrong_thread = await emp.post(url, json={"body": "x", "idea_id": idea.id, "reply_to": first.json()["id"]})
    assert wrong_thread.status_code == 422 and "reply_to" in wrong_thread.json()["error"]["fields"]
    room_thread = (await emp.get(url)).json()["items"]
    assert [m["body"] for m in room_thread] == [first.json()["body"], "replying"]
    idea_thread = (await emp.get(url, params={"idea": idea.id})).json()["items"]
    assert [m["body"] for m in idea_thread] == ["on the idea"]
    assert (await emp.get(f"/api/v1/ideas/{idea.id}")).json()["messages_count"] == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "   \n\t"}, "body"),
        ({"body": "x" * 5001}, "body"),
        ({"body": None}, "body"),
        ({"body": {"text": "hi"}}, "body"),
        ({"body": "nul \x00 char"}, "body"),
        ({"body": "ok", "idea_id": "abc"}, "idea_id"),
        ({"body": "ok", "idea_id": 999999}, "idea_id"),
        ({"body": "ok", "reply_to": 999999}, "reply_to"),
    ],
)
async def test_bad_messages_name_the_field(people, sign_in, resources, payload, field) -> None:
    room = await make_room(resources, people["mod"])
    await join(resources, room, people["emp"])
    emp = await sign_in(people["emp"])
    response = await emp.post(f"/api/v1/rooms/{room.slug}/messages", json=payload)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["fields"]
    assert (await emp.get(f"/api/v1/rooms/{room.slug}/messages")).json()["items"] == []


async def test_markup_in_messages_is_inert(people, sign_in, resources) -> None:
    room = await make_room(resources, people["mod"])
    await join(resources, room, people["emp"])
    emp = await sign_in(people["emp"])
    body = ('<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) '
            '<div hx-get="/x" data-hx-trigger="load">d</div>')
    html = (await emp.post(f"/api/v1/rooms/{room.slug}/messages", json={"body": body})).json()["body_html"]
    for bad in ("<script", "<img", 'href="javascript', "<div"):
        assert bad not in html, bad
    assert not re.search(r"<[^>]*\b(hx-|data-|on\w+=)", html)  # no live attribute inside any tag


async def test_edit_and_delete_keep_the_place(people, sign_in, resources) -> None:
    room = await make_room(resources, people["mod"])
    await join(resources, room, people["emp"], people["emp2"])
    first = await make_message(resources, people["emp"], room, "first")
    second = await make_message(resources, people["emp"], room, "second")
    emp = await sign_in(people["emp"])
    other = await sign_in(people["emp2"])
    assert (await other.patch(f"/api/v1/messages/{first.id}", json={"body": "hijack"})).status_code == 403
    assert (await other.delete(f"/api/v1/messages/{first.id}")).status_code == 403
    edited = await emp.patch(f"/api/v1/messages/{first.id}", json={"body": "first, edited"})
    assert edited.json()["edited_at"] is not None and edited.json()["body"] == "first, edited"
    deleted = await emp.delete(f"/api/v1/messages/{second.id}")
    assert deleted.json()["state"] == "deleted" and deleted.json()["body"] == ""
    thread = (await other.get(f"/api/v1/rooms/{room.slug}/messages")).json()["items"]
    assert [(m["id"], m["state"], m["body"]) for m in thread] == [
        (first.id, "visible", "first, edited"), (second.id, "deleted", "")]
    assert (await emp.patch(f"/api/v1/messages/{second.id}", json={"body": "undelete"})).status_code == 409
    mod = await sign_in(people["mod"])
    assert (await mod.delete(f"/api/v1/messages/{first.id}")).status_code == 200


async def test_history_pages_backwards(people, sign_in, resources) -> None:
    room = await make_room(resources, people["mod"])
    await join(resources, room, people["emp"])
    for i in range(25):
        await make_message(resources, people["emp"], room, f"m{i}")
    emp = await sign_in(people["emp"])
    url = f"/api/v1/rooms/{room.slug}/messages"
    page = (await emp.get(url, params={"limit": 10})).json()
    assert [m["body"] for m in page["items"]] == [f"m{i}" for i in range(15, 25)]
    seen = [m["body"] for m in page["items"]]
    while page.get("next_cursor"):
        page = (await emp.get(url, params={"limit": 10, "before": page["next_cursor"]})).json()
        seen = [m["body"] for m in page["items"]] + seen
    assert seen == [f"m{i}" for i in range(25)]
    assert (await emp.get(url, params={"limit": 1000})).status_code == 422


async def test_premoderated_guest_posts_are_held(people, sign_in, resources, make_user) -> None:
    from innovate.rooms.memberships import add_member
    from innovate.writes import write

    room = await make_room(resources, people["mod"], premoderation="first_n")
    guest = await make_user("g@example.org", name="Gia Guest", kind="guest")
    async with write(resources) as (db, outbox):
        await add_member(db, outbox, room, guest)
    await join(resources, room, people["emp"])
    g = await sign_in(guest)
    posted = await g.post(f"/api/v1/rooms/{room.slug}/messages", json={"body": "first words"})
    assert posted.json()["state"] == "held" and posted.json()["body"] == "first words"
    emp = await sign_in(people["emp"])
    assert (await emp.get(f"/api/v1/rooms/{room.slug}/messages")).json()["items"] == []
    assert (await emp.patch(f"/api/v1/messages/{posted.json()['id']}", json={"body": "x"})).status_code == 404
    mod = await sign_in(people["mod"])
    assert [m["state"] for m in (await mod.get(f"/api/v1/rooms/{room.slug}/messages")).json()["items"]] == ["held"]
