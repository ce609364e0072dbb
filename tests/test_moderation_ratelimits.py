"""Spam and abuse limits per member and room, on both databases: posting, idea and vote
rates (429 with Retry-After, counted in the database so every process shares them),
links and mentions per post (422), stricter for guests, none for moderators."""

from __future__ import annotations

from typing import Any

import pytest

from innovate.app import open_resources
from innovate.errors import TooMany
from innovate.rooms.discussion import service as messages
from tests.clients import form_csrf
from tests.moderation_support import World, build_world, ok

LIMITS = {"posts_per_minute": 3, "guest_posts_per_minute": 2, "ideas_per_hour": 2, "guest_ideas_per_hour": 1,
          "votes_per_minute": 3, "guest_votes_per_minute": 2, "links_per_post": 2, "guest_links_per_post": 1,
          "mentions_per_post": 2, "guest_mentions_per_post": 1}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(LIMITS)


@pytest.fixture
async def world(resources, make_user) -> World:
    return await build_world(resources, make_user)


@pytest.fixture
async def clients(world: World, sign_in) -> dict[str, Any]:
    return {name: await sign_in(getattr(world, name)) for name in ("mod", "bob", "ada", "gia")}


def assert_slow_down(response: Any) -> None:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 3600 + 60  # an hour's window, plus its last one-minute bucket
    error = response.json()["error"]
    assert error["code"] == "rate_limited" and "Try again in" in error["message"]


async def test_posting_rate_per_member_and_room(world: World, clients: dict[str, Any]) -> None:
    bob = clients["bob"]
    url = f"/api/v1/rooms/{world.a.slug}/messages"
    for n in range(3):  # the world already holds no posts by Bob in room A
        ok(await bob.post(url, json={"body": f"message {n}"}), 201)
    refused = await bob.post(url, json={"body": "one too many"})
    assert_slow_down(refused)
    assert "at most 3 messages a minute" in refused.json()["error"]["message"]
    # Nothing was written; other members and other rooms are not affected.
    bodies = [m["body"] for m in ok(await bob.get(url))["items"]]
    assert "one too many" not in bodies
    ok(await clients["ada"].post(url, json={"body": "my own allowance"}), 201)
    ok(await bob.post(f"/api/v1/rooms/{world.b.slug}/messages", json={"body": "room B is separate"}), 201)


async def test_guests_have_stricter_limits_and_moderators_none(world: World, clients: dict[str, Any]) -> None:
    gia, mod = clients["gia"], clients["mod"]
    url = f"/api/v1/rooms/{world.a.slug}/messages"
    for n in range(2):
        ok(await gia.post(url, json={"body": f"guest {n}"}), 201)
    refused = await gia.post(url, json={"body": "guest 3"})
    assert_slow_down(refused)
    # The guest reads their own (stricter) limit, addressed to them.
    assert "you may send at most 2 messages a minute" in refused.json()["error"]["message"]
    for n in range(6):
        ok(await mod.post(url, json={"body": f"announcement {n} https://a.example https://b.example "
                                            "https://c.example @ada @bob @gia"}), 201)


async def test_failed_posts_do_not_use_up_the_allowance(world: World, clients: dict[str, Any]) -> None:
    bob = clients["bob"]
    url = f"/api/v1/rooms/{world.a.slug}/messages"
    for _ in range(5):
        assert (await bob.post(url, json={"body": "x", "reply_to": 999999})).status_code == 422
    for n in range(3):
        ok(await bob.post(url, json={"body": f"fine {n}"}), 201)


async def test_links_and_mentions_per_post(world: World, clients: dict[str, Any]) -> None:
    bob, gia = clients["bob"], clients["gia"]
    url = f"/api/v1/rooms/{world.a.slug}/messages"
    links = await bob.post(url, json={"body": "see https://a.example, [b](https://b.example) and www.c.example"})
    assert links.status_code == 422 and "at most 2 links" in links.json()["error"]["fields"]["body"]
    mentions = await bob.post(url, json={"body": "@ada @gia @mo, what do you think? @ada again"})
    assert mentions.status_code == 422 and "mentions 3 people" in mentions.json()["error"]["fields"]["body"]
    ok(await bob.post(url, json={"body": "https://a.example and https://b.example, thanks @ada @ada"}), 201)
    guest = await gia.post(url, json={"body": "https://a.example https://b.example"})
    assert guest.status_code == 422 and "guests may include at most 1 link" in guest.json()["error"]["fields"]["body"]
    # Edits are held to the same rule.
    mine = ok(await gia.post(url, json={"body": "plain"}), 201)
    edited = await gia.patch(f"/api/v1/messages/{mine['id']}", json={"body": "@ada @bob look"})
    assert edited.status_code == 422


