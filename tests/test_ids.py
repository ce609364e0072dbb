"""Ids from the outside: in a path, anything that is not an id of at most nine digits matches
no route (404); in a body, it is a 422 naming the field. Neither reaches the database, whose
integer columns (32-bit in PostgreSQL) would answer with an error instead."""

from __future__ import annotations

from tests.factories import make_idea, make_room

TOO_LONG = "9" * 11


async def test_ids_in_paths_and_bodies(make_user, resources, sign_in) -> None:
    moderator = await make_user("mod@example.com", name="Mo Derator", is_moderator=True)
    room = await make_room(resources, moderator, slug="green", title="Green logistics")
    idea = await make_idea(resources, moderator, room, title="Cargo bikes")
    http = await sign_in(moderator)
    for path in (f"/rooms/green/ideas/{TOO_LONG}", f"/rooms/green/messages/{TOO_LONG}/edit",
                 f"/rooms/green/members/{TOO_LONG}", f"/api/v1/ideas/{TOO_LONG}", "/api/v1/ideas/-1",
                 "/rooms/green/ideas/1e3"):
        assert (await http.get(path)).status_code == 404, path
    assert (await http.get(f"/rooms/green/ideas/{idea.id}")).status_code == 200
    for field, body in (("idea_id", {"body": "Hello", "idea_id": int(TOO_LONG)}),
                        ("reply_to", {"body": "Hello", "reply_to": int(TOO_LONG)})):
        refused = await http.post("/api/v1/rooms/green/messages", json=body)
        assert refused.status_code == 422 and field in refused.json()["error"]["fields"], refused.text
    refused = await http.post("/api/v1/reports", json={"message_id": int(TOO_LONG), "reason": "spam"})
    assert refused.status_code == 422 and "message_id" in refused.json()["error"]["fields"]
    refused = await http.patch(f"/api/v1/ideas/{idea.id}", json={"into": int(TOO_LONG)})
    assert refused.status_code == 422 and "into" in refused.json()["error"]["fields"]
    # A page's query string: an id that cannot be one is no id (the first page of the thread).
    assert (await http.get(f"/rooms/green?before={TOO_LONG}")).status_code == 200
    assert (await http.get(f"/api/v1/rooms/green/messages?before={TOO_LONG}")).status_code == 422
