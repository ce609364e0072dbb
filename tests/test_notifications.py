"""Notifications: written from events in the same transaction, to the right people only,
collapsed per thread; the JSON API, the inbox, the bell, and reading a page reads them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from innovate import kinds
from innovate.moderation import service as moderation
from innovate.notifications.models import Notification
from innovate.resources import Resources
from innovate.rooms import service as rooms
from innovate.rooms.ideas import service as ideas
from innovate.rooms.models import Room
from tests.factories import make_idea, make_message, make_room
from tests.moderation_support import World, build_world


@pytest.fixture
async def world(app: Any, resources: Resources, make_user: Any) -> World:
    return await build_world(resources, make_user)


@pytest.fixture
def published(resources: Resources) -> list[dict[str, Any]]:
    """Every broker message published after commit (the live side of a write)."""
    seen: list[dict[str, Any]] = []
    original = resources.broker.publish

    async def publish(message: dict[str, Any]) -> None:
        seen.append(message)
        await original(message)

    resources.broker.publish = publish  # type: ignore[method-assign]
    return seen


async def rows(resources: Resources, user_id: int) -> list[Notification]:
    async with resources.db() as db:
        return list((await db.execute(select(Notification).where(Notification.user_id == user_id)
                                      .order_by(Notification.id))).scalars())


async def api(http: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await http.get("/api/v1/me/notifications", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def bell_frames(published: list[dict[str, Any]], user_id: int) -> list[int]:
    return [m["frame"]["data"]["unread"] for m in published
            if m.get("kind") == "user" and m.get("user_id") == user_id
            and m["frame"]["kind"] == kinds.NOTIFICATIONS_UNREAD.name]


async def test_a_mention_notifies_in_the_same_transaction_with_a_bell_frame(
        resources: Resources, world: World, published: list[dict[str, Any]], sign_in: Any) -> None:
    message = await make_message(resources, world.bob, world.a, "What do you think, @adalovelace?")
    [item] = await rows(resources, world.ada.id)
    assert (item.kind, item.category, item.actor_id, item.message_id) == ("mention", "mentions", world.bob.id, message.id)
    assert item.path == f"/rooms/{world.a.slug}" and item.anchor == f"message-{message.id}"
    assert bell_frames(published, world.ada.id) == [1]
    assert await rows(resources, world.bob.id) == []  # never about one's own doing

    data = await api(await sign_in(world.ada))
    assert data["unread"] == 1 and data["next_cursor"] is None
    [got] = data["items"]
    assert set(got) >= {"id", "kind", "room", "subject", "url", "created_at", "read_at", "count"}
    assert got["subject"] == f"Bob Builder mentioned you in '{world.a.title}'"
    assert got["url"] == f"/rooms/{world.a.slug}#message-{message.id}"
    assert got["room"] == {"slug": world.a.slug, "title": world.a.title} and got["read_at"] is None


async def test_the_live_frame_renders_the_bell(app: Any) -> None:
    template = app.state.templates.get_template(f"live/{kinds.NOTIFICATIONS_UNREAD.name}.html")
    html = template.render({"frame": {}, "data": {"unread": 3}, "viewer": None})
    assert 'hx-target="#notification-bell"' in html and 'hx-swap="outerHTML"' in html
    assert 'id="notification-bell"' in html and ">3<" in html


async def test_replies_on_one_thread_collapse_into_one_unread_item(resources: Resources, world: World) -> None:
    idea = await make_idea(resources, world.ada, world.a, title="Cargo bikes")
    first = await make_message(resources, world.bob, world.a, "Nice", idea_id=idea.id)
    for text in ("More", "And more"):
        await make_message(resources, world.bob, world.a, text, idea_id=idea.id)
    [item] = await rows(resources, world.ada.id)
    assert (item.kind, item.count, item.thread) == ("idea_comment", 3, f"idea_comment:idea:{idea.id}")
    # Bob took part in the thread: Ada's answer tells him, once, as a reply to his message.
    await make_message(resources, world.ada, world.a, "Thanks", idea_id=idea.id, reply_to=first.id)
    [bobs] = await rows(resources, world.bob.id)
    assert bobs.kind == "reply" and bobs.count == 1
    # A third member who commented before hears of later comments in that thread.
    await make_message(resources, world.mod, world.a, "Moderator here", idea_id=idea.id)
    await make_message(resources, world.bob, world.a, "Again", idea_id=idea.id)
    assert [n.kind for n in await rows(resources, world.mod.id)] == ["thread_comment"]


async def test_reading_marks_read_and_a_new_event_starts_a_new_item(
        resources: Resources, world: World, sign_in: Any, published: list[dict[str, Any]]) -> None:
    idea = await make_idea(resources, world.ada, world.a, title="Cargo bikes")
    await make_message(resources, world.bob, world.a, "One", idea_id=idea.id)
    ada = await sign_in(world.ada)
    page = await ada.get(f"/rooms/{world.a.slug}/ideas/{idea.id}")
    assert page.status_code == 200
    assert 'id="notification-bell"' in page.text
    assert '<a href="/notifications" aria-label="Notifications">' in page.text and "bell-count" not in page.text
    [item] = await rows(resources, world.ada.id)
    assert item.read_at is not None
    assert bell_frames(published, world.ada.id)[-1] == 0  # the other tabs' bells follow
    await make_message(resources, world.bob, world.a, "Two", idea_id=idea.id)
    assert [(n.count, n.read_at is None) for n in await rows(resources, world.ada.id)] == [(1, False), (1, True)]
    home = await ada.get("/")
    assert 'aria-label="Unread notifications: 1"' in home.text


async def test_mark_one_and_all_read_through_the_api(resources: Resources, world: World, sign_in: Any) -> None:
    await make_message(resources, world.bob, world.a, "@adalovelace one")
    idea = await make_idea(resources, world.ada, world.a, title="Bikes")
    await make_message(resources, world.bob, world.a, "two", idea_id=idea.id)
    ada = await sign_in(world.ada)
    items = (await api(ada))["items"]
    assert [i["kind"] for i in items] == ["idea_comment", "mention"]  # newest first
    response = await ada.post("/api/v1/me/notifications/read", json={"ids": [items[1]["id"]]})
    assert response.json() == {"read": 1, "unread": 1}
    assert [i["kind"] for i in (await api(ada, unread=1))["items"]] == ["idea_comment"]
    assert (await ada.post("/api/v1/me/notifications/read", json={"all": True})).json() == {"read": 1, "unread": 0}
    # Someone else's ids change nothing.
    bob = await sign_in(world.bob)
    assert (await bob.post("/api/v1/me/notifications/read", json={"ids": [items[0]["id"]]})).json()["read"] == 0
    for bad, field in (({}, "ids"), ({"ids": "1"}, "ids"), ({"ids": [True]}, "ids"), ({"all": "yes"}, "all")):
        response = await ada.post("/api/v1/me/notifications/read", json=bad)
        assert response.status_code == 422 and field in response.json()["error"]["fields"]


async def test_pages_through_the_cursor(resources: Resources, world: World, sign_in: Any) -> None:
    for n in range(5):
        idea = await make_idea(resources, world.ada, world.a, title=f"Idea {n}")
        await make_message(resources, world.bob, world.a, "hi", idea_id=idea.id)
    ada = await sign_in(world.ada)
    first = await api(ada, limit=2)
    second = await api(ada, limit=2, cursor=first["next_cursor"])
    third = await api(ada, limit=2, cursor=second["next_cursor"])
    titles = [i["subject"] for page in (first, second, third) for i in page["items"]]
    assert titles == [f"Bob Builder commented on your idea 'Idea {n}'" for n in (4, 3, 2, 1, 0)]
    assert third["next_cursor"] is None
    bad = await ada.get("/api/v1/me/notifications", params={"cursor": "nonsense!"})
    assert bad.status_code == 422 and "cursor" in bad.json()["error"]["fields"]


async def test_status_merge_and_review_tell_the_author(resources: Resources, world: World, make_user: Any) -> None:
    idea = await make_idea(resources, world.bob, world.a, title="Bob's idea")
    await ideas.set_idea_status(resources, world.mod, idea.id, {"status": "shortlisted"})
    await ideas.merge_ideas(resources, world.mod, idea.id, {"into": world.idea.id})
    got = [(n.kind, n.data) for n in await rows(resources, world.bob.id)]
    assert ("idea_status", {"status": "shortlisted", "reason": None}) in got
    assert ("idea_merged", {"into_title": "Ada's idea"}) in got
    # Held guest posts: the author hears of the review, with the reason when declined.
    await rooms.update_room(resources, world.mod, world.a.slug, {"premoderation": "all"})
    held = await make_message(resources, world.gia, world.a, "Guest thought, @adalovelace")
    declined = await make_message(resources, world.gia, world.a, "Spam")
    assert await rows(resources, world.ada.id) == [], "a held post tells nobody"
    await moderation.approve_message(resources, world.mod, held.id)
    await moderation.reject_message(resources, world.mod, declined.id, {"reason": "off topic"})
    assert [(n.kind, n.data) for n in await rows(resources, world.gia.id)] == [
        ("post_approved", {}), ("post_declined", {"reason": "off topic"})]
    # Approved, the post is visible: now its mention counts.
    assert [n.kind for n in await rows(resources, world.ada.id)] == ["mention"]


async def test_phase_changes_tell_members_who_can_see_the_room(resources: Resources, world: World) -> None:
    await rooms.change_phase(resources, world.mod, world.a.slug, "voting")
    for person in (world.ada, world.bob, world.gia):
        assert [n.kind for n in await rows(resources, person.id)] == ["phase"]
    assert await rows(resources, world.mod.id) == []  # their own doing
    assert await rows(resources, world.mod_b.id) == []  # not in the room
    await rooms.update_room(resources, world.mod, world.a.slug, {"guests_until": "closed"})
    await rooms.change_phase(resources, world.mod, world.a.slug, "closed")
    # Unread, the room's item shows its latest phase.
    assert [(n.data["phase"], n.count) for n in await rows(resources, world.ada.id)] == [("closed", 2)]
    # The guest lost the room at its close: nothing about it reaches them.
    assert [(n.data["phase"], n.count) for n in await rows(resources, world.gia.id)] == [("voting", 1)]


async def test_made_moderator(resources: Resources, world: World) -> None:
    await moderation.update_member(resources, world.mod, world.a.slug, world.ada.id, {"role": "moderator"})
    [item] = await rows(resources, world.ada.id)
    assert (item.kind, item.category, item.actor_id) == ("made_moderator", "invitations", world.mod.id)


async def test_hidden_and_deleted_messages_take_their_notifications_away(
        resources: Resources, world: World, sign_in: Any) -> None:
    hidden = await make_message(resources, world.bob, world.a, "@adalovelace look")
    assert len(await rows(resources, world.ada.id)) == 1
    await moderation.hide_message(resources, world.mod, hidden.id, {"reason": "rude"})
    assert await rows(resources, world.ada.id) == []
    deleted = await make_message(resources, world.bob, world.a, "@adalovelace oops")
    from innovate.rooms.discussion import service as discussion

    await discussion.delete_message(resources, world.bob, deleted.id)
    assert await rows(resources, world.ada.id) == []
    assert (await api(await sign_in(world.ada)))["unread"] == 0


async def test_no_notification_about_what_the_recipient_cannot_see(
        resources: Resources, world: World, make_user: Any, sign_in: Any) -> None:
    # An anonymous idea: its author hears of comments; nobody's item names the author.
    room = await make_room(resources, world.mod, allow_anonymous=True)
    from tests.factories import join

    await join(resources, room, world.ada, world.bob)
    secret = await make_idea(resources, world.ada, room, title="Nameless", anonymous=True)
    await make_message(resources, world.bob, room, "Interesting", idea_id=secret.id)
    await make_message(resources, world.mod, room, "Agreed", idea_id=secret.id)
    ada_items = (await api(await sign_in(world.ada)))["items"]
    assert {i["kind"] for i in ada_items} == {"idea_comment"}
    bob_items = (await api(await sign_in(world.bob)))["items"]
    assert [i["kind"] for i in bob_items] == ["thread_comment"]
    assert "Ada" not in str(bob_items) and "Lovelace" not in str(bob_items)
    for item in bob_items:
        async with resources.db() as db:
            row = await db.get(Notification, item["id"])
        assert row is not None and row.actor_id != world.ada.id
    # A guest is never told about a room they are not in, even when @mentioned there.
    await make_message(resources, world.bob, world.b, "@giaguest are you here?")
    assert all(n.room_id == world.a.id for n in await rows(resources, world.gia.id))
    # A hidden idea's thread: its comments reach only the moderators and its author.
    idea = await make_idea(resources, world.bob, world.a, title="Soon hidden")
    await make_message(resources, world.ada, world.a, "first", idea_id=idea.id)
    await moderation.hide_idea(resources, world.mod, idea.id, {"reason": "duplicate"})
    await make_message(resources, world.mod, world.a, "why hidden", idea_id=idea.id)
    kinds_for_ada = [n.kind for n in await rows(resources, world.ada.id) if n.idea_id == idea.id]
    assert kinds_for_ada == []
    assert [n.kind for n in await rows(resources, world.bob.id) if n.idea_id == idea.id] == ["idea_comment", "idea_comment"] \
        or [n.count for n in await rows(resources, world.bob.id) if n.idea_id == idea.id] == [2]


async def test_guest_access_ending_is_told_once(resources: Resources, world: World) -> None:
    from datetime import timedelta

    from innovate.db import utcnow
    from innovate.notifications.service import notify_access_ending

    async with resources.db.begin() as db:
        room = await db.get(Room, world.a.id)
        assert room is not None
        room.archives_at = utcnow() + timedelta(days=2)
    assert await notify_access_ending(resources) == 1
    assert await notify_access_ending(resources) == 0
    [item] = await rows(resources, world.gia.id)
    assert (item.kind, item.category) == ("access_ending", "invitations")
    assert await rows(resources, world.ada.id) == []  # employees keep access


async def test_inbox_page_and_settings_page(resources: Resources, world: World, sign_in: Any) -> None:
    message = await make_message(resources, world.bob, world.a, "@adalovelace hello")
    ada = await sign_in(world.ada)
    page = await ada.get("/notifications")
    assert page.status_code == 200
    assert f'href="/rooms/{world.a.slug}#message-{message.id}"' in page.text
    assert 'class="notification unread"' in page.text
    [item] = await rows(resources, world.ada.id)
    done = await ada.post("/notifications/read", data={"id": str(item.id),
                                                       "csrf_token": ada.headers["X-CSRF-Token"]})
    assert done.status_code == 303
    assert (await rows(resources, world.ada.id))[0].read_at is not None
    settings = await ada.get("/settings/notifications")
    assert settings.status_code == 200 and "E-mail is not set up on this site" in settings.text


async def test_every_role_against_the_notification_routes(app: Any, resources: Resources, world: World,
                                                         sign_in: Any) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as outsider:
        for method, url in (("GET", "/api/v1/me/notifications"), ("POST", "/api/v1/me/notifications/read"),
                            ("GET", "/api/v1/me/notification-settings"), ("PUT", "/api/v1/me/notification-settings")):
            response = await outsider.request(method, url, json={"all": True},
                                              headers={"Authorization": "Bearer nope"})
            assert response.status_code == 401, (method, url)
        for url in ("/notifications", "/settings/notifications"):
            assert (await outsider.get(url)).status_code == 303
    await make_message(resources, world.bob, world.a, "@adalovelace @giaguest @bobbuilder hi all")
    for person in (world.admin, world.mod, world.ada, world.gia):
        http = await sign_in(person)
        data = await api(http)
        # Each sees their own items, never another's.
        async with resources.db() as db:
            mine = (await db.execute(select(func.count()).select_from(Notification)
                                     .where(Notification.user_id == person.id))).scalar_one()
        assert len(data["items"]) == mine
        assert (await http.get("/notifications")).status_code == 200
        assert (await http.get("/api/v1/me/notification-settings")).status_code == 200


async def test_settings_saved_at_once_by_several_requests_all_land(resources: Resources, make_user: Any) -> None:
    """The first save creates the person's row. Several at once (the browser's time zone
    guessed at sign-in while a settings page saves, say) must not collide on it."""
    import asyncio

    from innovate.notifications.service import SettingsChange, save_settings, switch_off

    user = await make_user()
    changes = [SettingsChange(choices={"ideas": "daily"}, time_zone=None),
               SettingsChange(choices={}, time_zone="Europe/Berlin")]
    results = await asyncio.gather(*(save_settings(resources, user, change) for change in changes * 4),
                                   switch_off(resources, user.id, "phases"), return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    from innovate.notifications.models import NotificationSettings

    async with resources.db() as db:
        row = await db.get(NotificationSettings, user.id)
    assert row is not None and (row.ideas, row.time_zone, row.phases) == ("daily", "Europe/Berlin", "off")
