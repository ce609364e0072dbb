"""Pictures in the database: saved inside the caller's write transaction, loaded by key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.media.models import Media, MediaRendition
from innovate.media.pictures import Prepared

_EXTENSIONS = {"image/webp": "webp", "image/png": "png", "image/jpeg": "jpg"}


@dataclass(frozen=True)
class Size:
    width: int
    height: int
    extension: str


@dataclass(frozen=True)
class Picture:
    """What a page needs to show a stored picture: its URLs, its alt text and its sizes."""

    key: str
    alt: str
    sizes: dict[str, Size]

    def url(self, size: str) -> str:
        return f"/media/{self.key}/{size}.{self.sizes[size].extension}"

    def srcset(self) -> str:
        """Every size as an ``srcset`` candidate (``url 640w, ...``), smallest first."""
        ordered = sorted(self.sizes.items(), key=lambda item: item[1].width)
        return ", ".join(f"{self.url(name)} {size.width}w" for name, size in ordered)


async def save(db: AsyncSession, prepared: Prepared, *, alt: str, owner_id: int | None) -> Picture:
    """Store ``prepared`` with its alt text, in the caller's transaction (``writes.write``)."""
    media = Media(key=secrets.token_urlsafe(16), purpose=prepared.profile.name, alt=alt,
                  public=prepared.profile.public, owner_id=owner_id)
    db.add(media)
    await db.flush()
    db.add_all(MediaRendition(media_id=media.id, size=r.size, content_type=r.content_type, width=r.width,
                              height=r.height, etag=r.etag, data=r.data) for r in prepared.renditions)
    await db.flush()
    return Picture(key=media.key, alt=alt, sizes={r.size: Size(r.width, r.height, _EXTENSIONS[r.content_type])
                                                  for r in prepared.renditions})


async def load(db: AsyncSession, key: str) -> Picture | None:
    rows = (await db.execute(
        select(Media.alt, MediaRendition.size, MediaRendition.width, MediaRendition.height,
               MediaRendition.content_type)
        .join(MediaRendition, MediaRendition.media_id == Media.id).where(Media.key == key)
    )).all()
    if not rows:
        return None
    return Picture(key=key, alt=rows[0].alt, sizes={r.size: Size(r.width, r.height, _EXTENSIONS[r.content_type])
                                                    for r in rows})


async def load_many(db: AsyncSession, keys: list[str]) -> dict[str, Picture]:
    """Several pictures in one query, by key (keys that match nothing are left out)."""
    if not keys:
        return {}
    rows = (await db.execute(
        select(Media.key, Media.alt, MediaRendition.size, MediaRendition.width, MediaRendition.height,
               MediaRendition.content_type)
        .join(MediaRendition, MediaRendition.media_id == Media.id).where(Media.key.in_(set(keys)))
    )).all()
    found: dict[str, Picture] = {}
    for r in rows:
        picture = found.setdefault(r.key, Picture(key=r.key, alt=r.alt, sizes={}))
        picture.sizes[r.size] = Size(r.width, r.height, _EXTENSIONS[r.content_type])
    return found


async def delete_picture(db: AsyncSession, key: str) -> None:
    """Remove a picture and its renditions (a replaced portrait, an erased account's)."""
    await db.execute(delete(Media).where(Media.key == key))


@dataclass(frozen=True)
class Served:
    content_type: str
    etag: str
    public: bool
    data: bytes


async def rendition(db: AsyncSession, key: str, size: str, extension: str) -> Served | None:
    row = (await db.execute(
        select(MediaRendition.content_type, MediaRendition.etag, MediaRendition.data, Media.public)
        .join(Media, MediaRendition.media_id == Media.id)
        .where(Media.key == key, MediaRendition.size == size)
    )).one_or_none()
    if row is None or _EXTENSIONS.get(row.content_type) != extension:
        return None
    return Served(content_type=row.content_type, etag=row.etag, public=row.public, data=row.data)
