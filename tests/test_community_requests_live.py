"""Join requests reaching the owners' open pages at once: a real uvicorn server and real
websocket clients; the requests go through the API."""

from __future__ import annotations

from typing import Any

from tests.live_support import (  # noqa: F401 - fixtures
    LiveServer,
    api_call,
    frames_before,
    frames_until,
    has_kind,
    live,
    live_overrides,
    live_socket,
    of_kind,
    post_marker,
    settings_overrides,
)


async def test_the_queue_and_its_count_follow_for_the_owners_only(live: LiveServer, make_user: Any) -> None:
    owner, member, emp = await make_user(), await make_user(), await make_user(name="Em Ployee")
    slug = "live-book-club"
    await api_call(live, owner, "POST", "/api/v1/rooms", {"kind": "community", "slug": slug, "title": "Books"})
    await api_call(live, member, "POST", f"/api/v1/rooms/{slug}/join")
    await api_call(live, owner, "PATCH", f"/api/v1/rooms/{slug}", {"visibility": "by-request"})
    async with (await live.connect(owner, slug, fmt=None) as owner_html, await live.connect(owner, slug) as owner_json,
                await live.connect(member, slug, fmt=None) as member_html,
                await live.connect_user_stream(emp) as emp_stream):
        await api_call(live, emp, "POST", f"/api/v1/communities/{slug}/requests", {"message": "Hello"})
        html = of_kind(await frames_until(owner_html, has_kind("join_request.created")), "join_request.created")[0]
        data = of_kind(await frames_until(owner_json, has_kind("join_request.created")), "join_request.created")[0]
        # The members hear nothing of it.
        marker = await post_marker(live, owner, slug)
        assert [f for f in await frames_before(member_html, marker) if f.get("kind", "").startswith("join_request")] == []
        queue = await api_call(live, owner, "GET", f"/api/v1/communities/{slug}/requests")
        await api_call(live, owner, "POST", f"/api/v1/communities/{slug}/requests/{queue['pending'][0]['id']}/approve")
        approved = of_kind(await frames_until(owner_html, has_kind("join_request.approved")), "join_request.approved")[0]
        # The one who asked hears the answer on their own socket (their open card fetches it).
        answered = of_kind(await frames_until(emp_stream, has_kind("join_request.answered")), "join_request.answered")
        assert answered[0]["data"] == {"slug": slug}
    # The queue page and the tool links swap in their fresh parts; a screen reader hears of it.
    assert 'hx-target="#join-requests"' in html["content"] and f"/rooms/{slug}/requests/queue" in html["content"]
    assert 'hx-target="#join-requests-count"' in html["content"] and "asks to join" in html["content"]
    assert data["data"]["pending"] == 1 and data["data"]["user_id"] == emp.id
    assert 'hx-target="#join-requests"' in approved["content"]
