"""A fan-out to a big room takes turns with the rest of the process.

Handing one event to thousands of sockets is thousands of ``send()`` calls. If the pump did
them all in one go, a member's next post (the next request on their pipelined connection)
would wait for the whole fan-out, and every event would then leave alone, one ``send()``
per socket each. Taking turns, the next post is stored meanwhile and the following batch
carries it with the ones after it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from innovate.realtime.channel import Channel
from innovate.realtime.connection import Outgoing

SOCKETS = 1000
VIEW = ("json", False)


class Socket:
    """Stands in for a live connection: counts what it is handed."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.view = VIEW
        self.received = 0

    def push(self, seq: int | None, frame: Outgoing) -> None:
        self.received += 1

    def push_run(self, seqs: Any, frames: Any, wire: bytes) -> None:
        self.received += len(frames)


class OneEvent:
    """A batch of one stored event, the same frame for everyone."""

    def __init__(self) -> None:
        self.seqs = [1]
        self.subjects: list[frozenset[int]] = [frozenset()]
        self.created_at = [datetime.now(UTC)]
        self.frame = Outgoing('{"seq": 1}')

    def shared(self, view: Any) -> list[Outgoing]:
        return [self.frame]


async def test_a_fan_out_to_a_thousand_sockets_lets_other_tasks_run_several_times() -> None:
    channel = Channel(host=None, room_id=1, slug="big", head=0)  # type: ignore[arg-type]
    sockets = [Socket(user_id) for user_id in range(1, SOCKETS + 1)]
    for socket in sockets:
        channel.add(socket)  # type: ignore[arg-type]
    turns: list[int] = []  # how many sockets had the event each time the other task ran

    async def other_work() -> None:
        while True:
            turns.append(sum(s.received for s in sockets))
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    try:
        await channel._fan_out(OneEvent())  # type: ignore[arg-type]
    finally:
        other.cancel()
        channel.close()
    assert all(s.received == 1 for s in sockets)
    in_between = {n for n in turns if 0 < n < SOCKETS}
    assert len(in_between) >= 4, f"other work ran in between only at {sorted(in_between)} sockets"
