"""Words to search for, matched by the database's own full-text search, and marked in what
was found.

PostgreSQL: ``to_tsvector('simple', ...) @@ to_tsquery('simple', 'w1:* & w2:*')`` over the
expressions migration 0011 indexes. SQLite: FTS5 (``ideas_fts`` from 0002, ``messages_fts``
from 0011) with each word a quoted prefix term. Every word must match; words are runs of
letters and digits only, so input can never be query syntax on either database.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.db import is_postgres
from innovate.errors import Invalid
from innovate.i18n import gettext as _

WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_WORDS = 8
MAX_QUERY = 200
SNIPPET = 180      # characters of context shown around the first match
LEAD = 60          # of them, before it


def words_of(query: str) -> list[str]:
    """The words to look for; an :class:`Invalid` naming ``q`` when there are none."""
    if len(query) > MAX_QUERY:
        raise Invalid.field("q", _("use at most %(max)s characters", max=MAX_QUERY))
    found: list[str] = []
    for word in WORD.findall(query.lower()):
        if word not in found:
            found.append(word)
    if not found or all(len(w) < 2 for w in found):
        raise Invalid.field("q", _("type at least one word of two letters or more"))
    return found[:MAX_WORDS]


def idea_match(db: AsyncSession, words: list[str]) -> Any:
    """A WHERE clause on ``ideas``: title or body hold every word (as a word's start)."""
    if is_postgres(db):
        return text("to_tsvector('simple', ideas.title || ' ' || ideas.body) @@ to_tsquery('simple', :idea_q)"
                    ).bindparams(idea_q=_tsquery(words))
    return text("ideas.id IN (SELECT rowid FROM ideas_fts WHERE ideas_fts MATCH :idea_q)").bindparams(
        idea_q=_fts(words))


def message_match(db: AsyncSession, words: list[str]) -> Any:
    """A WHERE clause on ``messages``: the body holds every word (as a word's start)."""
    if is_postgres(db):
        return text("to_tsvector('simple', messages.body) @@ to_tsquery('simple', :message_q)").bindparams(
            message_q=_tsquery(words))
    return text("messages.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH :message_q)").bindparams(
        message_q=_fts(words))


def _tsquery(words: list[str]) -> str:
    return " & ".join(f"{w}:*" for w in words)


def _fts(words: list[str]) -> str:
    return " ".join(f'"{w}"*' for w in words)


def marked(source: str, words: list[str], *, whole: bool = False) -> Markup:
    """``source`` (or, unless ``whole``, the stretch around its first match), escaped, with
    every word that starts like a search word inside ``<mark>``."""
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\w*", re.IGNORECASE)
    flat = " ".join(source.split())
    start, end = 0, len(flat)
    if not whole and len(flat) > SNIPPET:
        first = pattern.search(flat)
        start = max(0, (first.start() if first else 0) - LEAD)
        end = min(len(flat), start + SNIPPET)
    piece = flat[start:end]
    out = [Markup("…")] if start > 0 else []
    at = 0
    for match in pattern.finditer(piece):
        out.append(escape(piece[at:match.start()]))
        out.append(Markup("<mark>%s</mark>") % match.group(0))
        at = match.end()
    out.append(escape(piece[at:]))
    if end < len(flat):
        out.append(Markup("…"))
    return Markup("").join(out)
