"""A phase change in a room of 5,000 members: the time to write their 5,000 notifications
(one bulk upsert in the change's transaction), and mails per second from the outbox to a
local aiosmtpd sink. Prints the figures; run with ``python -m bench.notifications``."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from aiosmtpd.smtp import SMTP
from sqlalchemy import func, insert, select

from innovate.accounts.models import User
from innovate.app import open_resources
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


async def main(members: int, mails: int, database_url: str) -> None:
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
    started = time.perf_counter()
    await service.change_phase(resources, moderator, room.slug, "voting")
    elapsed = time.perf_counter() - started
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
    args = parser.parse_args()
    asyncio.run(main(args.members, args.mails, args.database_url))
