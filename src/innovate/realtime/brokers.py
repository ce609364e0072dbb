"""Brokers carry small event notices between processes: ``{"room", "seq"?, "kind", ...}``.

Receivers load whatever they need from the database, so payloads stay tiny and a lost
notice is recovered by the gap check on the next one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

Deliver = Callable[[dict[str, Any]], Awaitable[None]]


class Broker(Protocol):
    name: str

    async def start(self, deliver: Deliver) -> None: ...

    async def publish(self, message: dict[str, Any]) -> None: ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


class MemoryBroker:
    """One process: publish hands the notice straight to this process's hub."""

    name = "memory"

    def __init__(self) -> None:
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def publish(self, message: dict[str, Any]) -> None:
        if self._deliver is not None:
            await self._deliver(message)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._deliver = None


def create_broker(url: str, database_url: str) -> Broker:
    if url == "memory":
        return MemoryBroker()
    raise ValueError(f"unsupported broker {url!r}")
