"""Uploaded pictures: refused when they are not pictures, stripped, bounded, stored, served cached."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image
from starlette.datastructures import Headers, UploadFile

from innovate.errors import Invalid
from innovate.media import pictures, store
from innovate.resources import Resources
from innovate.writes import write

PROFILE = pictures.Profile("test", sizes={"large": 800, "small": 120})
PRIVATE = pictures.Profile("private-test", sizes={"small": 64}, fmt="png", public=False)


def photo(width: int = 2400, height: int = 1200, fmt: str = "JPEG", **save: Any) -> bytes:
    picture = Image.new("RGB", (width, height), (200, 80, 40))
    out = io.BytesIO()
    picture.save(out, fmt, **save)
    return out.getvalue()


def with_gps_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SnoopCam"                     # Make
    exif[0x0131] = "Secret Editor 1.0"            # Software
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}  # GPSInfo: latitude
    exif[0x0112] = 6                              # Orientation: rotated 90° clockwise
    return photo(1600, 900, exif=exif.tobytes(), icc_profile=b"\0" * 128, comment=b"taken at home")


def upload(data: bytes, filename: str = "photo.jpg") -> UploadFile:
    return UploadFile(file=io.BytesIO(data), filename=filename, headers=Headers({"content-type": "image/jpeg"}))


async def test_a_photo_is_bounded_re_encoded_and_stripped() -> None:
    prepared = await pictures.prepare(upload(with_gps_exif()), field="picture", profile=PROFILE, max_bytes=10**7)
    sizes = {r.size: r for r in prepared.renditions}
    assert set(sizes) == {"large", "small"}
    for rendition, longest in ((sizes["large"], 800), (sizes["small"], 120)):
        decoded = Image.open(io.BytesIO(rendition.data))
        assert decoded.format == "WEBP" and rendition.content_type == "image/webp"
        # Turned upright from its EXIF orientation (900×1600), then bounded.
        assert max(decoded.size) == longest and decoded.height > decoded.width
        assert (decoded.width, decoded.height) == (rendition.width, rendition.height)
        assert not decoded.getexif() and "icc_profile" not in decoded.info and "exif" not in decoded.info
        assert b"SnoopCam" not in rendition.data and b"Secret Editor" not in rendition.data
        assert b"taken at home" not in rendition.data


async def test_small_pictures_are_never_enlarged_and_transparency_survives() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (50, 30), (0, 0, 0, 0)).save(out, "PNG")
    prepared = await pictures.prepare(out.getvalue(), field="picture", profile=PRIVATE, max_bytes=10**7)
    (only,) = prepared.renditions
    decoded = Image.open(io.BytesIO(only.data))
    assert decoded.format == "PNG" and decoded.size == (50, 30) and decoded.mode == "RGBA"


@pytest.mark.parametrize("data, why", [
    (b"", "the file is empty"),
    (b"GIF89a this is not really a picture", "is not a picture we can read"),
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "is not a picture we can read"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "is not a picture we can read"),
    (photo(200, 200)[:400], "is not a picture we can read"),
])
async def test_what_is_not_a_readable_picture_is_refused_naming_the_field(data: bytes, why: str) -> None:
    with pytest.raises(Invalid) as refused:
        await pictures.prepare(upload(data), field="cover", profile=PROFILE, max_bytes=10**7)
    assert refused.value.fields is not None and why in refused.value.fields["cover"]


async def test_missing_oversized_and_huge_canvas_uploads_are_refused() -> None:
    with pytest.raises(Invalid) as missing:
        await pictures.prepare("just text", field="cover", profile=PROFILE, max_bytes=10**7)
    assert missing.value.fields == {"cover": "attach a picture file (JPEG, PNG, WebP or GIF)"}
    with pytest.raises(Invalid) as large:
        await pictures.prepare(upload(photo()), field="cover", profile=PROFILE, max_bytes=1000)
    assert large.value.fields is not None and "larger than" in large.value.fields["cover"]
    # A tiny PNG that claims a 20000×20000 canvas is refused before its pixels are decoded.
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")
    assert len(bomb.getvalue()) < 200_000
    with pytest.raises(Invalid) as huge:
        await pictures.prepare(upload(bomb.getvalue()), field="cover", profile=PROFILE, max_bytes=10**7)
    assert huge.value.fields is not None and "too large" in huge.value.fields["cover"]
    # Under Pillow's own limit, over ours: refused from the header, with the canvas named.
    wide = io.BytesIO()
    Image.new("1", (8000, 6000)).save(wide, "PNG")
    with pytest.raises(Invalid) as over:
        await pictures.prepare(upload(wide.getvalue()), field="cover", profile=PROFILE, max_bytes=10**7)
    assert over.value.fields == {"cover": "the picture is too large (8000×6000 pixels; at most 40 million)"}


def test_alt_text_is_required_and_one_line() -> None:
    with pytest.raises(Invalid) as missing:
        pictures.alt_text({}, "cover_alt")
    assert missing.value.fields == {"cover_alt": "is required"}
    with pytest.raises(Invalid):
        pictures.alt_text({"cover_alt": "two\nlines"}, "cover_alt")
    assert pictures.alt_text({"cover_alt": "  A team at a whiteboard "}, "cover_alt") == "A team at a whiteboard"


async def test_stored_pictures_are_served_with_etag_and_long_cache(resources: Resources, client: httpx.AsyncClient,
                                                                   make_user, sign_in) -> None:
    owner = await make_user()
    prepared = await pictures.prepare(upload(photo()), field="picture", profile=PROFILE, max_bytes=10**7)
    async with write(resources) as (db, _outbox):
        saved = await store.save(db, prepared, alt="A red wall", owner_id=owner.id)
    async with resources.db() as db:
        loaded = await store.load(db, saved.key)
        many = await store.load_many(db, [saved.key, "no-such-key"])
    assert loaded == saved and many == {saved.key: saved}
    assert saved.url("large") == f"/media/{saved.key}/large.webp"
    assert saved.srcset().startswith(f"/media/{saved.key}/small.webp 120w, ")

    first = await client.get(saved.url("large"))
    assert first.status_code == 200 and first.headers["content-type"] == "image/webp"
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "set-cookie" not in first.headers
    assert Image.open(io.BytesIO(first.content)).size == (800, 400)
    again = await client.get(saved.url("large"), headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == first.headers["etag"]
    for wrong in (f"/media/{saved.key}/large.png", f"/media/{saved.key}/huge.webp", "/media/nothing/large.webp"):
        assert (await client.get(wrong)).status_code == 404

    async with write(resources) as (db, _outbox):
        await store.delete_picture(db, saved.key)
    assert (await client.get(saved.url("large"))).status_code == 404


async def test_private_pictures_need_a_signed_in_viewer(resources: Resources, client: httpx.AsyncClient,
                                                        make_user, sign_in) -> None:
    prepared = await pictures.prepare(upload(photo(100, 100)), field="picture", profile=PRIVATE, max_bytes=10**7)
    async with write(resources) as (db, _outbox):
        saved = await store.save(db, prepared, alt="A square", owner_id=None)
    assert (await client.get(saved.url("small"))).status_code == 404
    viewer = await sign_in(await make_user())
    served = await viewer.get(saved.url("small"))
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.headers["cache-control"].startswith("private,")


async def test_multipart_bodies_may_carry_an_upload_and_others_keep_the_body_limit(
        client: httpx.AsyncClient, settings) -> None:
    two_megabytes = b"x" * 2_000_000
    assert settings.max_body_bytes < len(two_megabytes) < settings.upload_max_bytes
    form = await client.post("/api/v1/me/time-zone", files={"picture": ("p.jpg", two_megabytes, "image/jpeg")})
    assert form.status_code != 413
    plain = await client.post("/api/v1/me/time-zone", content=two_megabytes,
                              headers={"content-type": "application/x-www-form-urlencoded"})
    assert plain.status_code == 413
    too_big = b"x" * (settings.upload_max_bytes + 100_000)
    refused = await client.post("/api/v1/me/time-zone", files={"picture": ("p.jpg", too_big, "image/jpeg")})
    assert refused.status_code == 413
