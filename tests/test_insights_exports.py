"""Exports: columns and row counts per kind and format, what they hide, and a 100k-message
room exported in bounded memory (both databases)."""

from __future__ import annotations

import csv
import io
import tracemalloc
from typing import Any

import httpx
import orjson
from sqlalchemy import bindparam, func, select, text

from innovate.audit import AuditEntry
from innovate.db import UTCDateTime
from innovate.insights import exports
from innovate.resources import Resources
from tests.insights_world import DAY1, World, build_world

ROWS = 100_000
MEMORY_BOUND = 30 * 1024 * 1024


def read_csv(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body)))


async def download(http: httpx.AsyncClient, slug: str, name: str) -> httpx.Response:
    response = await http.get(f"/api/v1/rooms/{slug}/export/{name}")
    assert response.status_code == 200, response.text[:300]
    return response


async def audit_count(resources: Resources, w: World) -> int:
    async with resources.db() as db:
        return int((await db.execute(select(func.count()).where(AuditEntry.room_id == w.room.id))).scalar_one())


async def test_columns_and_row_counts(resources: Resources, make_user: Any, sign_in: Any) -> None:
    w = await build_world(resources, make_user)
    hanna = await sign_in(w.people["hanna"])
    slug = w.room.slug
    expected_rows = {"ideas": 3, "votes": 4, "messages": 7, "audit": await audit_count(resources, w)}
    for kind, count in expected_rows.items():
        response = await download(hanna, slug, f"{kind}.csv")
        assert response.headers["content-type"].startswith("text/csv")
        assert f'filename="{slug}-{kind}-' in response.headers["content-disposition"]
        rows = read_csv(response.text)
        columns = tuple(rows[0])
        assert columns == (exports.EXPORTS[kind].columns if kind != "audit" else exports.csv_columns("audit"))
        assert len(rows) == count + 1, kind

        response = await download(hanna, slug, f"{kind}.json")
        assert response.headers["content-type"].startswith("application/json")
        document = orjson.loads(response.content)
        assert set(document) == {"room", "kind", "exported_at", "columns", "items"}
        assert (document["room"], document["kind"]) == (slug, kind)
        assert len(document["items"]) == count, kind
        assert all(list(item) == document["columns"] == list(exports.EXPORTS[kind].columns)
                   for item in document["items"])


async def test_what_exports_show_and_hide(resources: Resources, make_user: Any, sign_in: Any) -> None:
    w = await build_world(resources, make_user)
    hanna = await sign_in(w.people["hanna"])
    slug = w.room.slug
    ideas = {i["title"]: i for i in orjson.loads((await download(hanna, slug, "ideas.json")).content)["items"]}
    # Anonymous stays anonymous, even for the moderator who downloads it.
    assert (ideas["Shared depots"]["anonymous"], ideas["Shared depots"]["author_name"],
            ideas["Shared depots"]["author_id"]) == (True, None, None)
    assert ideas["Cargo bikes"]["author_name"] == "Alice"
    cargo = ideas["Cargo bikes"]
    assert (cargo["status"], cargo["status_reason"], cargo["up"], cargo["score"], cargo["voters"]) == (
        "selected", "Pilot in Q3", 2, 2, 2)
    assert (cargo["employee_voters"], cargo["employee_score"], cargo["guest_voters"], cargo["guest_score"]) == (1, 1, 1, 1)
    assert (ideas["Shared depots"]["employee_voters"], ideas["Shared depots"]["employee_score"]) == (1, -1)

    votes = orjson.loads((await download(hanna, slug, "votes.json")).content)["items"]
    by_idea = {v["idea_title"]: v for v in votes if v["idea_title"] != "Cargo bikes"}
    # A vote on an anonymous idea names nobody; elsewhere voters are named, with their kind.
    assert (by_idea["Shared depots"]["voter_id"], by_idea["Shared depots"]["voter_name"]) == (None, None)
    assert by_idea["Shared depots"]["voter_kind"] == "employee" and by_idea["Shared depots"]["value"] == -1
    assert by_idea["Night deliveries"]["voter_name"] == "Alice"
    assert sorted(v["voter_kind"] for v in votes if v["idea_title"] == "Cargo bikes") == ["employee", "guest"]

    rows = read_csv((await download(hanna, slug, "messages.csv")).text)
    header, body = rows[0], {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    erin2 = body[str(w.messages["erin2"].id)]
    assert erin2["body"] == "'=HYPERLINK(\"x\")"  # a spreadsheet must not run it
    assert erin2["author_kind"] == "guest" and body[str(w.messages["carol"].id)]["state"] == "rejected"
    items = orjson.loads((await download(hanna, slug, "messages.json")).content)["items"]
    assert next(i for i in items if i["id"] == w.messages["erin2"].id)["body"] == "=HYPERLINK(\"x\")"
    assert header == list(exports.MESSAGE_COLUMNS)


async def test_secret_ballot_names_no_voter(resources: Resources, make_user: Any, sign_in: Any) -> None:
    w = await build_world(resources, make_user, hide_tallies_until_closed="true")
    hanna = await sign_in(w.people["hanna"])
    votes = orjson.loads((await download(hanna, w.room.slug, "votes.json")).content)["items"]
    assert len(votes) == 4
    assert all(v["voter_id"] is None and v["voter_name"] is None for v in votes)
    assert sorted(v["voter_kind"] for v in votes) == ["employee", "employee", "employee", "guest"]
    rows = read_csv((await download(hanna, w.room.slug, "votes.csv")).text)
    assert all(r[-2:] == ["", ""] for r in rows[1:])


async def seed_messages(resources: Resources, room_id: int, author_id: int, n: int) -> None:
    """A bulk INSERT … SELECT over a recursive counter: this is a read-path test, so the
    rows go straight into the table instead of through the write path."""
    statement = text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :n) "
        "INSERT INTO messages (room_id, author_id, body, body_html, state, pinned, created_at) "
        "SELECT :room, :author, 'Bulk message number ' || i, '<p>Bulk message number ' || i || '</p>', "
        "'visible', false, :at FROM n"
    ).bindparams(bindparam("at", type_=UTCDateTime()))
    async with resources.db.begin() as db:
        await db.execute(statement, {"n": n, "room": room_id, "author": author_id, "at": DAY1})


async def test_100k_messages_stream_in_bounded_memory(resources: Resources, make_user: Any) -> None:
    moderator = await make_user("hr@corp.example", name="Hanna HR", is_moderator=True)
    from tests.factories import make_room

    room = await make_room(resources, moderator, title="A very busy room")
    await seed_messages(resources, room.id, moderator.id, ROWS)
    assert (await exports.bounds(resources, room, "messages"))[0] == ROWS

    lines = chunks = 0
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        async for chunk in exports.encode(resources, room, "messages", "csv"):
            lines += chunk.count(b"\n")
            chunks += 1
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == ROWS + 1
    assert chunks > ROWS // exports.BATCH  # streamed batch by batch, not built whole
    assert peak < MEMORY_BOUND, f"peak traced memory {peak / 2**20:.1f} MiB"
