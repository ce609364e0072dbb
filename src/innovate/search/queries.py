"""One search across what a person may see: challenges by title, ideas and messages by
their words. Rooms are those of :func:`visible_room_ids`; in them members find visible
content only, and the room's moderators (administrators everywhere) also hidden and held
content, marked as such. Authors of ideas are never shown (an idea may be anonymous)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.rooms.access import moderated_room_ids, visible_room_ids
from innovate.rooms.models import Idea, Message, Room
from innovate.rooms.queries import list_rooms
from innovate.search.text import idea_match, marked, message_match, words_of

LIMIT = 20
ROOMS = 10
# What a moderator may find besides visible content (deleted and rejected posts are gone).
MODERATED_STATES = ("visible", "hidden", "held")


@dataclass(frozen=True)
class Hit:
    kind: str            # "room" | "idea" | "message"
    id: int
    room_slug: str
    room_title: str
    title: Markup        # the idea's title, the room's title, or the message's thread
    excerpt: Markup      # the words around the match, marked
    url: str
    state: str
    author: str | None
    at: datetime | None

    def json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "room": {"slug": self.room_slug, "title": self.room_title},
                "title": str(self.title), "excerpt": str(self.excerpt), "url": self.url, "state": self.state,
                "author": self.author, "at": self.at.isoformat() if self.at else None}


@dataclass(frozen=True)
class Results:
    query: str
    words: list[str]
    rooms: list[Hit]
    ideas: list[Hit]
    messages: list[Hit]

    def json(self) -> dict[str, Any]:
        return {"query": self.query, "words": self.words, "rooms": [h.json() for h in self.rooms],
                "ideas": [h.json() for h in self.ideas], "messages": [h.json() for h in self.messages]}


async def search(db: AsyncSession, user: User, query: str, *, limit: int = LIMIT) -> Results:
    words = words_of(query)
    return Results(query=query, words=words, rooms=await _rooms(db, user, query, words),
                   ideas=await _ideas(db, user, words, limit), messages=await _messages(db, user, words, limit))


async def _rooms(db: AsyncSession, user: User, query: str, words: list[str]) -> list[Hit]:
    found = await list_rooms(db, user, query=" ".join(query.split()))
    return [Hit(kind="room", id=r["id"], room_slug=r["slug"], room_title=r["title"],
                title=marked(r["title"], words, whole=True), excerpt=marked(r.get("brief") or "", words),
                url=f"/rooms/{r['slug']}", state="visible", author=None, at=None) for r in found[:ROOMS]]


async def _ideas(db: AsyncSession, user: User, words: list[str], limit: int) -> list[Hit]:
    moderated = moderated_room_ids(user)
    rows = await db.execute(
        select(Idea.id, Idea.title, Idea.body, Idea.state, Idea.created_at, Room.slug, Room.title.label("room_title"))
        .join(Room, Room.id == Idea.room_id)
        .where(Idea.room_id.in_(visible_room_ids(user)), or_(Idea.state == "visible", Idea.room_id.in_(moderated)),
               idea_match(db, words))
        .order_by(Idea.created_at.desc(), Idea.id.desc()).limit(limit))
    return [Hit(kind="idea", id=r.id, room_slug=r.slug, room_title=r.room_title, title=marked(r.title, words, whole=True),
                excerpt=marked(r.body, words), url=f"/rooms/{r.slug}/ideas/{r.id}", state=r.state, author=None,
                at=r.created_at) for r in rows]


async def _messages(db: AsyncSession, user: User, words: list[str], limit: int) -> list[Hit]:
    moderated = moderated_room_ids(user)
    visible_ideas = select(Idea.id).where(Idea.state == "visible")
    rows = await db.execute(
        select(Message.id, Message.body, Message.state, Message.created_at, Message.idea_id, Room.slug,
               Room.title.label("room_title"), Idea.title.label("idea_title"), User.name.label("author"))
        .join(Room, Room.id == Message.room_id)
        .outerjoin(Idea, Idea.id == Message.idea_id)
        .outerjoin(User, User.id == Message.author_id)
        .where(Message.room_id.in_(visible_room_ids(user)),
               or_(Message.state == "visible", Message.room_id.in_(moderated)),
               Message.state.in_(MODERATED_STATES),
               or_(Message.idea_id.is_(None), Message.idea_id.in_(visible_ideas), Message.room_id.in_(moderated)),
               message_match(db, words))
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(limit))
    hits = []
    for r in rows:
        base = f"/rooms/{r.slug}" + (f"/ideas/{r.idea_id}" if r.idea_id else "")
        hits.append(Hit(kind="message", id=r.id, room_slug=r.slug, room_title=r.room_title,
                        title=marked(r.idea_title or r.room_title, words, whole=True), excerpt=marked(r.body, words),
                        url=f"{base}#message-{r.id}", state=r.state, author=r.author, at=r.created_at))
    return hits
