"""The room pages: who sees what, forms with and without JavaScript (htmx), escaping, CSP."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from innovate.rooms.memberships import add_member
from innovate.rooms.models import Room
from innovate.rooms.service import change_phase
from innovate.writes import write
from tests.clients import form_csrf
from tests.factories import join, make_idea, make_message, make_room

HX = {"HX-Request": "true"}
XSS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))")


@pytest.fixture
async def cast(make_user, resources) -> dict[str, Any]:
    """One open, employee-visible room with an idea and a message, and a person per role."""
    people = {
        "admin": await make_user("admin@example.com", name="Ada Admin", is_admin=True),
        "moderator": await make_user("mod@example.com", name="Mo Derator", is_moderator=True),
        "member": await make_user("member@example.com", name="Em Member"),
        "nonmember": await make_user("other@example.com", name="Oz Other"),
        "guest": await make_user("guest@example.org", name="Gus Guest", kind="guest"),
        "outsider": await make_user("outsider@example.org", name="Out Sider", kind="guest"),
    }
    room = await make_room(resources, people["moderator"], slug="green", title="Green logistics")
    await join(resources, room, people["member"])
    await add_guest(resources, room, people["guest"])
    idea = await make_idea(resources, people["member"], room, title="Cargo bikes")
    message = await make_message(resources, people["member"], room, "Hello everyone")
    return {**people, "room": room, "idea": idea, "message": message}


async def add_guest(resources, room: Room, user) -> None:
    """What redeeming an invite does (the invite flow is tested with the invites)."""
    async with write(resources) as (db, outbox):
        fresh = await db.get(Room, room.id)
        assert fresh is not None
        await add_member(db, outbox, fresh, user)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.script_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        if self.lasttag == "script" and self.cdata_elem == "script":
            self.script_text.append(data)


def scripts_have_nonce(response: httpx.Response) -> None:
    """Every <script> is external and carries this response's CSP nonce; no inline handlers or styles."""
    csp = response.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)  # type: ignore[union-attr]
    parser = _Tags()
    parser.feed(response.text)
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts, "a page without scripts?"
    for attrs in scripts:
        assert attrs.get("nonce") == nonce and attrs.get("src"), attrs
    assert not "".join(parser.script_text).strip(), "inline script body"
    for tag, attrs in parser.tags:
        assert not [name for name in attrs if name.startswith("on") or name == "style"], (tag, attrs)


def assert_inert(text: str) -> None:
    """Parsed as a browser would: no script we did not write, no handlers, no javascript: URLs."""
    parser = _Tags()
    parser.feed(text)
    for tag, attrs in parser.tags:
        assert tag != "script" or attrs.get("src", "").startswith("/static/"), (tag, attrs)
        assert not (tag == "img" and attrs.get("src") == "x"), (tag, attrs)
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action", "formaction", "hx-get", "hx-post"):
            assert not attrs.get(name, "").strip().lower().startswith("javascript:"), (tag, attrs)


async def no_js(http: httpx.AsyncClient, page_url: str) -> str:
    """Behave like a browser without JavaScript: no CSRF header, the form's hidden field instead."""
    http.headers.pop("X-CSRF-Token", None)
    return form_csrf((await http.get(page_url)).text)


# Who sees what ------------------------------------------------------------------------------

ROLES = ("admin", "moderator", "member", "nonmember", "guest", "outsider")
MATRIX = {
    "/": (200, 200, 200, 200, 200, 200),
    "/rooms": (200, 200, 200, 200, 200, 200),  # a guest's is "My challenges"
    "/rooms/new": (200, 200, 303, 303, 404, 404),  # employees are offered a community instead
    "/communities": (200, 200, 200, 200, 404, 404),
    "/communities/new": (200, 200, 200, 200, 404, 404),
    "/admin/communities": (200, 403, 403, 403, 403, 403),
    "/rooms/green": (200, 200, 200, 200, 200, 404),
    "/rooms/green/ideas/{idea}": (200, 200, 200, 200, 200, 404),
    "/rooms/green/settings": (200, 200, 403, 403, 403, 404),
    "/rooms/green/members/{member}": (200, 200, 200, 200, 200, 404),
    "/rooms/green/messages/{message}/edit": (403, 403, 200, 403, 403, 404),
}


