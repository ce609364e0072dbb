"""The rooms' side of the live feed: what the hub's frames say, per view.

:class:`RoomFeed` implements :class:`innovate.realtime.feed.Feed`. Per batch it loads what
the events point at once (messages, ideas, members...), shapes a frame per view (the
moderators' and the members' views, decided by ``Viewer``: hidden content, anonymous
authors, hidden tallies), and encodes each once per format: JSON for API clients, and for
browsers ``{"seq", "kind", "content"}`` where ``content`` is the out-of-band HTML of the
kind's template (htmx's hx-ws swaps a message that has ``content``; live.js reads ``seq``).
A frame with nothing to swap for a viewer keeps its seq and carries no content.

Which kinds load what, concern whom and re-check access is declared in ``kinds.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.templating import Jinja2Templates

from innovate import kinds
from innovate.accounts.models import User
from innovate.db import SessionFactory
from innovate.i18n import ENGLISH, use_locale
from innovate.live.html import render_event_html
from innovate.live.standing import current_standings
from innovate.notifications.service import unread_count, unread_frame
from innovate.realtime.connection import Outgoing
from innovate.realtime.feed import Standing, StateFrame, Subscriber, View
from innovate.realtime.frames import dumps, now_iso
from innovate.rooms.models import Event, Room
from innovate.rooms.serializers import Viewer
from innovate.rooms.timeline import (
    References,
    Written,
    audience_allows,
    frames_for,
    idea_ids_of,
    load_references,
    my_vote_frames,
    tally_frame,
    voted_ideas,
)
from innovate.writes import EVERY_ITEM

log = logging.getLogger("innovate.live")

BATCH = 200  # events read and fanned out at a time

# Built once: the pump runs them for every batch (``Session.get`` builds its query each time).
_ROOM = select(Room).where(Room.id == bindparam("room_id"))
_EVENTS_AFTER = (
    select(Event).where(Event.room_id == bindparam("room_id"), Event.seq > bindparam("head"))
    .order_by(Event.seq).limit(BATCH)
)


async def _room(db: AsyncSession, room_id: int) -> Room | None:
    return (await db.execute(_ROOM, {"room_id": room_id})).scalar_one_or_none()


def html_format(locale: str | None) -> str:
    """The format of a browser's socket: HTML in its page's language. Sockets of one language
    share their frames; a room renders each frame once per language in use, not per socket."""
    return f"html:{locale or ENGLISH}"


class Encoder:
    """Turns an API frame into what one view of one format receives (``html:<locale>``:
    the fragment rendered in that language; ``json``: the frame as it is, for programs)."""

    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates

    def message(self, fmt: str, frame: dict[str, Any], viewer: Viewer) -> Outgoing:
        return Outgoing(self.text(fmt, frame, viewer))

    def text(self, fmt: str, frame: dict[str, Any], viewer: Viewer) -> str:
        base, _, locale = fmt.partition(":")
        if base == "json":
            return dumps(frame)
        wrapper: dict[str, Any] = {"kind": frame["kind"]}
        if frame.get("seq") is not None:
            wrapper["seq"] = frame["seq"]
        with use_locale(locale or None):
            content = self.html(frame, viewer)
        if content:
            wrapper["content"] = content
        return dumps(wrapper)

    def html(self, frame: dict[str, Any], viewer: Viewer) -> str | None:
        try:
            return render_event_html(self.templates, frame, viewer) or None
        except Exception:
            # One bad fragment must not stop the room: the page still advances its seq.
            log.exception("rendering the live fragment for %s failed", frame.get("kind"))
            return None


class EncodedFrame:
    """One frame for one viewer, encoded per format on first use."""

    __slots__ = ("encoder", "frame", "viewer", "_messages")

    def __init__(self, encoder: Encoder, frame: dict[str, Any], viewer: Viewer) -> None:
        self.encoder = encoder
        self.frame = frame
        self.viewer = viewer
        self._messages: dict[str, Outgoing] = {}

    def message(self, fmt: str) -> Outgoing:
        message = self._messages.get(fmt)
        if message is None:
            message = self._messages[fmt] = self.encoder.message(fmt, self.frame, self.viewer)
        return message


def _about(event: Event, kind: kinds.Kind | None, frame: dict[str, Any]) -> frozenset[int]:
    """Users whose own view of this event differs from everyone's: its addressee, the
    authors it shows, and the member a ``member.*`` event is about (their own standing)."""
    users: set[int] = set()
    if event.audience.startswith("user:"):
        try:
            users.add(int(event.audience[5:]))
        except ValueError:
            pass
    if kind is None:
        return frozenset(users)
    data = frame.get("data") or {}
    if kinds.About.MEMBER in kind.about and isinstance(data.get("user_id"), int):
        users.add(data["user_id"])
    if kinds.About.AUTHOR in kind.about:
        for key in ("message", "idea"):
            item = data.get(key)
            author = item.get("author") if isinstance(item, dict) else None
            if isinstance(author, dict) and isinstance(author.get("id"), int):
                users.add(author["id"])
    return frozenset(users)


class RoomBatch:
    """Events after a head, their frames per view, and who they concern."""

    def __init__(self, encoder: Encoder, room: Room, events: list[Event], refs: References,
                 views: Collection[View]) -> None:
        self.encoder = encoder
        self.room = room
        self.events = events
        self.refs = refs
        self.seqs = [event.seq for event in events]
        self.created_at: list[datetime] = [event.created_at for event in events]
        self.more = len(events) == BATCH
        # The moderators' view names every author, so it also tells whose sockets need a
        # personal view; it is rendered even when no moderator is watching.
        self.frames: dict[bool, list[dict[str, Any]]] = {
            True: frames_for(refs, room, events, Viewer(user_id=0, moderator=True))}
        if any(not privileged for _, privileged in views):
            self.frames[False] = frames_for(refs, room, events, Viewer(user_id=0, moderator=False))
        self.kinds = [kinds.kind_named(event.kind) for event in events]
        self.subjects = [_about(event, kind, frame)
                         for event, kind, frame in zip(events, self.kinds, self.frames[True], strict=True)]
        self.recheck_all = any(k is not None and k.recheck is kinds.Recheck.ROOM for k in self.kinds)
        self.recheck_users: set[int] = set()
        for event, kind in zip(events, self.kinds, strict=True):
            user_id = (event.data or {}).get("user_id")
            if kind is not None and kind.recheck is kinds.Recheck.SUBJECT and isinstance(user_id, int):
                self.recheck_users.add(user_id)
        self._shared: dict[View, list[Outgoing | None]] = {}
        self._personal: dict[tuple[int, View, int], Outgoing | None] = {}

    def shared(self, view: View) -> list[Outgoing | None] | None:
        found = self._shared.get(view)
        if found is not None:
            return found
        fmt, privileged = view
        frames = self.frames.get(privileged)
        if frames is None:
            return None
        viewer = Viewer(user_id=0, moderator=privileged)
        encoded = [self.encoder.message(fmt, frame, viewer) if audience_allows(event, viewer) else None
                   for event, frame in zip(self.events, frames, strict=True)]
        self._shared[view] = encoded
        return encoded

    def personal(self, user_id: int, view: View, index: int) -> Outgoing | None:
        key = (user_id, view, index)
        if key in self._personal:
            return self._personal[key]
        fmt, privileged = view
        viewer = Viewer(user_id=user_id, moderator=privileged)
        event = self.events[index]
        message = None
        if audience_allows(event, viewer):
            frame = frames_for(self.refs, self.room, [event], viewer)[0]
            message = self.encoder.message(fmt, frame, viewer)
        self._personal[key] = message
        return message


class RoomFeed:
    """The hub's :class:`~innovate.realtime.feed.Feed` for challenge rooms."""

    def __init__(self, db: SessionFactory, templates: Jinja2Templates) -> None:
        self.db = db
        self.encoder = Encoder(templates)

    async def batch(self, room_id: int, after: int, views: Collection[View],
                    written: Sequence[object] = ()) -> RoomBatch | None:
        if written:
            found = self._written_batch(after, views, written)
            if found is not None:
                return found
        async with self.db() as db:
            room = await _room(db, room_id)
            if room is None:
                return None
            events = list((await db.execute(_EVENTS_AFTER, {"room_id": room_id, "head": after})).scalars())
            # One load of what the batch points at serves every view rendered of it.
            refs = await load_references(db, events)
        return RoomBatch(self.encoder, room, events, refs, views)

    def _written_batch(self, after: int, views: Collection[View], written: Sequence[object]) -> RoomBatch | None:
        """The batch of events as their writer handed them over, when they follow ``after``
        with none missing and their rows cover their frames; else None (read them back)."""
        items = [item for item in written[:BATCH] if isinstance(item, Written)]
        if not items or [item.event.seq for item in items] != list(range(after + 1, after + 1 + len(items))):
            return None
        refs = References.written(items)
        if refs is None:
            return None
        # The room as its newest event left it (on SQLite writers take turns, and every change
        # to its settings appends an event, so this is the room at that seq).
        return RoomBatch(self.encoder, items[-1].room, [item.event for item in items], refs, views)

    async def state(self, room_id: int, changes: Collection[tuple[str, int | None, int]],
                    views: Collection[View]) -> list[StateFrame] | None:
        """Tallies for everyone, and each voter's own vote and dots left for their sockets,
        read in one go after the signals (so the last frames hold the last committed state)."""
        tally_ids = {item for name, _, item in changes if name == kinds.TALLY_CHANGED.name}
        mine_wanted = {(user, item) for name, user, item in changes
                       if name == kinds.VOTE_MINE.name and user is not None}
        async with self.db() as db:
            room = await _room(db, room_id)
            if room is None:
                return None
            if EVERY_ITEM in tally_ids:
                tally_ids = await idea_ids_of(db, room_id)
            return await self._state_frames(db, room, tally_ids, views, mine_wanted)

    async def room_state(self, room_id: int, views: Collection[View],
                         user_ids: Collection[int]) -> list[StateFrame] | None:
        """What room sockets going live are sent after their replay, since no event log holds
        it: every idea's tally as each view may see it (one ``tally.changed``), and each
        person's own votes with the dots they have left (``vote.mine``). Votes cast while a
        page was away are on it without a reload."""
        async with self.db() as db:
            room = await _room(db, room_id)
            if room is None:
                return None
            mine_wanted = [(user_id, idea_id) for user_id in sorted(set(user_ids))
                           for idea_id in await voted_ideas(db, room_id, user_id)]
            return await self._state_frames(db, room, await idea_ids_of(db, room_id), views, mine_wanted)

    async def _state_frames(self, db: AsyncSession, room: Room, tally_ids: Collection[int],
                            views: Collection[View], mine_wanted: Iterable[tuple[int, int]]) -> list[StateFrame]:
        out: list[StateFrame] = []
        if tally_ids:
            for privileged in sorted({privileged for _, privileged in views}):
                viewer = Viewer(user_id=0, moderator=privileged)
                frame = await tally_frame(db, room, tally_ids, viewer)
                if frame is not None:
                    out.append(StateFrame(None, privileged, EncodedFrame(self.encoder, frame, viewer)))
        mine = await my_vote_frames(db, room, mine_wanted)
        at = now_iso()
        for state in out:
            state.frames.frame.setdefault("at", at)
        for (user_id, _), frame in mine.items():
            frame["at"] = at
            viewer = Viewer(user_id=user_id, moderator=False)
            out.append(StateFrame(user_id, None, EncodedFrame(self.encoder, frame, viewer)))
        return out

    async def standings(self, subscribers: Sequence[Subscriber]) -> list[Standing | None]:
        async with self.db() as db:
            return await current_standings(db, subscribers)

    async def names(self, user_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        async with self.db() as db:
            rows = await db.execute(select(User.id, User.name, User.kind).where(User.id.in_(list(user_ids))))
            return {row.id: {"id": row.id, "name": row.name, "kind": row.kind} for row in rows}

    async def heads(self, room_ids: Collection[int]) -> dict[int, int]:
        async with self.db() as db:
            rows = await db.execute(select(Room.id, Room.last_seq).where(Room.id.in_(list(room_ids))))
            return {row.id: row.last_seq for row in rows}

    async def arrival(self, user_id: int, fmt: str) -> list[Outgoing]:
        """State a socket needs as it goes live, since no event log holds it: what changed
        while the page was away is otherwise lost (the unread count, so far)."""
        async with self.db() as db:
            unread = await unread_count(db, user_id)
        return [EncodedFrame(self.encoder, unread_frame(unread), Viewer(user_id=user_id, moderator=False)).message(fmt)]

    def to_user(self, user_id: int, frame: dict[str, Any]) -> EncodedFrame | None:
        kind = kinds.kind_named(str(frame.get("kind", "")))
        if kind is None or kind.stored:
            return None  # only declared state kinds go to a user's sockets
        return EncodedFrame(self.encoder, frame, Viewer(user_id=user_id, moderator=False))