async def test_idea_and_vote_rates(world: World, clients: dict[str, Any], resources) -> None:
    from tests.factories import make_idea

    bob, gia = clients["bob"], clients["gia"]
    ideas_url = f"/api/v1/rooms/{world.a.slug}/ideas"
    for n in range(2):
        ok(await bob.post(ideas_url, json={"title": f"Idea {n}", "body": "b"}), 201)
    assert_slow_down(await bob.post(ideas_url, json={"title": "Idea 3", "body": "b"}))
    ok(await gia.post(ideas_url, json={"title": "Guest idea", "body": "b"}), 201)
    assert_slow_down(await gia.post(ideas_url, json={"title": "Guest idea 2", "body": "b"}))

    targets = [world.idea.id, *[(await make_idea(resources, world.mod, world.a, title=f"T{n}")).id for n in range(2)]]
    for idea_id in targets:
        ok(await bob.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": 1}))
    assert_slow_down(await bob.delete(f"/api/v1/ideas/{targets[0]}/vote"))
    assert ok(await bob.get(f"/api/v1/ideas/{targets[0]}"))["my_vote"] == 1  # the retraction did not happen


async def test_the_count_is_shared_by_every_process(world: World, settings, resources) -> None:
    """A second app process (its own engine and pool) sees the same counter."""
    other = await open_resources(settings)
    try:
        for n in range(2):
            await messages.post_message(resources, world.bob, world.a.slug, {"body": f"here {n}"})
        await messages.post_message(other, world.bob, world.a.slug, {"body": "there"})
        with pytest.raises(TooMany):
            await messages.post_message(other, world.bob, world.a.slug, {"body": "too many"})
        with pytest.raises(TooMany):
            await messages.post_message(resources, world.bob, world.a.slug, {"body": "too many"})
    finally:
        await other.engine.dispose()


async def test_the_page_shows_a_friendly_message(world: World, clients: dict[str, Any]) -> None:
    gia = clients["gia"]
    slug = world.a.slug
    for n in range(2):
        ok(await gia.post(f"/api/v1/rooms/{slug}/messages", json={"body": f"guest {n}"}), 201)
    page = await gia.get(f"/rooms/{slug}")
    token = form_csrf(page.text)
    # With htmx: the composer comes back with the explanation, status 429 and Retry-After.
    htmx = await gia.post(f"/rooms/{slug}/messages", data={"body": "again", "csrf_token": token},
                          headers={"HX-Request": "true"})
    assert htmx.status_code == 429 and int(htmx.headers["retry-after"]) >= 1
    assert 'id="composer-room"' in htmx.text and "Slow down a little" in htmx.text and "role=\"alert\"" in htmx.text
    # Without JavaScript: the whole page, the same message next to the form.
    plain = await gia.post(f"/rooms/{slug}/messages", data={"body": "again", "csrf_token": token})
    assert plain.status_code == 429 and int(plain.headers["retry-after"]) >= 1
    assert "Slow down a little" in plain.text and "<html" in plain.text


async def test_the_window_slides_instead_of_resetting_at_a_boundary(resources, monkeypatch) -> None:
    """A burst that straddles a clock boundary is still one burst: a fixed window would
    have let the third attempt through at 12:01:00.2. Attempts are counted per second of a
    minute's window; Retry-After is when the oldest second that matters has left it."""
    from datetime import UTC, datetime, timedelta

    from innovate.accounts import throttles

    clock = {"now": datetime(2026, 3, 1, 12, 0, 59, 500000, tzinfo=UTC)}
    monkeypatch.setattr(throttles, "utcnow", lambda: clock["now"])

    async def attempt(after: float) -> int | TooMany:
        clock["now"] += timedelta(seconds=after)
        try:
            async with resources.db.begin() as db:
                return await throttles.hit(db, "slide:test", limit=2, window_seconds=60, message="wait")
        except TooMany as exc:
            return exc

    assert await attempt(0) == 1
    assert await attempt(0.3) == 2  # 12:00:59.8
    refused = await attempt(0.4)  # 12:01:00.2, past the minute boundary
    assert isinstance(refused, TooMany) and refused.retry_after == 60  # second :59 has left at 12:02:00
    refused = await attempt(59.2)  # 12:01:59.4: still two in the last minute
    assert isinstance(refused, TooMany) and refused.retry_after == 1
    assert await attempt(0.7) == 1  # 12:02:00.1: both have left; refusals were not stored
    assert await attempt(0) == 2
    refused = await attempt(0)
    assert isinstance(refused, TooMany) and refused.retry_after == 61


async def test_a_high_limit_keeps_a_bounded_number_of_rows(resources, monkeypatch) -> None:
    """However many attempts a generous limit allows, a key holds about one row per second."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import func, select

    from innovate.accounts import throttles
    from innovate.accounts.models import RateCounter

    clock = {"now": datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)}
    monkeypatch.setattr(throttles, "utcnow", lambda: clock["now"])
    for _ in range(300):  # five a second for a minute, then some
        clock["now"] += timedelta(seconds=0.2)
        async with resources.db.begin() as db:
            await throttles.hit(db, "many:test", limit=10_000, window_seconds=60, message="wait")
    async with resources.db() as db:
        rows, total = (await db.execute(select(func.count(), func.sum(RateCounter.count))
                                        .where(RateCounter.key == "many:test"))).one()
    assert rows <= 62 and total <= 310