async def test_each_page_for_each_role(cast, sign_in) -> None:
    ids = {"idea": cast["idea"].id, "member": cast["member"].id, "message": cast["message"].id}
    for index, role in enumerate(ROLES):
        http = await sign_in(cast[role])
        for path, expected in MATRIX.items():
            response = await http.get(path.format(**ids))
            assert response.status_code == expected[index], (role, path, response.status_code)
            if response.status_code == 200:
                scripts_have_nonce(response)


async def test_room_page_shows_each_role_its_tools(cast, sign_in) -> None:
    pages = {role: (await (await sign_in(cast[role])).get("/rooms/green")).text for role in ROLES[:5]}
    for role in ("admin", "moderator"):
        assert 'id="moderator-tools"' in pages[role] and 'name="phase" value="voting"' in pages[role]
    for role in ("member", "nonmember", "guest"):
        assert 'id="moderator-tools"' not in pages[role] and 'action="/rooms/green/phase"' not in pages[role]
    # Members take part; the employee who has not joined is offered to, with the forms disabled.
    assert 'href="/rooms/green/leave"' in pages["member"]
    assert 'action="/rooms/green/join"' in pages["nonmember"]
    assert re.search(r'<fieldset data-needs="post" disabled>', pages["nonmember"])
    assert re.search(r'<fieldset data-needs="post">', pages["member"])
    assert 'data-member="false"' in pages["nonmember"] and 'data-member="true"' in pages["member"]
    # The member list: guests carry a badge, everyone has a presence slot.
    assert re.search(r'id="member-\d+"[^>]*>\s*<span class="presence" id="presence-\d+"', pages["member"])
    guest_item = re.search(rf'<li id="member-{cast["guest"].id}".*?</li>', pages["member"], re.S).group(0)  # type: ignore[union-attr]
    assert "badge guest" in guest_item
    # The brief, the ideas with tallies and vote buttons, the discussion.
    page = pages["member"]
    assert "Cargo bikes" in page and f'id="tally-{cast["idea"].id}"' in page and f'id="vote-{cast["idea"].id}"' in page
    assert f'id="message-{cast["message"].id}"' in page and "Hello everyone" in page
    assert 'id="phase-banner"' in page and 'aria-current="step"' in page


async def test_invite_only_and_draft_rooms_stay_hidden(cast, sign_in, resources) -> None:
    await make_room(resources, cast["moderator"], slug="secret", title="Secret plans", visibility="invite-only")
    await make_room(resources, cast["moderator"], slug="later", title="Not yet", phase="draft")
    member = await sign_in(cast["member"])
    assert (await member.get("/rooms/secret")).status_code == 404
    assert (await member.get("/rooms/later")).status_code == 404
    listing = (await member.get("/rooms")).text
    assert "Secret plans" not in listing and "Not yet" not in listing and "Green logistics" in listing
    moderator = await sign_in(cast["moderator"])
    assert (await moderator.get("/rooms/secret")).status_code == 200
    assert "Not yet" in (await moderator.get("/rooms")).text


async def test_signed_out_visitors_are_sent_to_sign_in(client, cast) -> None:
    response = await client.get("/rooms/green?sort=new")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Frooms%2Fgreen%3Fsort%3Dnew"
    htmx = await client.get("/rooms/green/ideas?sort=new", headers=HX)
    assert htmx.headers["hx-redirect"].startswith("/login?next=")


async def test_home_lists_your_rooms_and_open_ones(cast, sign_in, resources) -> None:
    await make_room(resources, cast["moderator"], slug="fresh", title="Fresh challenge")
    guest = (await (await sign_in(cast["guest"])).get("/")).text
    assert "Green logistics" in guest and "Fresh challenge" not in guest and "Open challenges to join" not in guest
    outsider = (await (await sign_in(cast["outsider"])).get("/")).text
    assert "Green logistics" not in outsider and "invite link" in outsider
    member = (await (await sign_in(cast["member"])).get("/")).text
    mine, _, joinable = member.partition("Open challenges to join")
    assert "Green logistics" in mine and "Fresh challenge" in joinable and 'action="/rooms/fresh/join"' in joinable


