"""Who sees the insights: only the room's moderators and admins (both databases).

Anyone who cannot see the room gets 404 (as if it did not exist); people who see the room
but do not moderate it get 403; signed-out visitors are sent to sign in (pages) or get 401.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from innovate.resources import Resources
from tests.factories import make_room
from tests.insights_world import build_world, close

ROOM_PAGES = ("/rooms/{slug}/insights", "/rooms/{slug}/report")
ROOM_API = ("/api/v1/rooms/{slug}/insights", "/api/v1/rooms/{slug}/export/ideas.csv",
            "/api/v1/rooms/{slug}/export/votes.json", "/api/v1/rooms/{slug}/export/messages.csv",
            "/api/v1/rooms/{slug}/export/audit.json")
SITE = ("/admin/insights", "/api/v1/admin/insights")


async def statuses(http: httpx.AsyncClient, slug: str) -> dict[str, int]:
    found = {}
    for path in (*ROOM_PAGES, *ROOM_API):
        found[path] = (await http.get(path.format(slug=slug))).status_code
    for path in SITE:
        found[path] = (await http.get(path)).status_code
    return found


def expect(room: int, site: int) -> dict[str, int]:
    return {**{p: room for p in (*ROOM_PAGES, *ROOM_API)}, **{p: site for p in SITE}}


@pytest.mark.parametrize("visibility", ["employees", "invite-only"])
async def test_access_matrix(resources: Resources, make_user: Any, sign_in: Any, app: Any, visibility: str) -> None:
    w = await build_world(resources, make_user, visibility=visibility)
    await close(resources, w)
    admin = await make_user("root@corp.example", name="Ada Admin", is_admin=True)
    other_moderator = await make_user("otto@corp.example", name="Otto", is_moderator=True)
    await make_room(resources, other_moderator, title="Otto's room")
    outsider_guest = await make_user("olga@expert.example", name="Olga", kind="guest")
    slug = w.room.slug

    # The room's moderator and any admin see everything of the room; only admins the site.
    assert await statuses(await sign_in(w.people["hanna"]), slug) == expect(200, 403)
    assert await statuses(await sign_in(admin), slug) == expect(200, 200)
    # Members see the room but not its figures.
    assert await statuses(await sign_in(w.people["alice"]), slug) == expect(403, 403)
    # A guest member: the closed room still admits guests (guest access ends when archived).
    assert await statuses(await sign_in(w.people["erin"]), slug) == expect(403, 403)
    # Outsiders: an employee sees an employees' room (403) but not an invite-only one (404);
    # moderating another room changes nothing; a guest from elsewhere never sees it.
    seen = 403 if visibility == "employees" else 404
    assert await statuses(await sign_in(w.people["dan"]), slug) == expect(seen, 403)
    assert await statuses(await sign_in(other_moderator), slug) == expect(seen, 403)
    assert await statuses(await sign_in(outsider_guest), slug) == expect(404, 403)


async def test_signed_out_and_unknown(resources: Resources, make_user: Any, client: httpx.AsyncClient,
                                      sign_in: Any) -> None:
    w = await build_world(resources, make_user)
    slug = w.room.slug
    page = await client.get(f"/rooms/{slug}/insights")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    api = await client.get(f"/api/v1/rooms/{slug}/export/ideas.csv")
    assert api.status_code == 401 and api.json()["error"]["code"] == "not_signed_in"
    hanna = await sign_in(w.people["hanna"])
    for name in ("ideas.xml", "people.csv", "ideas", "..csv"):
        response = await hanna.get(f"/api/v1/rooms/{slug}/export/{name}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert (await hanna.get("/api/v1/rooms/no-such-room/insights")).status_code == 404
    assert (await hanna.get("/rooms/no-such-room/report")).status_code == 404
