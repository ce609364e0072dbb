"""CPU per batch of the live pump's read: the room, the events after its head, what they point at.

    taskset -c 0 python -m bench.pump_read [--events 1] [--calls 1000] [--repeats 5]

Prepares a room as the benchmark does (``innovate serve`` on SQLite, members with tokens),
has members post ``--events`` messages, stops the server, and then calls
``RoomFeed.batch()`` in this process for the batch of those posts, ``--calls`` times per
repeat, for the members' view in JSON. It prints the process's CPU time per call of each
repeat and their median. SQLite's own work is in the figure (it runs in this thread), but
it is a few microseconds of it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from bench.innovate_target import InnovateTarget, api


def prepare(events: int) -> InnovateTarget:
    target = InnovateTarget(host="127.0.0.1", cpu="0")
    target.start()
    slug, members = target.options["slug"], target.options["member_tokens"]
    for i in range(events):
        api(target.port, "POST", f"/rooms/{slug}/messages", members[i % len(members)], {"body": f"Message {i}"})
    target.stop_server_keep_data()
    return target


async def measure(target: InnovateTarget, events: int, calls: int, repeats: int) -> list[float]:
    from sqlalchemy import select

    from innovate.db import create_engine, create_session_factory
    from innovate.live.feed import RoomFeed
    from innovate.rooms.models import Room
    from innovate.web import create_templates

    engine = create_engine(f"sqlite:///{target.data_dir}/innovate.db")
    try:
        factory = create_session_factory(engine)
        async with factory() as db:
            room = (await db.execute(select(Room).where(Room.slug == target.options["slug"]))).scalar_one()
        feed = RoomFeed(factory, create_templates())
        head, views = room.last_seq - events, [("json", False)]
        batch = await feed.batch(room.id, head, views)
        assert batch is not None and len(batch.seqs) == events, "the batch is the posts"
        for _ in range(200):  # compiled statements and caches settle
            await feed.batch(room.id, head, views)
        per_call = []
        for _ in range(repeats):
            started = time.process_time()
            for _ in range(calls):
                await feed.batch(room.id, head, views)
            per_call.append((time.process_time() - started) / calls * 1e6)
        return per_call
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    target = prepare(args.events)
    try:
        per_call = asyncio.run(measure(target, args.events, args.calls, args.repeats))
    finally:
        target.stop()
    print(f"RoomFeed.batch() of {args.events} posted message(s): "
          f"{', '.join(f'{us:.0f}' for us in per_call)} µs of CPU per call; median {statistics.median(per_call):.0f}")


if __name__ == "__main__":
    main()
