"""What one request costs in statements: a message edit checks the caller's access to the
room once, and loads the message once (the service's answer is what the page shows)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import event

from innovate.live.feed import RoomFeed
from innovate.rooms.models import Idea, Room
from innovate.web import create_templates
from tests.factories import join, make_idea, make_message, make_room
from tests.sql_log import recorded_statements

HX = {"HX-Request": "true"}
# The caller's standing in a room comes from one join wherever it is loaded (rooms/access.py).
ROOM_ACCESS = re.compile(r"JOIN memberships ON memberships\.room_id = rooms\.id AND memberships\.user_id =", re.I)
MESSAGE_LOAD = re.compile(r"^SELECT .* FROM messages\b", re.I | re.S)


@contextmanager
def driver_queries(resources: Any) -> Iterator[list[str]]:
    """Every query the driver (asyncpg) sends on a pooled connection, whoever sends it: through
    SQLAlchemy, on the driver's connection directly, or BEGIN and COMMIT."""
    seen: list[str] = []

    def log(query: Any) -> None:
        seen.append(" ".join(query.query.split()))

    def checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
        record.driver_connection.add_query_logger(log)

    def checkin(_dbapi: Any, record: Any) -> None:
        if record is not None and record.driver_connection is not None:
            record.driver_connection.remove_query_logger(log)

    pool = resources.engine.sync_engine.pool
    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)
    try:
        yield seen
    finally:
        event.remove(pool, "checkout", checkout)
        event.remove(pool, "checkin", checkin)


def _room_access(seen: list[str]) -> list[str]:
    return [s for s in seen if ROOM_ACCESS.search(s)]


def _message_loads(seen: list[str]) -> list[str]:
    return [s for s in seen if MESSAGE_LOAD.match(s) and "messages.id =" in s]


async def test_a_message_edit_checks_room_access_once(make_user, resources, sign_in) -> None:
    moderator = await make_user("mod@example.com", name="Mo Derator", is_moderator=True)
    author = await make_user("author@example.com", name="Ann Author")
    room = await make_room(resources, moderator, slug="green", title="Green logistics")
    await join(resources, room, author)
    message = await make_message(resources, author, room, "Hello everyone")
    http = await sign_in(author)
    for name, headers in (("htmx", HX), ("plain", {})):
        with recorded_statements(resources) as seen:
            edited = await http.post(f"/rooms/green/messages/{message.id}/edit", data={"body": f"Hello, {name}"},
                                     headers=headers)
        assert edited.status_code == (200 if headers else 303)
        listing = "\n".join(seen)
        assert len(_room_access(seen)) == 1, f"{name}: the room's access was checked more than once:\n{listing}"
        assert len(_message_loads(seen)) == 1, f"{name}: the message was loaded more than once:\n{listing}"


async def test_a_vote_is_two_statements_outside_a_transaction_on_postgresql(make_user, resources, sign_in) -> None:
    """The vote's checks read once, and everything it changes (rate count, budget, the vote,
    the tally) is one statement, atomic on its own: on PostgreSQL both run on the driver's
    connection with no BEGIN and COMMIT around them. SQLite runs the statements one by one in
    a write transaction."""
    moderator = await make_user("mod@example.com", name="Mo Derator", is_moderator=True)
    voter = await make_user("voter@example.com", name="Vi Voter")
    room = await make_room(resources, moderator, slug="votes", title="Votes", votes_in_open=True)
    await join(resources, room, voter)
    idea = await make_idea(resources, moderator, room)
    http = await sign_in(voter)
    for value in (1, -1):
        recorder: AbstractContextManager[list[str]] = (
            nullcontext([]) if resources.settings.is_sqlite else driver_queries(resources))
        with recorder as seen:
            voted = await http.put(f"/api/v1/ideas/{idea.id}/vote", json={"value": value})
            # asyncpg hands each logged query to its loggers with call_soon: one turn of the
            # loop runs every one scheduled before the answer came back.
            await asyncio.sleep(0)
        assert voted.status_code == 200, voted.text
        assert voted.json()["my_vote"] == value
        if resources.settings.is_sqlite:
            continue
        listing = "\n".join(seen)
        vote_queries = [sql for sql in seen if "access_tokens" not in sql and "FROM sessions" not in sql]
        assert len(vote_queries) == 2, listing
        assert "FROM ideas JOIN rooms" in vote_queries[0] and "innovate_cast_vote" in vote_queries[1], listing
        assert not any(sql.upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")) for sql in seen), listing
    async with resources.db() as db:
        stored = await db.get(Idea, idea.id)
    assert stored is not None and stored.score == -1


async def test_the_pump_reads_a_batch_of_posts_back_in_three_statements(make_user, resources) -> None:
    """The room, the events after the head, and the messages with their authors: a batch of
    posts needs no statement of its own for the authors."""
    moderator = await make_user("mod@example.com", name="Mo Derator", is_moderator=True)
    author = await make_user("author@example.com", name="Ann Author")
    room = await make_room(resources, moderator, slug="pump", title="Pump")
    await join(resources, room, author)
    async with resources.db() as db:
        stored = await db.get(Room, room.id)
        assert stored is not None
        head = stored.last_seq
    await make_message(resources, author, room, "First")
    await make_message(resources, moderator, room, "Second")
    feed = RoomFeed(resources.db, create_templates())
    with recorded_statements(resources) as seen:
        batch = await feed.batch(room.id, head, [("json", False), ("json", True)])
    assert batch is not None
    reads = [sql for sql in seen if sql.upper().startswith("SELECT")]
    assert len(reads) == 3, "\n".join(reads)
    authors = [frame["data"]["message"]["author"]["name"] for frame in batch.frames[False]]
    assert authors == ["Ann Author", "Mo Derator"]
