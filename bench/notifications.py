"""A phase change in a room of 5,000 members: the time to write their 5,000 notifications
(one bulk upsert in the change's transaction), fan-out latency during that burst, and mails
per second from the outbox to a local aiosmtpd sink. Prints the figures; run with
``python -m bench.notifications``.

Fan-out latency during a notification burst: the app serves on a local port (uvicorn, in this
process), one member's live socket listens to the room, and the moderator posts a message every
``--post-interval`` seconds through the API; each message's delay from its POST to its frame on
the socket is recorded before the phase change and while it runs (its transaction writes the
5,000 notifications; the process serves everything else meanwhile). Server and client share one
event loop, so the figures include the client's own work and show how far the burst holds back
the room's fan-out, not the absolute latency of a deployment."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiosmtpd.smtp import SMTP
from sqlalchemy import func, insert, select
from websockets.asyncio.client import connect

from bench.common import serve_in_process
from innovate.accounts.models import User
from innovate.accounts.tokens import create_token
from innovate.app import create_app, open_resources
from innovate.db import utcnow
from innovate.mail import sender
from innovate.mail.outbox import Draft, enqueue
from innovate.notifications import service as notifications
from innovate.notifications.models import Notification
from innovate.rooms import service
from innovate.rooms.models import Membership
from innovate.settings import load_settings


class Sink:
    count = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        Sink.count += 1
        return "250 OK"


def _summary(values: list[float]) -> str:
    if not values:
        return "no messages"
    ordered = sorted(values)
    return (f"{len(values)} messages, p50 {statistics.median(ordered):.1f} ms, "
            f"p99 {ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]:.1f} ms, max {ordered[-1]:.1f} ms")


async def _user(resources: Any, user_id: int) -> User:
    async with resources.db() as db:
        user = await db.get(User, user_id)
    assert user is not None
    return user


async def main(members: int, mails: int, database_url: str, before_posts: int = 40,
               post_interval: float = 0.05) -> None:
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(lambda: SMTP(Sink()), host="127.0.0.1", port=0)
    port = smtp.sockets[0].getsockname()[1]
    data = Path(tempfile.mkdtemp(prefix="innovate-bench-"))
    settings = load_settings(database_url=database_url or f"sqlite:///{data}/bench.db", data_dir=data,
                             secret_key="b" * 40, smtp_url=f"smtp://127.0.0.1:{port}", mail_from="b@example.com")
    resources = await open_resources(settings)
    notifications.install(resources)
    async with resources.db.begin() as db:
        now = utcnow()
        await db.execute(insert(User), [{"email": f"m{i}@example.com", "name": f"Member {i}", "kind": "employee",
                                         "is_admin": False, "is_moderator": i == 0, "is_active": True,
                                         "created_at": now} for i in range(members)])
        ids = list((await db.execute(select(User.id).order_by(User.id))).scalars())
    async with resources.db() as db:
        moderator = await db.get(User, ids[0])
    assert moderator is not None
    room = await service.create_room(resources, moderator, {"slug": "bench", "title": "Bench", "phase": "open"})
    async with resources.db.begin() as db:
        await db.execute(insert(Membership), [{"room_id": room.id, "user_id": uid, "role": "member", "state": "active",
                                               "votes_spent": 0, "approved_posts": 0, "joined_at": now}
                                              for uid in ids[1:]])
    base, server, serving = await serve_in_process(create_app(settings, resources=resources))
    _, listener_token = await create_token(resources, (await _user(resources, ids[1])))
    _, moderator_token = await create_token(resources, moderator)
    delays: dict[str, list[float]] = {"before": [], "during": []}
    sent: dict[int, tuple[float, str]] = {}
    phase = {"now": "before"}
    async with connect(f"ws://{base}/rooms/{room.slug}/live?format=json", compression=None,
                       additional_headers={"Authorization": f"Bearer {listener_token}"}) as ws, \
            httpx.AsyncClient(base_url=f"http://{base}", timeout=60,
                              headers={"Authorization": f"Bearer {moderator_token}"}) as http:
        async def listen() -> None:
            async for raw in ws:
                frame = orjson.loads(raw)
                if frame.get("kind") == "message.posted":
                    n = int(frame["data"]["message"]["body"].split()[-1])
                    at, window = sent[n]
                    delays[window].append((time.perf_counter() - at) * 1000)

        async def post(n: int) -> None:
            sent[n] = (time.perf_counter(), phase["now"])
            response = await http.post(f"/api/v1/rooms/{room.slug}/messages", json={"body": f"marker {n}"})
            response.raise_for_status()

        listening = asyncio.create_task(listen())
        posts: list[asyncio.Task[None]] = []
        for n in range(before_posts):
            posts.append(asyncio.create_task(post(n)))
            await asyncio.sleep(post_interval)
        phase["now"] = "during"
        started = time.perf_counter()
        change = asyncio.create_task(service.change_phase(resources, moderator, room.slug, "voting"))
        n = before_posts
        while not change.done():
            posts.append(asyncio.create_task(post(n)))
            n += 1
            await asyncio.sleep(post_interval)
        await change
        elapsed = time.perf_counter() - started
        await asyncio.gather(*posts)
        deadline = time.monotonic() + 30
        while sum(map(len, delays.values())) < n and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        listening.cancel()
    server.should_exit = True
    await serving
    for window, values in delays.items():
        print(f"fan-out latency {window} the phase change: {_summary(values)}")
    async with resources.db() as db:
        made = (await db.execute(select(func.count()).select_from(Notification))).scalar_one()
    print(f"phase change with {made} notifications: {elapsed * 1000:.0f} ms "
          f"({resources.engine.dialect.name}; the whole request: checks, the event, the bulk upsert, the frames)")
    async with resources.db.begin() as db:
        for i in range(mails):
            await enqueue(db, settings, Draft(to_address=f"m{i}@example.org", subject="Bench", body_text="x" * 400,
                                              body_html="<p>" + "x" * 400 + "</p>", purpose="invite"))
    started = time.perf_counter()
    outcome = await sender.send_due(resources)
    elapsed = time.perf_counter() - started
    print(f"mails: {outcome.sent} sent to a local aiosmtpd sink in {elapsed:.2f} s = {outcome.sent / elapsed:.0f}/s "
          f"(one SMTP connection per batch of {sender.BATCH}, three committed steps per mail)")
    smtp.close()
    await resources.engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--before-posts", type=int, default=40, help="messages posted before the phase change")
    parser.add_argument("--post-interval", type=float, default=0.05, help="seconds between the moderator's posts")
    args = parser.parse_args()
    asyncio.run(main(args.members, args.mails, args.database_url, args.before_posts, args.post_interval))
