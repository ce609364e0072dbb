"""Stories: written by admins and the writers they name, public once published, in the Atom
feed and the sitemap, with a cover picture (alt text required) and a drawn share image."""

from __future__ import annotations

import io
import re

import feedparser
import httpx
import pytest
from PIL import Image

from innovate.resources import Resources
from tests.showcase_support import Showcase, build_showcase, leaks


@pytest.fixture
async def world(resources: Resources, make_user) -> Showcase:
    return await build_showcase(resources, make_user)


def cover_file() -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SnoopCam"
    Image.new("RGB", (2400, 1600), (30, 120, 60)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


async def name_writer(admin: httpx.AsyncClient, user_id: int) -> None:
    assert (await admin.put(f"/api/v1/admin/story-writers/{user_id}")).status_code == 204


async def test_a_story_goes_public_with_its_picture_feed_sitemap_and_share_image(
        world: Showcase, client: httpx.AsyncClient, sign_in) -> None:
    admin = await sign_in(world.admin)
    await name_writer(admin, world.bob.id)
    bob = await sign_in(world.bob)
    created = await bob.post("/api/v1/stories", data={
        "title": "A day in the logistics lab", "summary": "Bikes, vans and a lot of coffee.",
        "body": f"We met at [the challenge results](/results/{world.room.slug}).\n\n**Bold** ideas.",
        "byline": "The logistics team", "tags": "Sustainability, Logistics", "cover_alt": "Two people loading a bike",
    }, files={"cover": ("lab.jpg", cover_file(), "image/jpeg")})
    assert created.status_code == 201, created.text
    story = created.json()
    assert story["state"] == "draft" and story["url"] is None and story["cover"]["alt"] == "Two people loading a bike"
    slug = story["slug"]
    assert slug == "a-day-in-the-logistics-lab"
    # A draft is nowhere public.
    assert (await client.get(f"/stories/{slug}")).status_code == 404
    assert slug not in (await client.get("/stories")).text
    assert slug not in (await client.get("/stories/feed.atom")).text
    assert slug not in (await client.get("/sitemap.xml")).text

    published = await bob.patch(f"/api/v1/stories/{slug}", json={"published": True})
    assert published.status_code == 200 and published.json()["url"] == f"http://testserver/stories/{slug}"
    page = await client.get(f"/stories/{slug}")
    assert page.status_code == 200 and "set-cookie" not in page.headers and "<script" not in page.text
    assert page.headers["cache-control"] == "public, no-cache"
    assert (await client.get(f"/stories/{slug}", headers={"If-None-Match": page.headers["etag"]})).status_code == 304
    text = page.text
    assert f'<link rel="canonical" href="http://testserver/stories/{slug}">' in text
    assert '<meta property="og:title" content="A day in the logistics lab">' in text
    assert '<meta name="twitter:card" content="summary_large_image">' in text
    assert 'alt="Two people loading a bike"' in text and f'href="/results/{world.room.slug}"' in text
    assert leaks(text, world) == []

    # The cover: resized, stripped of its EXIF, served cached.
    cover_url = re.search(r'<img src="(/media/[^"]+)"', text).group(1)  # type: ignore[union-attr]
    cover = await client.get(cover_url)
    assert cover.status_code == 200 and b"SnoopCam" not in cover.content
    assert max(Image.open(io.BytesIO(cover.content)).size) == 1600

    # The share image: drawn by the server, 1200×630, decoded by Pillow.
    og = re.search(r'<meta property="og:image" content="http://testserver(/media/[^"]+)"', text).group(1)  # type: ignore[union-attr]
    share = await client.get(og)
    assert share.status_code == 200 and share.headers["content-type"] == "image/png"
    assert "immutable" in share.headers["cache-control"]
    drawn = Image.open(io.BytesIO(share.content))
    assert drawn.format == "PNG" and drawn.size == (1200, 630)
    drawn.verify()

    feed = await client.get("/stories/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml") and "set-cookie" not in feed.headers
    parsed = feedparser.parse(feed.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.feed.title == "Stories from Innovate"
    (entry,) = parsed.entries
    assert entry.title == "A day in the logistics lab" and entry.link == f"http://testserver/stories/{slug}"
    assert "<strong>Bold</strong>" in entry.content[0].value and entry.summary == "Bikes, vans and a lot of coffee."
    sitemap = await client.get("/sitemap.xml")
    assert f"<loc>http://testserver/stories/{slug}</loc>" in sitemap.text

    # A new title draws a new share image; unpublishing takes the story off every list.
    await bob.patch(f"/api/v1/stories/{slug}", json={"title": "A night in the logistics lab"})
    newer = re.search(r'og:image" content="http://testserver(/media/[^"]+)"',
                      (await client.get(f"/stories/{slug}")).text).group(1)  # type: ignore[union-attr]
    assert newer != og and (await client.get(og)).status_code == 404
    await bob.patch(f"/api/v1/stories/{slug}", json={"published": False})
    assert (await client.get(f"/stories/{slug}")).status_code == 404
    assert not feedparser.parse((await client.get("/stories/feed.atom")).content).entries
    assert slug not in (await client.get("/sitemap.xml")).text


async def test_story_input_errors_name_their_fields(world: Showcase, sign_in) -> None:
    admin = await sign_in(world.admin)
    no_alt = await admin.post("/api/v1/stories", data={"title": "Pictures"},
                              files={"cover": ("a.jpg", cover_file(), "image/jpeg")})
    assert no_alt.status_code == 422 and no_alt.json()["error"]["fields"] == {"cover_alt": "is required"}
    not_a_picture = await admin.post("/api/v1/stories", data={"title": "Pictures", "cover_alt": "x"},
                                     files={"cover": ("a.jpg", b"<html>not a picture</html>", "image/jpeg")})
    assert not_a_picture.status_code == 422 and "cover" in not_a_picture.json()["error"]["fields"]
    assert (await admin.post("/api/v1/stories", json={"title": ""})).json()["error"]["fields"] == {
        "title": "must not be empty"}
    assert "slug" in (await admin.post("/api/v1/stories", json={"title": "x", "slug": "Not A Slug"})).json()[
        "error"]["fields"]
    await admin.post("/api/v1/stories", json={"title": "Same"})
    taken = await admin.post("/api/v1/stories", json={"title": "Same"})
    assert taken.status_code == 422 and "slug" in taken.json()["error"]["fields"]
    assert (await admin.get("/api/v1/stories")).json()["items"][0]["title"] == "Same"
    assert len((await admin.get("/api/v1/stories")).json()["items"]) == 1  # nothing half-written


async def test_pictures_in_the_text_are_uploaded_described_and_ours(
        world: Showcase, client: httpx.AsyncClient, sign_in) -> None:
    admin = await sign_in(world.admin)
    elsewhere = await admin.post("/api/v1/stories", json={"title": "T", "body": "![A bike](https://cdn.example/b.png)"})
    assert elsewhere.status_code == 422 and "uploaded with the story" in elsewhere.json()["error"]["fields"]["body"]
    undescribed = await admin.post("/api/v1/stories", json={"title": "T", "body": "![](/media/abc/large.webp)"})
    assert undescribed.status_code == 422 and "description" in undescribed.json()["error"]["fields"]["body"]
    not_a_file = await admin.post("/api/v1/stories", json={"title": "T", "picture": "bike.jpg", "picture_alt": "x"})
    assert not_a_file.status_code == 422 and "picture" in not_a_file.json()["error"]["fields"]
    created = await admin.post("/api/v1/stories", data={
        "title": "Pictures inside", "body": "First paragraph.", "picture_alt": "A [red] bike", "published": "true"},
        files={"picture": ("bike.jpg", cover_file(), "image/jpeg")})
    assert created.status_code == 201, created.text
    body = created.json()["body"]
    assert re.fullmatch(r"First paragraph\.\n\n!\[A \(red\) bike\]\(/media/[\w-]+/large\.webp\)\n", body), body
    page = (await client.get("/stories/pictures-inside")).text
    src = re.search(r'<img src="(/media/[^"]+)" alt="A \(red\) bike" loading="lazy">', page)
    assert src is not None and (await client.get(src.group(1))).status_code == 200
    entry = feedparser.parse((await client.get("/stories/feed.atom")).content).entries[0]
    assert 'src="http://testserver/media/' in entry.content[0].value  # resolved against the feed's xml:base


async def test_who_may_write_and_read_stories(world: Showcase, client: httpx.AsyncClient, sign_in) -> None:
    admin = await sign_in(world.admin)
    await name_writer(admin, world.bob.id)
    bob = await sign_in(world.bob)
    await bob.post("/api/v1/stories", json={"title": "Public one", "published": True})
    await bob.post("/api/v1/stories", json={"title": "Draft one"})
    writers = {"admin", "bob"}
    clients = {role: await sign_in(user) for role, user in world.people().items()}
    for role, http in clients.items():
        listed = [s["title"] for s in (await http.get("/api/v1/stories")).json()["items"]]
        assert sorted(listed) == (["Draft one", "Public one"] if role in writers else ["Public one"]), role
    for role, http in clients.items():
        created = await http.post("/api/v1/stories", json={"title": f"By {role}"})
        assert created.status_code == (201 if role in writers else 403), role
        edited = await http.patch("/api/v1/stories/draft-one", json={"summary": "x"})
        assert edited.status_code == (200 if role in writers else 403), role
        assert (await http.get("/stories/manage")).status_code == (200 if role in writers else 403), role
        named = await http.put(f"/api/v1/admin/story-writers/{world.cyd.id}")
        assert named.status_code == (204 if role == "admin" else 403), role
        assert (await http.get("/api/v1/admin/story-writers")).status_code == (200 if role == "admin" else 403)
    assert [s["title"] for s in (await client.get("/api/v1/stories")).json()["items"]] == ["Public one"]
    assert (await client.post("/api/v1/stories", json={"title": "x"})).status_code in (401, 403)
    # Guests are never writers; a writer removed can no longer write.
    assert (await admin.put(f"/api/v1/admin/story-writers/{world.gia.id}")).status_code == 409
    assert (await admin.delete(f"/api/v1/admin/story-writers/{world.bob.id}")).status_code == 204
    assert (await bob.post("/api/v1/stories", json={"title": "Again"})).status_code == 403


async def test_the_story_editor_publishes_with_a_picture(world: Showcase, client: httpx.AsyncClient, sign_in) -> None:
    admin = await sign_in(world.admin)
    token = admin.headers["X-CSRF-Token"]
    assert (await admin.get("/stories/new")).status_code == 200
    refused = await admin.post("/stories/new", data={"csrf_token": token, "title": "With a picture"},
                               files={"cover": ("a.jpg", cover_file(), "image/jpeg")})
    assert refused.status_code == 422 and "is required" in refused.text and 'id="story-cover_alt-error"' in refused.text
    done = await admin.post("/stories/new", data={"csrf_token": token, "title": "With a picture",
                                                  "cover_alt": "A green wall", "published": "1"},
                            files={"cover": ("a.jpg", cover_file(), "image/jpeg")})
    assert done.status_code == 303 and done.headers["location"] == "/stories/with-a-picture/edit"
    assert (await admin.get("/stories/with-a-picture/edit")).status_code == 200
    public = await client.get("/stories/with-a-picture")
    assert public.status_code == 200 and 'alt="A green wall"' in public.text
    # No file chosen: the story is saved and keeps its picture.
    kept = await admin.post("/stories/with-a-picture/edit", data={"csrf_token": token, "summary": "Now with words"},
                            files={"cover": ("", b"", "application/octet-stream")})
    assert kept.status_code == 303
    assert 'alt="A green wall"' in (await client.get("/stories/with-a-picture")).text
