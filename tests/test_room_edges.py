"""Where moderators and guests used to get stuck: moderators' tool links, guests' "My
challenges", leaving with a confirmation, and forms that show every error at once, in words
(the JSON API naming each field). On both databases."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.test_room_pages import ROLES, cast, no_js  # noqa: F401  (fixtures)

TOOL_LINKS = ("/rooms/green/moderation", "/rooms/green/insights", "/rooms/green/report",
              "/rooms/green/insights#exports", "/rooms/green/audit")


def tool_links(text: str) -> list[str]:
    nav = re.search(r'<nav class="tool-links" aria-label="Moderator tools">(.*?)</nav>', text, re.S)
    return re.findall(r'href="([^"]+)"', nav.group(1)) if nav else []


async def test_moderators_find_their_tools_and_nobody_else_sees_them(cast, sign_in) -> None:
    for role in ROLES[:5]:
        http = await sign_in(cast[role])
        room = (await http.get("/rooms/green")).text
        if role in ("admin", "moderator"):
            assert set(TOOL_LINKS) <= set(tool_links(room)), role
            queue = (await http.get("/rooms/green/moderation")).text
            assert set(TOOL_LINKS) <= set(tool_links(queue))
            assert 'href="/rooms/green/moderation" aria-current="page"' in queue
            for path in TOOL_LINKS:  # every link leads somewhere this person may go
                assert (await http.get(path.partition("#")[0])).status_code == 200, path
        else:
            assert tool_links(room) == [] and "/rooms/green/insights" not in room, role
            assert "/rooms/green/audit" not in room and "/rooms/green/moderation" not in room, role


async def test_a_draft_room_has_no_report_link(cast, sign_in) -> None:
    moderator = await sign_in(cast["moderator"])
    token = await no_js(moderator, "/rooms/new")
    created = await moderator.post("/rooms/new", data={"slug": "drafty", "title": "Drafty", "voting_mode": "updown",
                                                        "visibility": "employees", "phase": "draft",
                                                        "csrf_token": token})
    assert created.status_code == 303
    links = tool_links((await moderator.get("/rooms/drafty")).text)
    assert "/rooms/drafty/insights" in links and "/rooms/drafty/report" not in links


async def test_guests_get_my_challenges_and_nothing_about_employees(cast, sign_in) -> None:
    guest = await sign_in(cast["guest"])
    mine = await guest.get("/rooms")
    assert mine.status_code == 200 and "<h1>My challenges</h1>" in mine.text
    assert 'href="/rooms/green"' in mine.text and "Green logistics" in mine.text
    room = (await guest.get("/rooms/green")).text
    assert re.search(r'<a href="/rooms"[^>]*>My challenges</a>', room)
    assert "Open to all employees" not in room
    outsider = await sign_in(cast["outsider"])  # a guest in no room: an empty list, not a dead end
    empty = await outsider.get("/rooms")
    assert empty.status_code == 200 and "You are not in a challenge at the moment" in empty.text
    employee = await sign_in(cast["member"])
    page = (await employee.get("/rooms/green")).text
    assert "Open to all employees" in page and re.search(r'<a href="/rooms"[^>]*>Challenges</a>', page)


async def test_leaving_asks_first_and_tells_a_guest_what_it_costs(cast, sign_in, resources) -> None:
    guest = await sign_in(cast["guest"])
    token = await no_js(guest, "/rooms/green")
    asked = await guest.get("/rooms/green/leave")
    assert asked.status_code == 200 and "You will need a new invitation to come back." in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    # A post without the confirmation (an old form, a stray request) only asks.
    unconfirmed = await guest.post("/rooms/green/leave", data={"csrf_token": token})
    assert unconfirmed.status_code == 200 and "Leave “Green logistics”?" in unconfirmed.text
    assert (await guest.get("/rooms/green")).status_code == 200  # still a member
    left = await guest.post("/rooms/green/leave", data={"csrf_token": token, "confirm": "yes"})
    assert left.status_code == 303 and left.headers["location"] == "/"
    assert (await guest.get("/rooms/green")).status_code == 404
    assert (await guest.get("/rooms/green/leave")).status_code == 404

    member = await sign_in(cast["member"])
    words = (await member.get("/rooms/green/leave")).text
    assert "You can join again while the challenge is open." in words and "new invitation" not in words
    nonmember = await sign_in(cast["nonmember"])  # nothing to leave: back to the room
    away = await nonmember.get("/rooms/green/leave")
    assert away.status_code == 303 and away.headers["location"] == "/rooms/green"


BAD_ROOM = {"slug": "Bad Slug", "title": "", "cover_url": "http://plain.example/x.png", "voting_mode": "budget",
            "budget": "3", "max_per_idea": "5", "opens_at": "2031-03-02T09:00", "voting_at": "2031-03-01T09:00",
            "closes_at": "not a date", "visibility": "employees", "phase": "draft"}


async def test_the_room_form_shows_every_error_at_once_in_words(cast, sign_in) -> None:
    admin = await sign_in(cast["admin"])
    token = await no_js(admin, "/rooms/new")
    refused = await admin.post("/rooms/new", data={**BAD_ROOM, "csrf_token": token})
    assert refused.status_code == 422 and "<html" in refused.text
    for name in ("slug", "title", "cover_url", "max_per_idea", "voting_at", "closes_at"):
        assert re.search(rf'id="room-form-{name}"[^>]*aria-invalid="true" aria-describedby="room-form-{name}-error"',
                         refused.text), name
        assert f'<small id="room-form-{name}-error" class="field-error">' in refused.text, name
    assert "Please check the 6 fields marked below." in refused.text
    assert "must be after the opening" in refused.text
    shown = re.findall(r'class="field-error">([^<]*)<', refused.text)
    assert len(shown) == 6 and not [words for words in shown if "_" in words], shown  # no internal names
    assert 'value="Bad Slug"' in refused.text  # what was typed stays

    # The settings form of a room, the same way (htmx answers the form alone).
    settings = await admin.post("/rooms/green/settings", headers={"HX-Request": "true"},
                                data={"title": "", "voting_mode": "updown", "opens_at": "2031-03-02T09:00",
                                      "voting_at": "2031-03-01T09:00", "csrf_token": token})
    assert settings.status_code == 422 and settings.text.lstrip().startswith('<form id="room-form"')
    assert 'id="room-form-title-error"' in settings.text and 'id="room-form-voting_at-error"' in settings.text


async def test_the_api_names_every_field_in_one_422(cast, sign_in) -> None:
    admin = await sign_in(cast["admin"])
    body: dict[str, Any] = {**BAD_ROOM, "opens_at": "2031-03-02T09:00:00Z", "voting_at": "2031-03-01T09:00:00Z"}
    refused = await admin.post("/api/v1/rooms", json=body)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"slug", "title", "cover_url", "max_per_idea", "voting_at", "closes_at"}
    assert error["fields"]["voting_at"] == "must be after the opening"
    assert "voting_at: must be after the opening" in error["message"]
    one = await admin.patch("/api/v1/rooms/green", json={"title": ""})
    assert one.status_code == 422 and one.json()["error"] == {
        "code": "invalid", "message": "title: must not be empty", "fields": {"title": "must not be empty"}}


@pytest.mark.parametrize("path", ["/rooms/new", "/rooms/green/settings"])
async def test_nothing_is_written_when_any_field_is_wrong(cast, sign_in, path: str) -> None:
    admin = await sign_in(cast["admin"])
    token = await no_js(admin, path)
    before = (await admin.get("/api/v1/rooms/green")).json()
    await admin.post(path, data={**BAD_ROOM, "slug": "half", "title": "Half written", "csrf_token": token})
    assert (await admin.get("/api/v1/rooms/half")).status_code == 404
    assert (await admin.get("/api/v1/rooms/green")).json()["title"] == before["title"]
