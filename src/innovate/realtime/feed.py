"""What the hub asks of the application: the small typed protocol between the live transport
(this package) and what the frames say (the rooms' feed, :mod:`innovate.live.feed`).

The hub moves bytes. It groups a room's sockets by format (``html``, ``json``) and by view
(the feed's ``privileged`` view or the plain one), and calls the feed once per batch: the
feed reads the events after the room's head, renders each once per view that has sockets,
and hands back prepared frames; the hub writes the same bytes to every socket of a group.
Users the feed names as the subjects of an event get their personal frame of it instead.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from innovate.realtime.connection import Outgoing

FORMATS = ("html", "json")

# A socket's group: (format, privileged). A format may carry a variant after a colon, which
# the feed reads and the hub only groups by: HTML frames are rendered per language
# ("html:de"), so a room's sockets form one group per format, language and view in use.
View = tuple[str, bool]


@dataclass(frozen=True)
class Standing:
    """What an admitted socket is now: the privileged view or not, quiet until when (a
    muted member sends no typing signals). ``None`` in its place: it must close."""

    privileged: bool
    muted_until: datetime | None


@dataclass(frozen=True)
class Subscriber:
    """What the feed needs to re-check one socket: who, where, and what it signed in with."""

    user_id: int
    room_id: int | None
    session_id: int | None
    token_hash: str | None


class Batch(Protocol):
    """Stored events after a head, rendered for the views that had sockets."""

    @property
    def seqs(self) -> Sequence[int]: ...

    @property
    def created_at(self) -> Sequence[datetime]: ...

    @property
    def more(self) -> bool:
        """The batch was full: more events may follow at once."""

    @property
    def subjects(self) -> Sequence[frozenset[int]]:
        """Per event, the users whose own view of it differs from everyone's."""

    @property
    def recheck_users(self) -> Collection[int]:
        """Users whose sockets re-check their access once the batch is out."""

    @property
    def recheck_all(self) -> bool: ...

    def shared(self, view: View) -> Sequence[Outgoing | None] | None:
        """One frame per event for ``view`` (None where the event is not for it), or None
        when the view was not rendered (it had no sockets when the batch was read)."""

    def personal(self, user_id: int, view: View, index: int) -> Outgoing | None:
        """The user's own frame of event ``index`` (a subject of it), or None: not for them."""


@dataclass(frozen=True)
class StateFrame:
    """Current state for one view's sockets, or for one user's (``user_id`` set)."""

    user_id: int | None
    privileged: bool | None
    frames: Any  # an Encoded: .message(fmt) -> Outgoing


class Encoded(Protocol):
    def message(self, fmt: str) -> Outgoing: ...


class Feed(Protocol):
    async def batch(self, room_id: int, after: int, views: Collection[View],
                    written: Sequence[object] = ()) -> Batch | None:
        """The next events after ``after`` (a bounded batch); None if the room is gone.
        ``written``: this process's own events from seq ``after + 1`` on, none missing, as
        their writer handed them over (``Hub.written``): the feed may render those instead
        of reading them back."""

    async def state(self, room_id: int, changes: Collection[tuple[str, int | None, int]],
                    views: Collection[View]) -> list[StateFrame] | None:
        """Frames of the current state behind coalesced signals ``(name, user_id, item_id)``;
        None if the room is gone."""

    async def room_state(self, room_id: int, views: Collection[View],
                         user_ids: Collection[int]) -> list[StateFrame] | None:
        """What sockets going live are sent since no event log holds it: the state as it
        stands for each of ``views``, and each of ``user_ids``' own (a ``StateFrame`` per
        frame); None if the room is gone."""

    async def standings(self, subscribers: Sequence[Subscriber]) -> list[Standing | None]:
        """Each socket's standing now, in order (a handful of queries for any number)."""

    async def names(self, user_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """``{"id", "name", "kind"}`` per user, for presence and typing frames."""

    async def heads(self, room_ids: Collection[int]) -> dict[int, int]:
        """The last seq of each room that still exists."""

    def to_user(self, user_id: int, frame: dict[str, Any]) -> Encoded | None:
        """A frame addressed to one user's sockets, prepared per format (None: drop it)."""
