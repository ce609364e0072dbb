"""Streamed CSV and JSON exports of a room: ideas, votes, messages and the audit log.

Rows are read in batches by keyset paging (``id > last`` ordered by id, ``BATCH`` rows a
query, each batch in its own short session), so a room with 100k messages exports in
bounded memory and no database connection is held while a slow client drains the body.
The export covers the rows that existed when it started: the highest id is fixed first.

What the exports show (the same for the web, the API and the CLI):

- ideas: tallies and status, the votes split by voter kind, and no author for anonymous
  ideas: anonymous stays anonymous in anything that leaves the app;
- votes: one row per vote with the voter's kind; the voter's identity is left out for every
  vote in a room that hides tallies until it closes (a secret ballot stays secret) and for
  every vote on an anonymous idea (the author's own vote would name them). Elsewhere the
  voter's id and name are included;
- messages: every message with its state; deleted messages keep no body;
- audit: the room's audit entries, oldest first, as the moderation feature reads them
  (its CSV, and its API's item shape in JSON);
- reviews: every scorecard with its scores, comments and recommendation; the reviewer is
  named only where the room does not keep its reviewers anonymous.

CSV cells that a spreadsheet would run as a formula (``= + - @``, tab, carriage return) get a
leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import orjson
from sqlalchemy import String, TypeDecorator, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.responses import StreamingResponse

from innovate.accounts.models import User
from innovate.audit import AuditEntry
from innovate.db import utcnow
from innovate.errors import NotFound
from innovate.i18n import lazy_gettext
from innovate.resources import Resources
from innovate.rooms.models import Idea, Message, Room, Vote
from innovate.rooms.reviews.models import Criterion, Review, ReviewSettings

KINDS = ("ideas", "votes", "messages", "audit", "reviews")
FORMATS = ("csv", "json")
BATCH = 2000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}

Row = Sequence[Any]  # values in the order of the export's columns; the id first
Batcher = Callable[[AsyncConnection, Room, int, int, int], Any]


class IsoTime(TypeDecorator[str]):
    """A stored UTC timestamp read straight into ISO 8601 text (``2026-05-01T09:30:00.000000+00:00``).

    Exports only print timestamps, so they skip building datetime objects: SQLite's stored
    text is rearranged, PostgreSQL's value formatted once, with the same result on both.
    """

    impl = String  # no datetime parsing on the way in (PostgreSQL's driver still gives datetimes)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite: "YYYY-MM-DD HH:MM:SS.ffffff", UTC
            return value.replace(" ", "T", 1) + "+00:00"
        return value.astimezone(UTC).isoformat(timespec="microseconds")


def iso(column: Any) -> Any:
    return type_coerce(column, IsoTime())


@dataclass(frozen=True)
class Export:
    """One kind of export: its columns (CSV header, JSON keys), the table it pages through,
    and how to read one batch of rows after a given id."""

    kind: str
    columns: tuple[str, ...]
    model: Any
    read: Batcher


# Ideas ------------------------------------------------------------------------------------


IDEA_COLUMNS = ("id", "title", "status", "status_reason", "state", "anonymous", "author_id", "author_name",
                "author_kind", "merged_into", "up", "down", "score", "voters", "employee_voters", "employee_score",
                "guest_voters", "guest_score", "messages", "created_at")


async def _idea_rows(db: AsyncConnection, room: Room, after: int, upto: int, limit: int) -> list[Row]:
    rows = (await db.execute(
        select(Idea.id, Idea.title, Idea.status, Idea.status_reason, Idea.state, Idea.anonymous, Idea.author_id,
               User.name, User.kind, Idea.merged_into_id, Idea.up, Idea.down, Idea.score, Idea.voters,
               Idea.messages_count, iso(Idea.created_at))
        .outerjoin(User, User.id == Idea.author_id)
        .where(Idea.room_id == room.id, Idea.id > after, Idea.id <= upto).order_by(Idea.id).limit(limit))).all()
    if not rows:
        return []
    ids = [row.id for row in rows]
    split: dict[tuple[int, str], tuple[int, int]] = {}
    for idea_id, kind, voters, score in (await db.execute(
            select(Vote.idea_id, User.kind, func.count(), func.coalesce(func.sum(Vote.value), 0))
            .join(User, User.id == Vote.user_id).where(Vote.idea_id.in_(ids))
            .group_by(Vote.idea_id, User.kind))).all():
        split[(idea_id, kind)] = (int(voters), int(score))
    out: list[Row] = []
    for (idea_id, title, status, reason, state, anonymous, author_id, name, kind, merged_into, up, down, score,
         voters, messages, created_at) in rows:
        named = not anonymous
        employee = split.get((idea_id, "employee"), (0, 0))
        guest = split.get((idea_id, "guest"), (0, 0))
        out.append((idea_id, title, status, reason, state, bool(anonymous), author_id if named else None,
                    name if named else None, kind if named else None, merged_into, up, down, score, voters,
                    employee[0], employee[1], guest[0], guest[1], messages, created_at))
    return out


# Votes ----------------------------------------------------------------------------------------


VOTE_COLUMNS = ("id", "idea_id", "idea_title", "voter_kind", "value", "cast_at", "changed_at", "voter_id",
                "voter_name")


def voter_identities_hidden(room: Room) -> bool:
    """A room that hides tallies until it closes runs a secret ballot: no voter is named."""
    return room.hide_tallies_until_closed


async def _vote_rows(db: AsyncConnection, room: Room, after: int, upto: int, limit: int) -> list[Row]:
    secret = voter_identities_hidden(room)
    rows = (await db.execute(
        select(Vote.id, Vote.idea_id, Idea.title, Idea.anonymous, User.kind, Vote.value, iso(Vote.created_at),
               iso(Vote.updated_at), User.id, User.name)
        .join(Idea, Idea.id == Vote.idea_id).join(User, User.id == Vote.user_id)
        .where(Vote.room_id == room.id, Vote.id > after, Vote.id <= upto).order_by(Vote.id).limit(limit))).all()
    out: list[Row] = []
    for vote_id, idea_id, title, anonymous, kind, value, cast_at, changed_at, user_id, name in rows:
        named = not (secret or anonymous)
        out.append((vote_id, idea_id, title, kind, value, cast_at, changed_at, user_id if named else None,
                    name if named else None))
    return out


# Messages ---------------------------------------------------------------------------------------


MESSAGE_COLUMNS = ("id", "idea_id", "reply_to", "author_id", "author_name", "author_kind", "state", "pinned",
                   "body", "created_at", "edited_at")


async def _message_rows(db: AsyncConnection, room: Room, after: int, upto: int, limit: int) -> list[Row]:
    rows = (await db.execute(
        select(Message.id, Message.idea_id, Message.reply_to_id, Message.author_id, User.name, User.kind,
               Message.state, Message.pinned, Message.body, iso(Message.created_at), iso(Message.edited_at))
        .outerjoin(User, User.id == Message.author_id)
        .where(Message.room_id == room.id, Message.id > after, Message.id <= upto)
        .order_by(Message.id).limit(limit))).all()
    # A deleted message keeps no body: its author took it back.
    return [row if row[6] != "deleted" else (*row[:8], "", *row[9:]) for row in rows]


# Audit ------------------------------------------------------------------------------------------
# The moderation feature owns the audit log's reading (moderation/auditlog.py): the CSV is its
# stream, and JSON items have the shape of its API (``entry_json``).

AUDIT_COLUMNS = ("id", "at", "room", "actor", "action", "target_kind", "target_id", "reason", "data")


async def _audit_rows(db: AsyncConnection, room: Room, after: int, upto: int, limit: int) -> list[Row]:
    from innovate.moderation import auditlog

    async with AsyncSession(bind=db) as session:  # entry_json takes mapped objects
        rows = (await session.execute(
            select(AuditEntry, User).outerjoin(User, User.id == AuditEntry.actor_id)
            .where(AuditEntry.room_id == room.id, AuditEntry.id > after, AuditEntry.id <= upto)
            .order_by(AuditEntry.id).limit(limit))).all()
        items = [auditlog.entry_json(entry, actor, room.slug) for entry, actor in rows]
    return [tuple(item[name] for name in AUDIT_COLUMNS) for item in items]


async def _audit_csv(resources: Resources, room: Room, on_rows: Callable[[int], None] | None) -> AsyncIterator[bytes]:
    from innovate.moderation import auditlog

    header = True
    async for line in auditlog.csv_rows(resources.db, auditlog.AuditFilter(room_id=room.id)):
        yield line.encode()
        if on_rows is not None and not header:
            on_rows(1)
        header = False


# Reviews --------------------------------------------------------------------------------------


REVIEW_COLUMNS = ("id", "idea_id", "idea_title", "reviewer_kind", "state", "weighted", "recommendation", "scores",
                  "comments", "summary", "comments_state", "submitted_at", "updated_at", "reviewer_id",
                  "reviewer_name")


async def _review_rows(db: AsyncConnection, room: Room, after: int, upto: int, limit: int) -> list[Row]:
    """Scores as "Impact 4/5; Feasibility 7/10" and comments as "Impact: ..." by criterion
    name. The reviewer is named only where the room does not keep its reviewers anonymous
    (exports are the moderators', who may see names in the app)."""
    anonymous = (await db.execute(select(ReviewSettings.reviewers_anonymous).where(
        ReviewSettings.room_id == room.id))).scalar_one_or_none()
    named = anonymous is False
    criteria = (await db.execute(select(Criterion.id, Criterion.name, Criterion.scale).where(
        Criterion.room_id == room.id).order_by(Criterion.position, Criterion.id))).all()
    rows = (await db.execute(
        select(Review.id, Review.idea_id, Idea.title, User.kind, Review.state, Review.weighted, Review.recommendation,
               Review.scores, Review.comments, Review.summary, Review.comments_state, iso(Review.submitted_at),
               iso(Review.updated_at), Review.reviewer_id, User.name)
        .join(Idea, Idea.id == Review.idea_id).outerjoin(User, User.id == Review.reviewer_id)
        .where(Review.room_id == room.id, Review.id > after, Review.id <= upto).order_by(Review.id).limit(limit))).all()
    out: list[Row] = []
    for (review_id, idea_id, title, kind, state, weighted, recommendation, scores, comments, summary, comments_state,
         submitted_at, updated_at, reviewer_id, name) in rows:
        marks = "; ".join(f"{c.name} {scores[str(c.id)]}/{c.scale}" for c in criteria if str(c.id) in (scores or {}))
        notes = "\n".join(f"{c.name}: {comments[str(c.id)]}" for c in criteria if str(c.id) in (comments or {}))
        out.append((review_id, idea_id, title, kind, state, weighted, recommendation, marks, notes, summary,
                    comments_state, submitted_at, updated_at, reviewer_id if named else None, name if named else None))
    return out


EXPORTS = {
    "ideas": Export("ideas", IDEA_COLUMNS, Idea, _idea_rows),
    "votes": Export("votes", VOTE_COLUMNS, Vote, _vote_rows),
    "messages": Export("messages", MESSAGE_COLUMNS, Message, _message_rows),
    "audit": Export("audit", AUDIT_COLUMNS, AuditEntry, _audit_rows),
    "reviews": Export("reviews", REVIEW_COLUMNS, Review, _review_rows),
}


def csv_columns(kind: str) -> tuple[str, ...]:
    """The CSV header of an export (the audit CSV is the moderation feature's)."""
    if kind == "audit":
        from innovate.moderation import auditlog

        return tuple(auditlog.CSV_COLUMNS)
    return EXPORTS[kind].columns


def export_for(kind: str, fmt: str) -> Export:
    """The export of this kind in this format; 404 for anything else (they are URLs)."""
    if kind not in EXPORTS or fmt not in FORMATS:
        raise NotFound(lazy_gettext("No such export."))
    return EXPORTS[kind]


# Reading -----------------------------------------------------------------------------------------


async def bounds(resources: Resources, room: Room, kind: str) -> tuple[int, int]:
    """(rows, highest id) of the export as of now: the count drives progress bars, the id
    fixes which rows the export covers."""
    model = EXPORTS[kind].model
    async with resources.db() as db:
        count, top = (await db.execute(
            select(func.count(), func.coalesce(func.max(model.id), 0)).where(model.room_id == room.id))).one()
    return int(count), int(top)


async def batches(resources: Resources, room: Room, kind: str, *, upto: int | None = None,
                  size: int = BATCH) -> AsyncIterator[list[Row]]:
    """The export's rows, ``size`` at a time, each batch read in its own short session."""
    export = EXPORTS[kind]
    if upto is None:
        upto = (await bounds(resources, room, kind))[1]
    after = 0
    while True:
        # Core rows on a plain connection: no ORM identity map to fill for a read-only stream.
        async with resources.engine.connect() as connection:
            rows = await export.read(connection, room, after, upto, size)
        if not rows:
            return
        yield rows
        if len(rows) < size:
            return
        after = rows[-1][0]


# Encoding ----------------------------------------------------------------------------------------


def _text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


# What a CSV cell holds, by the exact type of the value (ints and floats as they are; the
# csv module writes None as an empty cell).
_CELL: dict[type, Callable[[Any], Any]] = {
    str: _text,
    bool: lambda value: "true" if value else "false",
    datetime: lambda value: value.isoformat(),
    dict: lambda value: orjson.dumps(value).decode(),
    list: lambda value: orjson.dumps(value).decode(),
}


def csv_lines(columns: Sequence[str], rows: Sequence[Row], *, header: bool = False) -> str:
    """CSV text for a batch. Conversions run column by column, only on columns that need
    one, which keeps a 100k-row export quick."""
    table = [list(row) for row in rows]
    for j in range(len(columns)):
        convert = next((_CELL.get(type(r[j])) for r in table if r[j] is not None), None)
        if convert is None:
            continue
        for r in table:
            if r[j] is not None:
                r[j] = convert(r[j])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(columns)
    writer.writerows(table)
    return buffer.getvalue()


def json_item(columns: Sequence[str], row: Row) -> bytes:
    return orjson.dumps(dict(zip(columns, row, strict=True)))


async def encode(resources: Resources, room: Room, kind: str, fmt: str, *,
                 on_rows: Callable[[int], None] | None = None) -> AsyncIterator[bytes]:
    """The export as chunks of bytes: CSV with a header line, or one JSON document
    ``{"room", "kind", "exported_at", "columns", "items": [...]}`` with one item per line."""
    export = export_for(kind, fmt)
    if kind == "audit" and fmt == "csv":
        async for chunk in _audit_csv(resources, room, on_rows):
            yield chunk
        return
    _count, upto = await bounds(resources, room, kind)
    if fmt == "csv":
        yield csv_lines(export.columns, [], header=True).encode()
    else:
        head = orjson.dumps({"room": room.slug, "kind": kind, "exported_at": utcnow().isoformat(),
                             "columns": list(export.columns)})
        yield head[:-1] + b', "items": ['
    first = True
    async for rows in batches(resources, room, kind, upto=upto):
        if fmt == "csv":
            yield csv_lines(export.columns, rows).encode()
        else:
            items = b",".join(b"\n" + json_item(export.columns, row) for row in rows)
            yield items if first else b"," + items
            first = False
        if on_rows is not None:
            on_rows(len(rows))
    if fmt == "json":
        yield b"\n]}\n"


def filename(room: Room, kind: str, fmt: str) -> str:
    return f"{room.slug}-{kind}-{utcnow():%Y%m%d-%H%M}.{fmt}"


def export_response(resources: Resources, room: Room, kind: str, fmt: str) -> StreamingResponse:
    """A download of the export, streamed as it is read."""
    export_for(kind, fmt)
    return StreamingResponse(
        encode(resources, room, kind, fmt), media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename(room, kind, fmt)}"',
                 "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def parse_name(name: str) -> tuple[str, str]:
    """``ideas.csv`` → ("ideas", "csv"); 404 for anything that is not an export."""
    kind, dot, fmt = name.partition(".")
    if not dot:
        raise NotFound(lazy_gettext("No such export."))
    export_for(kind, fmt)
    return kind, fmt


# Files (the CLI) ---------------------------------------------------------------------------------


async def room_by_slug(resources: Resources, slug: str) -> Room:
    async with resources.db() as db:
        room = (await db.execute(select(Room).where(Room.slug == slug))).scalar_one_or_none()
    if room is None:
        raise NotFound(f"no room with the address {slug!r}")
    return room


async def write_file(resources: Resources, room: Room, kind: str, fmt: str, out: IO[bytes], *,
                     on_rows: Callable[[int], None] | None = None) -> None:
    """Write the whole export to an open binary file, chunk by chunk (bounded memory)."""
    async for chunk in encode(resources, room, kind, fmt, on_rows=on_rows):
        out.write(chunk)
