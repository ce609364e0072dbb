"""Every public page, rendered and scanned: no unpublished idea, no message, no name without
consent, no e-mail address, no internal id; drafts, closed positions and withdrawn results
appear nowhere (pages, feed, sitemap)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import feedparser
import httpx
import pytest

from innovate.insights.interests import set_room_tags
from innovate.resources import Resources
from tests.showcase_support import Showcase, build_showcase, leaks, publish

SECRET_DRAFT = "SECRETDRAFT story"
SECRET_CLOSED = "SECRETCLOSED role"
LINK = re.compile(r'(?:href|src|content)="(?:http://testserver)?(/[^"#?]*)"|<loc>http://testserver(/[^<]*)</loc>')


@pytest.fixture
async def world(resources: Resources, make_user) -> Showcase:
    return await build_showcase(resources, make_user)


async def crawl(client: httpx.AsyncClient, start: list[str]) -> dict[str, str]:
    """Every same-site page reachable from ``start`` without signing in (pictures apart)."""
    seen: dict[str, str] = {}
    todo = list(start)
    while todo:
        path = todo.pop()
        if path in seen or path.startswith(("/static/", "/media/", "/login")) or path.endswith("/refer"):
            continue  # pictures, and the employees' referral form (behind the sign-in)
        answer = await client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        seen[path] = answer.text
        for match in LINK.finditer(answer.text):
            found = urlsplit(match.group(1) or match.group(2)).path
            if found.startswith(("/stories", "/results", "/positions", "/sitemap")):
                todo.append(found)
    return seen


async def test_no_public_page_leaks(world: Showcase, resources: Resources, client: httpx.AsyncClient,
                                    sign_in) -> None:
    hr = await sign_in(world.hr)
    admin = await sign_in(world.admin)
    await set_room_tags(resources, world.hr, world.room.slug, ["Logistics"])
    slug = world.room.slug
    await publish(hr, slug, items=[world.ada_idea.id, world.gia_idea.id, world.cyd_idea.id],
                  outcome="A pilot.", published=True)
    for who, agree in ((world.ada, True), (world.gia, False)):
        http = await sign_in(who)
        item = (await http.get("/api/v1/me/publication-consents")).json()["items"][0]
        await http.put(f"/api/v1/me/publication-consents/{item['id']}", json={"consent": agree})
    position = (await hr.post("/api/v1/positions", json={
        "title": "Logistics engineer", "ats_url": "https://jobs.example.com/1", "tags": ["logistics"]})).json()
    closed = (await hr.post("/api/v1/positions", json={
        "title": SECRET_CLOSED, "ats_url": "https://jobs.example.com/2", "tags": ["Logistics"]})).json()
    await hr.patch(f"/api/v1/positions/{closed['id']}", json={"state": "closed"})
    await admin.post("/api/v1/stories", json={
        "title": "Life in the lab", "summary": "Bikes.", "tags": ["Logistics"], "published": True,
        "body": f"See [the results](/results/{slug}) and [a job](/positions/{position['key']})."})
    await admin.post("/api/v1/stories", json={"title": SECRET_DRAFT, "body": "Not yet."})

    pages = await crawl(client, ["/stories", "/positions", "/sitemap.xml", "/stories/feed.atom"])
    assert {"/stories", "/stories/life-in-the-lab", f"/results/{slug}", "/positions", f"/positions/{position['key']}",
            f"/positions/{position['key']}/interested", "/stories/feed.atom", "/sitemap.xml"} <= set(pages)
    for path, text in pages.items():
        assert leaks(text, world, named=("Ada Lovelace",)) == [], path
        assert SECRET_DRAFT not in text and SECRET_CLOSED not in text and closed["key"] not in text, path
    # The positions that share a tag are shown with the story and the results (open ones only).
    assert "Logistics engineer" in pages["/stories/life-in-the-lab"]
    assert "Logistics engineer" in pages[f"/results/{slug}"]
    assert "Ada Lovelace" in pages[f"/results/{slug}"]
    # A closed position's and a draft's addresses answer 404.
    assert (await client.get(f"/positions/{closed['key']}")).status_code == 404
    assert (await client.get("/stories/secretdraft-story")).status_code == 404

    # Withdrawn: gone from the sitemap and the list at once, 410 at its address (the story
    # that linked to it keeps its link, which now says so).
    await publish(hr, slug, published=False)
    assert f"/results/{slug}" not in (await client.get("/sitemap.xml")).text
    assert f"/results/{slug}" not in (await client.get("/stories")).text
    assert (await client.get(f"/results/{slug}")).status_code == 410
    feed = feedparser.parse((await client.get("/stories/feed.atom")).content)
    assert [e.title for e in feed.entries] == ["Life in the lab"]
