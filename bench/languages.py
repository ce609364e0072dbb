"""Live frames per language: how many times the server renders a message's HTML fragment for a
room whose browser sockets read one language, then two. A room renders each frame once per
language (and view) in use, not once per socket, so the figure is the number of languages,
whatever the number of sockets. Prints the figures; run with ``python -m bench.languages``.

The app serves on a local port (uvicorn, in this process); ``--sockets`` members each open the
room's HTML live socket with their browser's ``Accept-Language``; the moderator posts
``--messages`` messages through the API; every socket reads every frame; the renders of the
``message.posted`` fragment are counted (the rendering function is wrapped here, in the bench).
It also times the fan-out: from the first post to the last frame on the last socket."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import insert, select
from websockets.asyncio.client import ClientConnection, connect

from bench.common import serve_in_process
from innovate.accounts.models import User
from innovate.accounts.tokens import create_token
from innovate.app import create_app, open_resources
from innovate.db import utcnow
from innovate.live import feed
from innovate.rooms import service
from innovate.rooms.models import Membership
from innovate.settings import load_settings

SCENARIOS = {"1 language": ("en",), "2 languages": ("en", "de")}


async def _read(ws: ClientConnection, wanted: int) -> None:
    seen = 0
    while seen < wanted:
        frame = orjson.loads(await ws.recv())
        if frame.get("kind") == "message.posted":
            seen += 1


async def scenario(base: str, slug: str, tokens: list[str], moderator_token: str, languages: tuple[str, ...],
                   messages: int, renders: Counter[str]) -> tuple[float, float]:
    """(renders per message, seconds from the first post to the last frame read)."""
    sockets = [await connect(f"ws://{base}/rooms/{slug}/live?format=html", compression=None, max_size=None,
                             additional_headers={"Authorization": f"Bearer {token}",
                                                 "Accept-Language": languages[i % len(languages)]})
               for i, token in enumerate(tokens)]
    try:
        renders.clear()
        readers = [asyncio.create_task(_read(ws, messages)) for ws in sockets]
        started = time.perf_counter()
        async with httpx.AsyncClient(base_url=f"http://{base}", timeout=60,
                                     headers={"Authorization": f"Bearer {moderator_token}"}) as http:
            for n in range(messages):
                (await http.post(f"/api/v1/rooms/{slug}/messages", json={"body": f"message {n}"})).raise_for_status()
        await asyncio.wait_for(asyncio.gather(*readers), 120)
        return renders["message.posted"] / messages, time.perf_counter() - started
    finally:
        for ws in sockets:
            await ws.close()


async def main(sockets: int, messages: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="innovate-bench-"))
    settings = load_settings(database_url=f"sqlite:///{data}/bench.db", data_dir=data, secret_key="b" * 40,
                             posts_per_minute=100_000)
    resources = await open_resources(settings)
    async with resources.db.begin() as db:
        now = utcnow()
        await db.execute(insert(User), [{"email": f"m{i}@example.com", "name": f"Member {i}", "kind": "employee",
                                         "is_admin": False, "is_moderator": i == 0, "is_active": True,
                                         "created_at": now} for i in range(sockets + 1)])
        users = list((await db.execute(select(User).order_by(User.id))).scalars())
    moderator, members = users[0], users[1:]
    room = await service.create_room(resources, moderator, {"slug": "languages", "title": "Languages", "phase": "open"})
    async with resources.db.begin() as db:
        await db.execute(insert(Membership), [{"room_id": room.id, "user_id": m.id, "role": "member", "state": "active",
                                               "votes_spent": 0, "approved_posts": 0, "joined_at": now}
                                              for m in members])
    tokens = [(await create_token(resources, member))[1] for member in members]
    moderator_token = (await create_token(resources, moderator))[1]

    renders: Counter[str] = Counter()
    real = feed.render_event_html

    def counting(templates: Any, frame: dict[str, Any], viewer: Any) -> str:
        renders[frame["kind"]] += 1
        return real(templates, frame, viewer)

    feed.render_event_html = counting
    base, server, serving = await serve_in_process(create_app(settings, resources=resources))
    try:
        print(f"{sockets} HTML sockets in one room, {messages} messages each scenario")
        for name, languages in SCENARIOS.items():
            per_message, seconds = await scenario(base, room.slug, tokens, moderator_token, languages, messages,
                                                  renders)
            print(f"  {name} ({', '.join(languages)}): {per_message:.2f} fragment renders per message "
                  f"(once per socket would be {sockets}); {messages} messages to every socket in {seconds:.2f} s")
    finally:
        server.should_exit = True
        await serving
        await resources.engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--messages", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.sockets, args.messages))
