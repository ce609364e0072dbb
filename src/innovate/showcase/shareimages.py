"""Share images (Open Graph, Twitter Card): the title and the company's name, drawn by the
server once and kept as a stored picture (``innovate.media``), redrawn only when what it
shows changes. 1200×630 PNG, the size the social networks show large."""

from __future__ import annotations

import io
import textwrap

import anyio.to_thread
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.media import pictures, store

WIDTH, HEIGHT = 1200, 630
SHARE = pictures.Profile("share", sizes={"og": WIDTH}, fmt="png")
_INK = (255, 255, 255)
_GROUND = (22, 58, 89)
_ACCENT = (240, 180, 41)


def alt_for(title: str, company: str, label: str) -> str:
    """The image's alt text, which is also what it was drawn from: equal alt, same image."""
    return f"{label}: {title} ({company})"[: pictures.ALT_MAX]


def draw(title: str, company: str, label: str) -> bytes:
    """The PNG: a band with the label, the title wrapped on up to four lines, the company."""
    image = Image.new("RGB", (WIDTH, HEIGHT), _GROUND)
    pen = ImageDraw.Draw(image)
    pen.rectangle((0, 0, 24, HEIGHT), fill=_ACCENT)
    small = ImageFont.load_default(size=36)
    pen.text((80, 70), label.upper(), font=small, fill=_ACCENT)
    size, lines = 72, textwrap.wrap(title, 26)
    if len(lines) > 3:
        size, lines = 56, textwrap.wrap(title, 34)
    if len(lines) > 4:
        lines = [*lines[:3], textwrap.shorten(" ".join(lines[3:]), 34, placeholder=" …")]
    big = ImageFont.load_default(size=size)
    y = 150
    for line in lines:
        pen.text((80, y), line, font=big, fill=_INK)
        y += int(size * 1.25)
    pen.text((80, HEIGHT - 100), company, font=small, fill=_INK)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


async def drawn(title: str, company: str, label: str) -> pictures.Prepared:
    data = await anyio.to_thread.run_sync(draw, title, company, label)
    return pictures.Prepared(profile=SHARE, renditions=(
        pictures.Rendition(size="og", width=WIDTH, height=HEIGHT, content_type="image/png", data=data),))


async def current(db: AsyncSession, key: str | None, alt: str) -> str | None:
    """``key`` if it names a share image drawn from ``alt``'s words, else None (draw anew)."""
    if key is None:
        return None
    picture = await store.load(db, key)
    return key if picture is not None and picture.alt == alt else None


async def replace(db: AsyncSession, old_key: str | None, prepared: pictures.Prepared, alt: str) -> str:
    """Store a newly drawn image in the caller's transaction, dropping the one it replaces."""
    if old_key is not None:
        await store.delete_picture(db, old_key)
    return (await store.save(db, prepared, alt=alt, owner_id=None)).key
