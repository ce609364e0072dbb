"""Two `innovate serve` processes (one with two workers) on one PostgreSQL database with the
redis broker, and a real SMTP server: every mail is sent exactly once, also when the
process that was sending stops halfway."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from innovate.accounts.local import create_local_user
from innovate.accounts.tokens import create_token
from innovate.app import open_resources
from innovate.mail.models import OutboxMail
from innovate.rooms import service
from innovate.settings import load_settings
from tests.mail_support import Sink, sink, wait_until
from tests.servers import serve
from tests.test_deploy_cluster import SECRET, RedisServer, pg_database, private_redis

__all__ = ["pg_database", "private_redis", "sink"]
pytestmark = [pytest.mark.timeout(300), pytest.mark.postgres_only]
MAILS = 30


async def test_each_mail_is_sent_exactly_once_by_a_cluster(
        tmp_path: Path, pg_database: str, private_redis: RedisServer, sink: Sink) -> None:
    settings = load_settings(database_url=pg_database, data_dir=tmp_path / "seed", secret_key=SECRET)
    resources = await open_resources(settings)
    try:
        moderator = await create_local_user(resources, "mod@example.com", None, name="Mod", is_moderator=True)
        room = await service.create_room(resources, moderator, {"slug": "mailroom", "title": "Mail room",
                                                                "phase": "open"})
        token = (await create_token(resources, moderator, "cluster"))[1]
        env = {"INNOVATE_DATABASE_URL": pg_database, "INNOVATE_BROKER": private_redis.url,
               "INNOVATE_SECRET_KEY": SECRET, "INNOVATE_PUBLIC_URL": "http://127.0.0.1",
               "INNOVATE_SMTP_URL": f"smtp://127.0.0.1:{sink.port}", "INNOVATE_MAIL_FROM": "Innovate <i@example.com>",
               "INNOVATE_MAIL_POLL_SECONDS": "0.05", "INNOVATE_MAIL_RETRY_SECONDS": "0.2"}
        servers = []
        for name, workers in (("a", "2"), ("b", "1")):
            (tmp_path / name).mkdir()
            servers.append(await asyncio.to_thread(serve, tmp_path / name, {**env, "INNOVATE_DATA_DIR": str(tmp_path / name)},
                                                   "--workers", workers, name=name))
        try:
            headers = {"Authorization": f"Bearer {token}"}
            for n in range(MAILS):
                if n == MAILS // 2:
                    await asyncio.to_thread(servers[0].stop)  # whoever was sending there stops
                server = servers[1] if n >= MAILS // 2 else servers[n % 2]
                async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:
                    created = await http.post(f"/api/v1/rooms/{room.slug}/invites",
                                              json={"email": f"expert{n}@example.org", "send": True})
                    assert created.status_code == 201, created.text

            async def settled() -> list[OutboxMail] | None:
                async with resources.db() as db:
                    rows = list((await db.execute(select(OutboxMail))).scalars())
                return rows if len(rows) == MAILS and all(r.state in ("sent", "failed") for r in rows) else None

            rows = await wait_until(settled, timeout=60, what="every mail sent or given up")
        finally:
            for server in servers:
                await asyncio.to_thread(server.stop)
        received = Counter(m["Message-ID"] for m in sink.mails)
        assert all(n == 1 for n in received.values()), f"sent twice: {[k for k, n in received.items() if n > 1]}"
        in_doubt = [r for r in rows if r.state == "failed"]
        # A mail whose sender stopped while handing it over is given up, never sent again.
        assert all("in doubt" in (r.last_error or "") for r in in_doubt) and len(in_doubt) <= 1
        assert {r.message_id for r in rows if r.state == "sent"} <= set(received)
        assert len(received) >= MAILS - len(in_doubt)
        print(f"\nmails: {MAILS} queued, {len(received)} received, each once; {len(in_doubt)} in doubt")
    finally:
        await resources.broker.close()
        await resources.engine.dispose()
