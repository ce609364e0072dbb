"""What the running app owns: settings, the database, templates and the event broker.

The lifespan builds one ``Resources`` and every view, service and socket reaches it as
``request.app.state.resources``; tests build their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from innovate.db import SessionFactory
from innovate.realtime.inflight import WritesInFlight
from innovate.settings import Settings

if TYPE_CHECKING:
    from innovate.realtime.brokers import Broker
    from innovate.realtime.hub import Hub


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    db: SessionFactory
    broker: Broker
    hub: Hub | None = None
    writes: WritesInFlight = field(default_factory=WritesInFlight)
    # Hooks every write transaction runs before commit when it appended room events
    # (innovate.writes.BeforeCommit); the app installs them when it starts.
    before_commit: list[Any] = field(default_factory=list)
    # Called with every notice this process publishes (before the broker takes it) and every
    # notice the broker delivers: what a process remembers and must forget at once listens here
    # (the token cache, innovate.accounts.cache).
    notice_hooks: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
