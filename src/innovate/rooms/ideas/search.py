"""Similar ideas while typing, on the database's own text search.

PostgreSQL: ``pg_trgm`` word similarity on titles (GIN index). SQLite: an FTS5 index (no
stemming, so prefixes of half-typed words match) over
titles and bodies kept in step by triggers. Both live in migration 0002; this module is
the one interface the rest of the app calls.
"""

from __future__ import annotations

import re

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.db import is_postgres
from innovate.rooms.models import Idea

WORD = re.compile(r"\w+", re.UNICODE)
MIN_QUERY = 3
STOPWORDS = {"the", "and", "for", "with", "a", "an", "of", "to", "in", "on", "our", "we", "is"}


async def similar_ideas(db: AsyncSession, room_id: int, query: str, *, limit: int = 5,
                        exclude_id: int | None = None) -> list[Idea]:
    query = " ".join(query.split())[:200]
    if len(query) < MIN_QUERY:
        return []
    if is_postgres(db):
        ids = await _postgres(db, room_id, query, limit + 1)
    else:
        ids = await _sqlite(db, room_id, query, limit + 1)
    ids = [i for i in ids if i != exclude_id][:limit]
    if not ids:
        return []
    rows = {i.id: i for i in (await db.execute(select(Idea).where(Idea.id.in_(ids)))).scalars()}
    return [rows[i] for i in ids if i in rows]


async def _postgres(db: AsyncSession, room_id: int, query: str, limit: int) -> list[int]:
    result = await db.execute(
        text(
            "SELECT id FROM ideas WHERE room_id = :room AND state = 'visible' AND status <> 'merged' "
            "AND (:q <% title OR to_tsvector('simple', body) @@ plainto_tsquery('simple', :q)) "
            "ORDER BY word_similarity(:q, title) DESC, id DESC LIMIT :limit"
        ),
        {"room": room_id, "q": query, "limit": limit},
    )
    return [row[0] for row in result]


def _fts_query(query: str) -> str | None:
    words = [w for w in WORD.findall(query.lower()) if len(w) >= 2 and w not in STOPWORDS]
    if not words:
        return None
    # Each word as a quoted prefix term: user input can never be FTS5 syntax.
    return " OR ".join(f'"{w}"*' for w in words[:12])


async def _sqlite(db: AsyncSession, room_id: int, query: str, limit: int) -> list[int]:
    match = _fts_query(query)
    if match is None:
        return []
    result = await db.execute(
        text(
            "SELECT ideas.id FROM ideas_fts JOIN ideas ON ideas.id = ideas_fts.rowid "
            "WHERE ideas_fts MATCH :match AND ideas.room_id = :room AND ideas.state = 'visible' "
            "AND ideas.status <> 'merged' ORDER BY bm25(ideas_fts, 4.0, 1.0), ideas.id DESC LIMIT :limit"
        ),
        {"match": match, "room": room_id, "limit": limit},
    )
    return [row[0] for row in result]
