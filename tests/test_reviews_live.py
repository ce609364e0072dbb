"""Expert reviews on the live stream: the reviewer's queue reloads when ideas are assigned,
the moderators' progress reloads as reviews come in, and nobody else hears of either."""

from __future__ import annotations

from typing import Any

from innovate.rooms.memberships import add_member
from innovate.rooms.models import Room
from innovate.writes import write
from tests.live_support import (  # noqa: F401  (fixtures)
    LiveServer,
    api_call,
    frames_before,
    frames_until,
    has_kind,
    live,
    live_overrides,
    live_socket,
    of_kind,
    open_room,
    post_marker,
    settings_overrides,
)


async def test_queue_and_progress_follow_live_for_the_reviewer_and_the_moderators_only(
        live: LiveServer, make_user: Any) -> None:
    moderator, ada, gia, eve = (await make_user(is_moderator=True), await make_user(),
                                await make_user(kind="guest"), await make_user())
    room = await open_room(live, moderator, ada, eve)
    slug = room["slug"]
    async with write(live.resources) as (db, outbox):  # what redeeming an invite does
        joined = await db.get(Room, room["id"])
        assert joined is not None
        await add_member(db, outbox, joined, gia)
    idea = await api_call(live, ada, "POST", f"/api/v1/rooms/{slug}/ideas", {"title": "Crates", "body": "Reuse"})
    criteria = await api_call(live, moderator, "PUT", f"/api/v1/rooms/{slug}/criteria",
                              {"criteria": [{"name": "Impact", "scale": 5}]})
    await api_call(live, moderator, "POST", f"/api/v1/rooms/{slug}/reviewers", {"user_id": gia.id})
    async with (await live.connect(gia, slug, fmt=None) as gia_html, await live.connect(moderator, slug) as mod_json,
                await live.connect(moderator, slug, fmt=None) as mod_html,
                await live.connect(eve, slug, fmt=None) as eve_html, await live.connect(ada, slug) as ada_json):
        await api_call(live, moderator, "POST", f"/api/v1/rooms/{slug}/assignments", {"auto": {"per_idea": 1}})
        queued = of_kind(await frames_until(gia_html, has_kind("review.assigned")), "review.assigned")[0]
        assert 'hx-target="#review-queue"' in queued["content"] and f"/rooms/{slug}/reviews/queue/items" in queued["content"]
        assigned = of_kind(await frames_until(mod_json, has_kind("review.assigned")), "review.assigned")[0]
        assert assigned["data"]["user_id"] == gia.id and assigned["data"]["idea_ids"] == [idea["id"]]
        impact = str(criteria["items"][0]["id"])
        await api_call(live, gia, "PUT", f"/api/v1/ideas/{idea['id']}/review",
                       {"scores": {impact: 4}, "recommendation": "advance", "submit": True})
        progress = of_kind(await frames_until(mod_html, has_kind("review.submitted")), "review.submitted")[0]
        assert 'hx-target="#review-progress"' in progress["content"]
        assert f"/rooms/{slug}/reviews/progress" in progress["content"]
        # The author and the other members hear of neither.
        marker = await post_marker(live, moderator, slug)
        for ws in (eve_html, ada_json):
            assert [f for f in await frames_before(ws, marker) if f.get("kind", "").startswith("review.")] == []
