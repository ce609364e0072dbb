"""Turning an upload into clean pictures: refuse what is not one, strip it, bound it, re-encode it.

Only the pixels survive: the file is decoded by Pillow (which refuses anything that is not a
picture it can read), turned upright from its EXIF orientation, and written again without
EXIF, XMP, ICC or comments, at each of the profile's bounded sizes. Nothing the uploader's
camera or editor recorded (place, device, author) is kept.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio.to_thread
from PIL import Image, ImageOps, UnidentifiedImageError
from starlette.datastructures import UploadFile

from innovate.errors import Invalid
from innovate.i18n import gettext as _
from innovate.i18n.formatting import format_number
from innovate.inputs import Input, text_field

# Formats decoded: the ones browsers and phones produce. Naming them keeps Pillow from trying
# its other plugins (EPS would start Ghostscript) on whatever arrives.
ACCEPTED = ("JPEG", "PNG", "WEBP", "GIF")
# A decoded picture larger than this is refused before its pixels are read (a small file can
# claim a huge canvas: a decompression bomb).
MAX_PIXELS = 40_000_000
ALT_MAX = 300

Format = Literal["webp", "png", "jpeg"]
_ENCODING: dict[str, tuple[str, str, dict[str, Any]]] = {
    "webp": ("WEBP", "image/webp", {"quality": 82, "method": 4}),
    "png": ("PNG", "image/png", {"optimize": True}),
    "jpeg": ("JPEG", "image/jpeg", {"quality": 85, "optimize": True, "progressive": True}),
}


@dataclass(frozen=True)
class Profile:
    """What one kind of picture becomes: its bounded sizes (the longest side in pixels,
    never enlarged), its format, and whether anyone with the URL may see it."""

    name: str
    sizes: dict[str, int]
    fmt: Format = "webp"
    public: bool = True

    @property
    def extension(self) -> str:
        return "jpg" if self.fmt == "jpeg" else self.fmt

    @property
    def content_type(self) -> str:
        return _ENCODING[self.fmt][1]


@dataclass(frozen=True)
class Rendition:
    size: str
    width: int
    height: int
    content_type: str
    data: bytes = field(repr=False)

    @property
    def etag(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:32]


@dataclass(frozen=True)
class Prepared:
    """An upload, decoded and re-encoded, ready for :func:`innovate.media.store.save`."""

    profile: Profile
    renditions: tuple[Rendition, ...]


def alt_text(data: Input, name: str) -> str:
    """The alt text a picture needs wherever it is shown: required, one line, 300 characters."""
    value = text_field(data, name, max_length=ALT_MAX)
    assert value is not None
    return value


async def prepare(upload: object, *, field: str, profile: Profile, max_bytes: int) -> Prepared:
    """Read ``upload`` (a file from a multipart form, or bytes) and make ``profile``'s
    renditions of it. A missing, oversized or unreadable file is a 422 naming ``field``."""
    data = await _read(upload, field, max_bytes)
    return await anyio.to_thread.run_sync(render, data, field, profile)


async def _read(upload: object, field: str, max_bytes: int) -> bytes:
    if isinstance(upload, bytes):
        data = upload
    elif isinstance(upload, UploadFile):
        data = await upload.read(max_bytes + 1)
    else:
        raise Invalid.field(field, _("attach a picture file (JPEG, PNG, WebP or GIF)"))
    if not data:
        raise Invalid.field(field, _("the file is empty"))
    if len(data) > max_bytes:
        raise Invalid.field(field, _("the file is larger than %(size)s", size=_megabytes(max_bytes)))
    return data


def _megabytes(n: int) -> str:
    # One decimal at most, in the reader's notation ("2,5 MB" in German).
    return _("%(megabytes)s MB", megabytes=format_number(round(n / 1_048_576, 1)))


def render(data: bytes, field: str, profile: Profile) -> Prepared:
    """The synchronous part of :func:`prepare` (CPU-bound: it runs in a worker thread)."""
    picture = _decode(data, field, max(profile.sizes.values()))
    # Largest first, each from the one before: a 12-megapixel photo is resampled once at
    # full size, not once per rendition.
    made: dict[str, Rendition] = {}
    for size, longest in sorted(profile.sizes.items(), key=lambda item: -item[1]):
        picture = _bounded(picture, longest)
        made[size] = _encode(picture, size, profile)
    return Prepared(profile=profile, renditions=tuple(made[size] for size in profile.sizes))


def _decode(data: bytes, field: str, largest: int) -> Image.Image:
    unreadable = Invalid.field(field, _("is not a picture we can read (JPEG, PNG, WebP or GIF)"))
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED) as source:
            width, height = source.size
            if width * height > MAX_PIXELS:
                raise Invalid.field(field, _("the picture is too large (%(width)s×%(height)s pixels; at most %(max)s million)",
                                             width=width, height=height, max=MAX_PIXELS // 1_000_000))
            source.seek(0)  # an animation: its first frame
            # JPEG can decode at 1/2, 1/4 or 1/8 scale: never more pixels than the largest size needs.
            ratio = min(1.0, largest / max(width, height))
            source.draft("RGB", (math.ceil(width * ratio), math.ceil(height * ratio)))
            source.load()
            upright = ImageOps.exif_transpose(source)
    except Invalid:
        raise
    except Image.DecompressionBombError:  # Pillow's own, even larger limit, checked as it opens
        raise Invalid.field(field, _("the picture is too large (at most %(max)s million pixels)",
                                    max=MAX_PIXELS // 1_000_000)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise unreadable from None
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info)
    # A new image from the pixels alone: no info dict (EXIF, XMP, ICC, comments) comes along.
    pixels = upright.convert("RGBA" if has_alpha else "RGB")
    return Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())


def _bounded(picture: Image.Image, longest: int) -> Image.Image:
    bounded = picture.copy()
    bounded.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    return bounded


def _encode(bounded: Image.Image, size: str, profile: Profile) -> Rendition:
    name, content_type, options = _ENCODING[profile.fmt]
    if profile.fmt == "jpeg" and bounded.mode == "RGBA":
        flat = Image.new("RGB", bounded.size, "white")
        flat.paste(bounded, mask=bounded.getchannel("A"))
        bounded = flat
    out = io.BytesIO()
    bounded.save(out, name, **options)
    return Rendition(size=size, width=bounded.width, height=bounded.height, content_type=content_type,
                     data=out.getvalue())
