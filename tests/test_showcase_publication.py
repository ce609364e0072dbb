"""Publishing a closed challenge's results: the moderator's picks, the authors' consent
(asked through their notifications, given, refused, withdrawn), and taking the page down."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from PIL import Image

from innovate.resources import Resources
from tests.showcase_support import Showcase, build_showcase, leaks, publish


@pytest.fixture
async def world(resources: Resources, make_user) -> Showcase:
    return await build_showcase(resources, make_user)


def _items(body: dict) -> dict[str, dict]:
    return {i["title"]: i for i in body["items"]}


async def test_publication_names_only_consenting_authors(world: Showcase, client: httpx.AsyncClient, sign_in) -> None:
    hr = await sign_in(world.hr)
    slug = world.room.slug
    assert (await client.get(f"/results/{slug}")).status_code == 404   # nothing is public by default
    saved = await publish(hr, slug, items=[world.ada_idea.id, world.gia_idea.id, world.cyd_idea.id],
                          outcome="We start a **pilot** in spring.", thanks="Thank you all!", published=True)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["state"] == "published" and body["url"] == f"http://testserver/results/{slug}"
    items = _items(body)
    assert [i["consent"] for i in body["items"]] == ["asked", "asked", "none"]
    assert items["Shared depots"]["author_kind"] == "anonymous"

    page = await client.get(f"/results/{slug}")
    assert page.status_code == 200
    text = page.text
    assert "a colleague" in text and "an external expert" in text and "an anonymous contributor" in text
    assert "We start a <strong>pilot</strong> in spring." in text and "Thank you all!" in text
    assert "3 colleagues and 1 external expert took part." in text
    assert leaks(text, world) == []

    # The authors were asked through their notifications, which lead to their answers page.
    ada = await sign_in(world.ada)
    inbox = (await ada.get("/api/v1/me/notifications")).json()["items"]
    asked = [n for n in inbox if n["kind"] == "publication_consent"]
    assert len(asked) == 1 and asked[0]["url"] == f"/me/publications#item-idea-{world.ada_idea.id}"
    assert "May we name you" in asked[0]["subject"]
    cyd = await sign_in(world.cyd)
    assert not [n for n in (await cyd.get("/api/v1/me/notifications")).json()["items"]
                if n["kind"] == "publication_consent"]
    assert (await cyd.get("/api/v1/me/publication-consents")).json()["items"] == []
    mine = (await ada.get("/api/v1/me/publication-consents")).json()["items"]
    assert [(m["title"], m["consent"], m["published"]) for m in mine] == [
        ("Cargo bikes for the last mile", "asked", True)]
    assert "Cargo bikes" in (await ada.get("/me/publications")).text

    # Ada agrees, Gia declines: only Ada is named, at once.
    agreed = await ada.put(f"/api/v1/me/publication-consents/{mine[0]['id']}", json={"consent": True})
    assert agreed.status_code == 200 and agreed.json()["named_as"] == "Ada Lovelace"
    gia = await sign_in(world.gia)
    gia_item = (await gia.get("/api/v1/me/publication-consents")).json()["items"][0]
    declined = await gia.put(f"/api/v1/me/publication-consents/{gia_item['id']}", json={"consent": False})
    assert declined.status_code == 200 and declined.json()["consent"] == "declined"
    text = (await client.get(f"/results/{slug}")).text
    assert "Ada Lovelace" in text and "an external expert" in text
    assert leaks(text, world, named=("Ada Lovelace",)) == []

    # Someone else's request cannot be answered; a non-boolean answer names the field.
    assert (await gia.put(f"/api/v1/me/publication-consents/{mine[0]['id']}", json={"consent": True})).status_code == 404
    bad = await ada.put(f"/api/v1/me/publication-consents/{mine[0]['id']}", json={"consent": "yes"})
    assert bad.status_code == 422 and "consent" in bad.json()["error"]["fields"]

    # Ada changes her mind: her name is gone with the next request.
    await ada.put(f"/api/v1/me/publication-consents/{mine[0]['id']}", json={"consent": False})
    text = (await client.get(f"/results/{slug}")).text
    assert "Ada Lovelace" not in text and leaks(text, world) == []

    # Withdrawn: 410 at once; published again: back.
    assert (await publish(hr, slug, published=False)).json()["state"] == "withdrawn"
    gone = await client.get(f"/results/{slug}")
    assert gone.status_code == 410 and "Ada" not in gone.text and "Cargo" not in gone.text
    assert (await publish(hr, slug, published=True)).json()["state"] == "published"
    assert (await client.get(f"/results/{slug}")).status_code == 200


async def test_picking_again_keeps_answers_and_drops_what_was_left_out(world: Showcase, client: httpx.AsyncClient,
                                                                       sign_in) -> None:
    hr = await sign_in(world.hr)
    slug = world.room.slug
    await publish(hr, slug, items=[world.ada_idea.id, world.gia_idea.id], published=True)
    ada = await sign_in(world.ada)
    item = (await ada.get("/api/v1/me/publication-consents")).json()["items"][0]
    await ada.put(f"/api/v1/me/publication-consents/{item['id']}", json={"consent": True})
    body = (await publish(hr, slug, items=[world.ada_idea.id])).json()
    assert [(i["title"], i["consent"]) for i in body["items"]] == [("Cargo bikes for the last mile", "granted")]
    text = (await client.get(f"/results/{slug}")).text
    assert "Night-time deliveries" not in text and "Ada Lovelace" in text
    # Ada was asked once: picking her idea again asks nobody again.
    inbox = (await ada.get("/api/v1/me/notifications")).json()["items"]
    assert [n["count"] for n in inbox if n["kind"] == "publication_consent"] == [1]


async def test_bad_picks_name_the_field_and_change_nothing(world: Showcase, sign_in) -> None:
    hr = await sign_in(world.hr)
    slug = world.room.slug
    other = await sign_in(world.other_mod)
    other_idea = (await other.post(f"/api/v1/rooms/{world.other_room.slug}/ideas",
                                   json={"title": "Elsewhere", "body": "Not this room"})).json()
    for items in ([other_idea["id"]], ["x"], [True], "7"):
        refused = await publish(hr, slug, items=items, published=True)
        assert refused.status_code == 422 and "items" in refused.json()["error"]["fields"], refused.text
    assert (await hr.get(f"/api/v1/rooms/{slug}/publication")).json()["state"] == "none"
    too_long = await publish(hr, slug, outcome="x" * 20_001)
    assert too_long.status_code == 422 and "outcome" in too_long.json()["error"]["fields"]


async def test_who_may_publish(world: Showcase, client: httpx.AsyncClient, sign_in) -> None:
    slug = world.room.slug
    expected = {"admin": 200, "hr": 200, "other_mod": 403, "ada": 403, "bob": 403, "gia": 403, "outsider": 403,
                "stranger": 404}
    for role, user in world.people().items():
        http = await sign_in(user)
        got = {(await http.get(f"/api/v1/rooms/{slug}/publication")).status_code,
               (await publish(http, slug, items=[world.ada_idea.id])).status_code,
               (await http.get(f"/rooms/{slug}/publication")).status_code}
        assert got == {expected[role]}, (role, got)
    assert (await client.get(f"/api/v1/rooms/{slug}/publication")).status_code == 401
    assert (await publish(client, slug, published=True)).status_code in (401, 403)
    assert (await client.get(f"/rooms/{slug}/publication")).status_code == 303
    # A challenge that has not closed cannot be published.
    other = await sign_in(world.other_mod)
    early = await publish(other, world.other_room.slug, published=True)
    assert early.status_code == 409


async def test_results_page_is_cacheable_and_needs_no_session(world: Showcase, client: httpx.AsyncClient,
                                                              sign_in) -> None:
    hr = await sign_in(world.hr)
    await publish(hr, world.room.slug, items=[world.ada_idea.id], published=True)
    first = await client.get(f"/results/{world.room.slug}")
    assert first.status_code == 200 and "set-cookie" not in first.headers
    assert first.headers["cache-control"] == "public, no-cache" and first.headers["etag"]
    assert "<script" not in first.text
    again = await client.get(f"/results/{world.room.slug}", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    # A signed-in reader gets the very same bytes (nothing about who reads it).
    assert (await hr.get(f"/results/{world.room.slug}")).headers["etag"] == first.headers["etag"]
    assert f'<link rel="canonical" href="http://testserver/results/{world.room.slug}">' in first.text
    # The share image: the title and the company's name drawn by the server, 1200×630.
    og = re.search(r'property="og:image" content="http://testserver(/media/[^"]+)"', first.text)
    assert og is not None and 'alt" content="Challenge results: Greener logistics (Innovate)"' in first.text
    image = await client.get(og.group(1))
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    drawn = Image.open(io.BytesIO(image.content))
    assert drawn.size == (1200, 630)
    drawn.verify()
    # Saved again with the same title: the same image, not a new one.
    await publish(hr, world.room.slug, outcome="More")
    assert og.group(0) in (await client.get(f"/results/{world.room.slug}")).text


async def test_moderator_page_publishes_and_withdraws(world: Showcase, client: httpx.AsyncClient, sign_in) -> None:
    hr = await sign_in(world.hr)
    slug = world.room.slug
    page = await hr.get(f"/rooms/{slug}/publication")
    assert page.status_code == 200 and "Shared depots" in page.text and "Not published" in page.text
    token = hr.headers["X-CSRF-Token"]
    posted = await hr.post(f"/rooms/{slug}/publication", data={
        "csrf_token": token, "items": [str(world.ada_idea.id), str(world.gia_idea.id)], "summary": "The brief",
        "outcome": "", "thanks": "Thanks", "published": "1"})
    assert posted.status_code == 303
    page = await hr.get(f"/rooms/{slug}/publication")
    assert "Published:" in page.text and "author asked, no answer yet" in page.text
    assert (await client.get(f"/results/{slug}")).status_code == 200
    refused = await hr.post(f"/rooms/{slug}/publication", data={"csrf_token": token, "items": "nonsense"})
    assert refused.status_code == 422 and "expected a list of idea ids" in refused.text
    withdrawn = await hr.post(f"/rooms/{slug}/publication", data={"csrf_token": token, "items": [
        str(world.ada_idea.id)], "published": "0"})
    assert withdrawn.status_code == 303
    assert (await client.get(f"/results/{slug}")).status_code == 410
