"""Search across rooms (both databases): ideas and messages by their words, in the rooms
each person may see; hidden and held content only for those who moderate it; the matching
words marked and escaped; links to the very idea or message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from innovate.accounts.models import User
from innovate.moderation import service as moderation
from innovate.resources import Resources
from innovate.rooms.models import Idea, Message, Room
from tests.factories import join, make_idea, make_message, make_room
from tests.moderation_support import add_guest


@dataclass
class Site:
    admin: User
    mod: User        # moderates A
    mod_b: User      # moderates B and C
    ada: User        # member of A
    bob: User        # member of C (invite-only)
    gia: User        # guest in A
    eve: User        # an employee in no room
    a: Room
    b: Room
    c: Room
    idea: Idea
    hidden_idea: Idea
    b_idea: Idea
    c_idea: Idea
    message: Message
    thread_message: Message
    hidden_message: Message
    held_message: Message
    c_message: Message


@pytest.fixture
async def site(resources: Resources, make_user: Any) -> Site:
    admin = await make_user("admin@corp.example", name="Al Admin", is_admin=True)
    mod = await make_user("mod@corp.example", name="Mo Derator", is_moderator=True)
    mod_b = await make_user("modb@corp.example", name="Bea Other", is_moderator=True)
    ada = await make_user("ada@corp.example", name="Ada Lovelace")
    bob = await make_user("bob@corp.example", name="Bob Builder")
    gia = await make_user("gia@expert.example", name="Gia Guest", kind="guest")
    eve = await make_user("eve@corp.example", name="Eve Elsewhere")
    a = await make_room(resources, mod, title="Depot logistics", premoderation="all")
    b = await make_room(resources, mod_b, title="Fleet electrification")
    c = await make_room(resources, mod_b, title="Confidential merger", visibility="invite-only")
    await join(resources, a, ada)
    await add_guest(resources, a, gia)
    await add_guest(resources, c, bob)
    idea = await make_idea(resources, ada, a, title="Shared backhaul for depots", body="Trucks return full, not empty.")
    hidden_idea = await make_idea(resources, ada, a, title="Backhaul rebates", body="Spam about backhaul.")
    await moderation.hide_idea(resources, mod, hidden_idea.id, {"reason": "spam"})
    b_idea = await make_idea(resources, mod_b, b, title="Electric backhaul vans", body="Charge at the depot.")
    c_idea = await make_idea(resources, bob, c, title="Backhaul partner to acquire", body="Do not tell anyone.")
    message = await make_message(resources, mod, a, "The backhaul numbers look <b>good</b> & better")
    thread_message = await make_message(resources, mod, a, "Backhaul needs a depot slot", idea_id=idea.id)
    hidden_message = await make_message(resources, mod, a, "backhaul insult")
    await moderation.hide_message(resources, mod, hidden_message.id, {"reason": "rude"})
    held_message = await make_message(resources, gia, a, "My backhaul question waits for review")
    assert held_message.state == "held"
    c_message = await make_message(resources, bob, c, "backhaul deal closes Friday")
    return Site(admin=admin, mod=mod, mod_b=mod_b, ada=ada, bob=bob, gia=gia, eve=eve, a=a, b=b, c=c, idea=idea,
                hidden_idea=hidden_idea, b_idea=b_idea, c_idea=c_idea, message=message,
                thread_message=thread_message, hidden_message=hidden_message, held_message=held_message,
                c_message=c_message)


async def found(http: httpx.AsyncClient, q: str) -> dict[str, Any]:
    response = await http.get("/api/v1/search", params={"q": q})
    assert response.status_code == 200, response.text
    return response.json()


def ids(items: list[dict[str, Any]]) -> set[int]:
    return {item["id"] for item in items}


async def test_every_role_finds_what_it_may_see_and_nothing_else(site: Site, sign_in: Any) -> None:
    s = site
    everyone_in_a = {s.idea.id}
    expected = {
        # person: (ideas, messages)
        "admin": ({s.idea.id, s.hidden_idea.id, s.b_idea.id, s.c_idea.id},
                  {s.message.id, s.thread_message.id, s.hidden_message.id, s.held_message.id, s.c_message.id}),
        "mod": ({s.idea.id, s.hidden_idea.id, s.b_idea.id},
                {s.message.id, s.thread_message.id, s.hidden_message.id, s.held_message.id}),
        "mod_b": ({s.idea.id, s.b_idea.id, s.c_idea.id}, {s.message.id, s.thread_message.id, s.c_message.id}),
        "ada": ({s.idea.id, s.b_idea.id}, {s.message.id, s.thread_message.id}),
        "bob": ({s.idea.id, s.b_idea.id, s.c_idea.id}, {s.message.id, s.thread_message.id, s.c_message.id}),
        "eve": ({s.idea.id, s.b_idea.id}, {s.message.id, s.thread_message.id}),
        "gia": (everyone_in_a, {s.message.id, s.thread_message.id}),
    }
    for who, (want_ideas, want_messages) in expected.items():
        http = await sign_in(getattr(s, who))
        answer = await found(http, "backhaul")
        assert ids(answer["ideas"]) == want_ideas, who
        assert ids(answer["messages"]) == want_messages, who
        # Nothing of another room leaks through the room list either.
        assert "Confidential merger" not in str(answer) or who in ("admin", "mod_b", "bob"), who
    # A guest who looks for another room's words finds nothing of it.
    gia = await sign_in(s.gia)
    assert (await found(gia, "electric vans"))["ideas"] == []
    assert (await found(gia, "fleet"))["rooms"] == []


async def test_matches_are_marked_escaped_and_link_to_the_very_place(site: Site, sign_in: Any) -> None:
    s = site
    ada = await sign_in(s.ada)
    answer = await found(ada, "BACKHAUL good")
    [message] = answer["messages"]
    assert message["id"] == s.message.id
    assert message["url"] == f"/rooms/{s.a.slug}#message-{s.message.id}"
    assert message["excerpt"] == ("The <mark>backhaul</mark> numbers look &lt;b&gt;<mark>good</mark>&lt;/b&gt; "
                                  "&amp; better")
    assert message["author"] == "Mo Derator" and message["room"] == {"slug": s.a.slug, "title": "Depot logistics"}
    thread = (await found(ada, "depot slot"))["messages"]
    assert [m["url"] for m in thread] == [f"/rooms/{s.a.slug}/ideas/{s.idea.id}#message-{s.thread_message.id}"]
    idea = (await found(ada, "backhau"))["ideas"]  # a word's beginning is enough
    assert f"/rooms/{s.a.slug}/ideas/{s.idea.id}" in [i["url"] for i in idea]
    assert "Shared <mark>backhaul</mark> for depots" in [i["title"] for i in idea]
    assert all(i["author"] is None for i in idea)  # ideas may be anonymous: no author in results
    # Query syntax of either database is only words here.
    for odd in ('backhaul" OR "x', "backhaul:* | !x", "backhaul AND NOT", "back-haul*", "NEAR(backhaul)"):
        assert (await ada.get("/api/v1/search", params={"q": odd})).status_code == 200, odd


async def test_the_search_page_and_bad_queries(site: Site, sign_in: Any, client: httpx.AsyncClient) -> None:
    s = site
    gia = await sign_in(s.gia)
    page = await gia.get("/search", params={"q": "backhaul"})
    assert page.status_code == 200
    assert "Shared <mark>backhaul</mark> for depots" in page.text
    assert f'href="/rooms/{s.a.slug}/ideas/{s.idea.id}"' in page.text
    assert f'href="/rooms/{s.a.slug}#message-{s.message.id}"' in page.text
    assert "Electric backhaul" not in page.text and "acquire" not in page.text
    echoed = await gia.get("/search", params={"q": '"><script>alert(1)</script>'})
    assert echoed.status_code == 200 and "<script>alert(1)" not in echoed.text
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in echoed.text
    empty = await gia.get("/search")
    assert empty.status_code == 200 and 'name="q"' in empty.text
    bad = await gia.get("/search", params={"q": "?!"})
    assert bad.status_code == 422 and "type at least one word" in bad.text and 'aria-invalid="true"' in bad.text
    for q in ("", "x", "!!", "a" * 201):
        answer = await gia.get("/api/v1/search", params={"q": q})
        assert answer.status_code == 422 and answer.json()["error"]["fields"].keys() == {"q"}, q
    assert (await client.get("/api/v1/search", params={"q": "backhaul"})).status_code == 401
    signed_out = await client.get("/search", params={"q": "backhaul"})
    assert signed_out.status_code in (302, 303) and "/login" in signed_out.headers["location"]


async def test_guests_reach_search_from_every_page(site: Site, sign_in: Any) -> None:
    """A guest's directory has no search box: the site's links lead them to search, which
    only ever finds what is in their own rooms."""
    s = site
    gia = await sign_in(s.gia)
    for path in ("/", "/rooms", f"/rooms/{s.a.slug}", "/notifications"):
        page = await gia.get(path)
        assert page.status_code == 200, path
        # Twice: in the header's row and in its narrow-screen Menu.
        assert page.text.count('<a href="/search">Search</a>') == 2, path
    here = await gia.get("/search", params={"q": "backhaul"})
    assert here.text.count('<a href="/search" aria-current="page">Search</a>') == 2
    assert "Shared <mark>backhaul</mark> for depots" in here.text
    assert "Electric backhaul" not in here.text and "acquire" not in here.text