async def test_directory_search_and_phase_filter(cast, sign_in, resources) -> None:
    await make_room(resources, cast["moderator"], slug="voting-room", title="Quiet offices", phase="voting")
    http = await sign_in(cast["nonmember"])
    page = (await http.get("/rooms")).text
    assert "Green logistics" in page and "Quiet offices" in page and 'action="/rooms/green/join"' in page
    found = (await http.get("/rooms?q=quiet")).text
    assert "Quiet offices" in found and "Green logistics" not in found
    by_phase = (await http.get("/rooms", params={"phase": "voting"})).text
    assert "Quiet offices" in by_phase and "Green logistics" not in by_phase
    partial = await http.get("/rooms?q=green", headers=HX)
    assert partial.status_code == 200 and partial.text.startswith('<div id="directory-results"')
    assert "<html" not in partial.text and "Green logistics" in partial.text
    nothing = (await http.get("/rooms?q=zzz")).text
    assert "No challenge matches" in nothing
    assert (await http.get("/rooms?phase=bogus")).status_code == 200


# Forms without JavaScript (post/redirect/get) ------------------------------------------------------


async def test_room_life_without_javascript(cast, sign_in, resources) -> None:
    member = await sign_in(cast["member"])
    token = await no_js(member, "/rooms/green")
    posted = await member.post("/rooms/green/messages", data={"body": "Plain **form** post", "csrf_token": token})
    assert posted.status_code == 303 and posted.headers["location"].startswith("/rooms/green#message-")
    assert "Plain <strong>form</strong> post" in (await member.get("/rooms/green")).text

    idea = await member.post("/rooms/green/ideas", data={"title": "Solar roofs", "body": "On every depot.",
                                                         "csrf_token": token})
    assert idea.status_code == 303
    idea_url = idea.headers["location"]
    idea_page = await member.get(idea_url)
    assert "Solar roofs" in idea_page.text and "Your idea is in" in idea_page.text
    idea_id = int(idea_url.rsplit("/", 1)[1])

    comment = await member.post("/rooms/green/messages", data={"body": "A comment", "idea_id": str(idea_id),
                                                               "csrf_token": token})
    assert comment.headers["location"].startswith(f"/rooms/green/ideas/{idea_id}#message-")
    assert "A comment" in (await member.get(idea_url)).text

    vote = await member.post(f"/rooms/green/ideas/{idea_id}/vote", data={"value": "1", "csrf_token": token},
                             headers={"Referer": "http://testserver/rooms/green?sort=new"})
    assert vote.status_code == 303 and vote.headers["location"] == f"/rooms/green?sort=new#idea-{idea_id}"
    assert 'aria-pressed="true"' in (await member.get(idea_url)).text

    edit = await member.post(f"/rooms/green/ideas/{idea_id}/edit", data={"title": "Solar roofs everywhere",
                                                                         "body": "On every depot.", "csrf_token": token})
    assert edit.status_code == 303 and "Solar roofs everywhere" in (await member.get(idea_url)).text

    message_id = int(posted.headers["location"].rsplit("-", 1)[1])
    edited = await member.post(f"/rooms/green/messages/{message_id}/edit", data={"body": "Changed", "csrf_token": token})
    assert edited.status_code == 303
    page = (await member.get("/rooms/green")).text
    assert "Changed" in page and "(edited)" in page
    deleted = await member.post(f"/rooms/green/messages/{message_id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 303
    page = (await member.get("/rooms/green")).text
    assert f'id="message-{message_id}"' in page and "This message was deleted." in page

    left = await member.post("/rooms/green/leave", data={"csrf_token": token, "confirm": "yes"})
    assert left.status_code == 303
    rejoined = await member.post("/rooms/green/join", data={"csrf_token": token})
    assert rejoined.status_code == 303 and "Welcome!" in (await member.get("/rooms/green")).text


async def test_refused_plain_posts_render_the_page_with_the_field_error(cast, sign_in) -> None:
    member = await sign_in(cast["member"])
    token = await no_js(member, "/rooms/green")
    empty = await member.post("/rooms/green/messages", data={"body": "   ", "csrf_token": token})
    assert empty.status_code == 422 and "<html" in empty.text
    assert 'aria-invalid="true" aria-describedby="composer-room-body-error"' in empty.text
    assert 'id="composer-room-body-error"' in empty.text and "must not be empty" in empty.text
    long_title = await member.post("/rooms/green/ideas", data={"title": "t" * 201, "body": "b", "csrf_token": token})
    assert long_title.status_code == 422
    assert 'id="idea-form-title-error"' in long_title.text and "at most 200" in long_title.text
    assert 'value="' + "t" * 201 + '"' in long_title.text  # what they typed is kept


async def test_moderator_forms_without_javascript(cast, sign_in, resources) -> None:
    moderator = await sign_in(cast["moderator"])
    token = await no_js(moderator, "/rooms/green")
    other = await make_idea(resources, cast["member"], cast["room"], title="Cargo bicycles too")
    status = await moderator.post(f"/rooms/green/ideas/{cast['idea'].id}/status",
                                  data={"status": "shortlisted", "reason": "Cheap to try", "csrf_token": token})
    assert status.status_code == 303
    page = (await moderator.get(f"/rooms/green/ideas/{cast['idea'].id}")).text
    assert "Shortlisted" in page and "Cheap to try" in page
    merge = await moderator.post(f"/rooms/green/ideas/{other.id}/merge",
                                 data={"into": str(cast["idea"].id), "csrf_token": token})
    assert merge.status_code == 303
    merged = (await moderator.get(f"/rooms/green/ideas/{other.id}")).text
    assert f'href="/rooms/green/ideas/{cast["idea"].id}">Cargo bikes</a>' in merged and "merged into" in merged
    assert 'id="composer-idea-' not in merged
    phase = await moderator.post("/rooms/green/phase", data={"phase": "voting", "csrf_token": token})
    assert phase.status_code == 303
    page = (await moderator.get("/rooms/green")).text
    assert 'data-phase="voting"' in page and "The room is now in phase" in page
    bad = await moderator.post("/rooms/green/phase", data={"phase": "draft", "csrf_token": token})
    assert bad.status_code == 409


async def test_create_and_configure_a_room_without_javascript(cast, sign_in) -> None:
    admin = await sign_in(cast["admin"])
    token = await no_js(admin, "/rooms/new")
    form = {"slug": "dots", "title": "Dot voting", "brief": "Spend **wisely**", "visibility": "invite-only",
            "voting_mode": "budget", "budget": "5", "max_per_idea": "2", "allow_anonymous": "true",
            "opens_at": "", "voting_at": "2031-03-01T09:00", "closes_at": "2031-03-08T17:30", "archives_at": "",
            "tz_offset": "+02:00", "phase": "open", "csrf_token": token}
    created = await admin.post("/rooms/new", data=form)
    assert created.status_code == 303 and created.headers["location"] == "/rooms/dots"
    page = (await admin.get("/rooms/dots")).text
    assert "Dot voting: 5 dots each, at most 2 per idea" in page and "<strong>wisely</strong>" in page
    assert "anonymous ideas allowed" in page and 'id="idea-form-anonymous"' in page
    # Local times with the browser's offset are stored in UTC; the banner counts down to voting.
    assert 'data-countdown="2031-03-01T07:00:00+00:00"' in page
    api = (await admin.get("/api/v1/rooms/dots")).json()
    assert api["schedule"]["closes_at"].startswith("2031-03-08T15:30") and api["visibility"] == "invite-only"
    assert api["voting"]["votes_in_open"] is False  # an unticked box is "no", not "leave as is"

    settings = (await admin.get("/rooms/dots/settings")).text
    assert 'value="2031-03-01T07:00"' in settings and 'data-utc="2031-03-01T07:00:00+00:00"' in settings
    saved = await admin.post("/rooms/dots/settings", data={**form, "title": "Dots!", "allow_anonymous": "",
                                                           "voting_at": "", "tz_offset": ""})
    assert saved.status_code == 303
    api = (await admin.get("/api/v1/rooms/dots")).json()
    assert api["title"] == "Dots!" and api["voting"]["allow_anonymous"] is False
    assert api["schedule"]["voting_at"] is None and api["schedule"]["closes_at"].startswith("2031-03-08T17:30")

    taken = await admin.post("/rooms/new", data={**form, "title": "Again"})
    assert taken.status_code == 409 and 'id="room-form-slug-error"' in taken.text and "already taken" in taken.text
    bad = await admin.post("/rooms/new", data={**form, "slug": "Bad Slug", "budget": "0"})
    assert bad.status_code == 422 and 'id="room-form-slug-error"' in bad.text


# Forms with htmx ----------------------------------------------------------------------------------


async def test_htmx_composer_swaps_in_place_and_reports_errors(cast, sign_in) -> None:
    member = await sign_in(cast["member"])
    posted = await member.post("/rooms/green/messages", data={"body": "Via htmx"}, headers=HX)
    assert posted.status_code == 200 and "<html" not in posted.text
    assert posted.text.startswith('<form id="composer-room"')
    assert re.search(r'<hx-partial hx-target="#thread-room" hx-swap="beforeend"><li id="message-\d+"', posted.text)
    assert "Via htmx" in posted.text

    refused = await member.post("/rooms/green/messages", data={"body": ""}, headers=HX)
    assert refused.status_code == 422 and refused.text.startswith('<form id="composer-room"')
    assert 'aria-invalid="true" aria-describedby="composer-room-body-error"' in refused.text
    assert '<small id="composer-room-body-error" class="field-error">must not be empty</small>' in refused.text

    on_idea = await member.post("/rooms/green/messages", data={"body": "x" * 5001, "idea_id": str(cast["idea"].id)},
                                headers=HX)
    assert on_idea.status_code == 422 and f'id="composer-idea-{cast["idea"].id}"' in on_idea.text
    assert "at most 5000" in on_idea.text

    reply = await member.post("/rooms/green/messages", data={"body": "Re", "reply_to": "999999"}, headers=HX)
    assert reply.status_code == 422 and "reply_to" in reply.text or "no such message" in reply.text


async def test_htmx_idea_form_votes_and_similar_ideas(cast, sign_in) -> None:
    member = await sign_in(cast["member"])
    submitted = await member.post("/rooms/green/ideas", data={"title": "Electric vans", "body": "Swap the fleet"},
                                  headers=HX)
    assert submitted.status_code == 200 and submitted.text.startswith('<form id="idea-form"')
    assert '<hx-partial hx-target="#ideas-list" hx-swap="afterbegin"><li id="idea-' in submitted.text
    refused = await member.post("/rooms/green/ideas", data={"title": " ", "body": "b"}, headers=HX)
    assert refused.status_code == 422 and 'aria-describedby="idea-form-title-error similar-ideas"' in refused.text

    similar = await member.get("/rooms/green/ideas/similar", params={"title": "cargo bike"}, headers=HX)
    assert similar.status_code == 200 and "Cargo bikes" in similar.text
    assert (await member.get("/rooms/green/ideas/similar", params={"title": "zz"}, headers=HX)).text.strip() == ""

    idea_id = cast["idea"].id
    up = await member.post(f"/rooms/green/ideas/{idea_id}/vote", data={"value": "1"}, headers=HX)
    assert up.status_code == 200 and up.text.startswith(f'<form id="vote-{idea_id}"')
    assert 'value="0" class="vote up" aria-pressed="true"' in up.text
    assert f'<hx-partial hx-target="#tally-{idea_id}" hx-swap="outerHTML"><span id="tally-{idea_id}"' in up.text
    assert '<strong class="t-score">1</strong>' in up.text
    retract = await member.post(f"/rooms/green/ideas/{idea_id}/vote", data={"value": "0"}, headers=HX)
    assert 'aria-pressed="true"' not in retract.text and '<strong class="t-score">0</strong>' in retract.text
    wrong = await member.post(f"/rooms/green/ideas/{idea_id}/vote", data={"value": "7"}, headers=HX)
    assert wrong.status_code == 422 and 'class="field-error" role="alert"' in wrong.text
    lazy = await member.get(f"/rooms/green/ideas/{idea_id}/vote", headers=HX)
    assert lazy.status_code == 200 and lazy.text.startswith(f'<form id="vote-{idea_id}"') and "Vote up" in lazy.text


async def test_htmx_votes_follow_the_phase_and_budget(cast, sign_in, resources) -> None:
    room = await make_room(resources, cast["moderator"], slug="budget", voting_mode="budget", budget=3,
                           max_per_idea=2, votes_in_open=False)
    await join(resources, room, cast["member"])
    idea = await make_idea(resources, cast["member"], room)
    member = await sign_in(cast["member"])
    page = (await member.get("/rooms/budget")).text
    assert re.search(r'<fieldset data-needs="vote" disabled>', page)
    assert 'data-vote-blocked="Voting starts when the room enters the voting phase."' in page
    early = await member.post(f"/rooms/budget/ideas/{idea.id}/vote", data={"value": "1"}, headers=HX)
    assert early.status_code == 409 and "Voting starts" in early.text
    await change_phase(resources, cast["moderator"], "budget", "voting")
    two = await member.post(f"/rooms/budget/ideas/{idea.id}/vote", data={"value": "2"}, headers=HX)
    assert two.status_code == 200
    assert '<hx-partial hx-target="#budget-left" hx-swap="outerHTML"><p id="budget-left"' in two.text
    assert "You have <strong>1</strong> of 3 dots left" in two.text
    assert 'value="3" class="vote more" disabled' in two.text  # two dots is this idea's cap


async def test_htmx_paging_sorting_and_older_messages(cast, sign_in, resources) -> None:
    for n in range(45):
        await make_message(resources, cast["member"], cast["room"], f"Message number {n}")
    member = await sign_in(cast["member"])
    page = (await member.get("/rooms/green")).text
    older = re.search(r'hx-get="/rooms/green/messages\?before=(\d+)"', page)
    assert older and "Message number 44" in page and "Hello everyone" not in page
    answer = await member.get(f"/rooms/green/messages?before={older.group(1)}", headers=HX)
    assert answer.status_code == 200 and answer.text.startswith('<li id="older-room"')
    assert "Hello everyone" in answer.text and "Start of the discussion" in answer.text
    plain = await member.get(f"/rooms/green/messages?before={older.group(1)}")
    assert plain.status_code == 303 and plain.headers["location"] == f"/rooms/green?before={older.group(1)}#thread-room"
    assert "Hello everyone" in (await member.get(plain.headers["location"])).text

    for n in range(25):
        await make_idea(resources, cast["member"], cast["room"], title=f"Idea {n}")
    results = await member.get("/rooms/green/ideas?sort=new", headers=HX)
    assert results.text.startswith('<div id="ideas-results">') and "Idea 24" in results.text
    more = re.search(r'hx-get="/rooms/green/ideas\?sort=new&amp;cursor=([^"]+)"', results.text)
    assert more
    page2 = await member.get(f"/rooms/green/ideas?sort=new&cursor={more.group(1)}", headers=HX)
    assert "Cargo bikes" in page2.text and "Idea 24" not in page2.text and '<li id="ideas-more"' in page2.text
    assert (await member.get("/rooms/green/ideas?sort=new")).status_code == 303


async def test_htmx_errors_without_a_form_go_to_the_flash_region(cast, sign_in) -> None:
    nonmember = await sign_in(cast["nonmember"])
    refused = await nonmember.post(f"/rooms/green/messages/{cast['message'].id}/delete", headers=HX)
    assert refused.status_code == 403
    assert refused.headers["hx-retarget"] == "#flash" and refused.headers["hx-reswap"] == "outerHTML"
    assert refused.text.startswith('<div id="flash"') and "moderators" in refused.text
    missing = await nonmember.get("/rooms/nope/ideas?sort=top", headers=HX)
    assert missing.status_code == 404 and missing.headers["hx-retarget"] == "#flash"


async def test_htmx_message_edit_in_place(cast, sign_in) -> None:
    member = await sign_in(cast["member"])
    mid = cast["message"].id
    form = await member.get(f"/rooms/green/messages/{mid}/edit", headers=HX)
    assert form.text.startswith(f'<li id="message-{mid}" class="message editing">') and "Hello everyone" in form.text
    bad = await member.post(f"/rooms/green/messages/{mid}/edit", data={"body": ""}, headers=HX)
    assert bad.status_code == 422 and f'aria-describedby="edit-message-{mid}-body-error"' in bad.text
    good = await member.post(f"/rooms/green/messages/{mid}/edit", data={"body": "Hello all"}, headers=HX)
    assert good.status_code == 200 and good.text.startswith(f'<li id="message-{mid}" class="message state-visible"')
    assert "(edited)" in good.text
    cancel = await member.get(f"/rooms/green/messages/{mid}", headers=HX)
    assert cancel.text.startswith(f'<li id="message-{mid}"')


async def test_htmx_phase_controls_update_the_banner(cast, sign_in) -> None:
    moderator = await sign_in(cast["moderator"])
    moved = await moderator.post("/rooms/green/phase", data={"phase": "voting"}, headers=HX)
    assert moved.status_code == 200 and moved.text.startswith('<div id="phase-controls"')
    assert '<hx-partial hx-target="#phase-banner" hx-swap="outerHTML"><section id="phase-banner"' in moved.text
    assert 'data-phase="voting"' in moved.text and 'data-submit-blocked="Ideas can be submitted' in moved.text
    refused = await moderator.post("/rooms/green/phase", data={"phase": "draft"}, headers=HX)
    assert refused.status_code == 409 and 'class="form-alert" role="alert"' in refused.text


async def test_reply_link_without_javascript_prefills_the_composer(cast, sign_in) -> None:
    member = await sign_in(cast["member"])
    page = (await member.get(f"/rooms/green?reply_to={cast['message'].id}")).text
    assert f'name="reply_to" value="{cast["message"].id}"' in page
    assert "Replying to <strong data-reply-name>Em Member</strong>" in page


# Nothing users write runs ----------------------------------------------------------------------------


async def test_user_content_is_always_inert(cast, sign_in, resources, make_user) -> None:
    evil = await make_user("evil@example.com", name="<script>alert(1)</script>", is_moderator=True)
    room = await make_room(resources, evil, slug="evil", title=XSS[0], brief="\n\n".join(XSS),
                           allow_anonymous=True)
    await join(resources, room, cast["member"])
    member = await sign_in(cast["member"])
    for text in XSS:
        assert (await member.post("/rooms/evil/messages", data={"body": text}, headers=HX)).status_code == 200
        response = await member.post("/rooms/evil/ideas", data={"title": text, "body": text}, headers=HX)
        assert response.status_code == 200
        assert_inert(response.text)
    idea = await make_idea(resources, cast["member"], room, title=XSS[1], body=XSS[2])
    comment = await member.post("/rooms/evil/messages", data={"body": XSS[1], "idea_id": str(idea.id)}, headers=HX)
    assert_inert(comment.text)
    for path in ("/rooms/evil", f"/rooms/evil/ideas/{idea.id}", "/rooms", "/", f"/rooms/evil/members/{evil.id}"):
        response = await member.get(path)
        assert response.status_code == 200, path
        assert_inert(response.text)
        scripts_have_nonce(response)
    page = (await member.get("/rooms/evil")).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    # A refused form echoes what was typed, escaped.
    refused = await member.post("/rooms/evil/ideas", data={"title": XSS[0], "body": " "}, headers=HX)
    assert refused.status_code == 422 and 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in refused.text
    assert_inert(refused.text)
    moderator = await sign_in(evil)
    assert_inert((await moderator.get(f"/rooms/evil/ideas/{idea.id}")).text)
    assert_inert((await moderator.get("/rooms/evil/settings")).text)
