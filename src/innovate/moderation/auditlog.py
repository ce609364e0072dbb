"""Reading the audit trail: filters, pages, CSV. Entries are only ever inserted (by
``rooms.events.audit`` in the transaction of the action they record); nothing here or
anywhere else updates or deletes them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.audit import AuditEntry, current_action, stored_actions
from innovate.errors import Invalid
from innovate.i18n import lazy_gettext
from innovate.rooms.models import Room
from innovate.rooms.serializers import user_ref

CSV_COLUMNS = ("id", "at", "room", "actor_id", "actor", "action", "target_kind", "target_id", "reason", "data")
CSV_BATCH = 1000
TARGET_KINDS = ("user", "message", "idea", "room", "invite")
# Spreadsheets run cells that start like a formula; such text gets a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilter:
    room_id: int | None = None
    action: str | None = None
    actor_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    target: tuple[str, int] | None = None

    def query(self) -> dict[str, str]:
        """The filter as query parameters (for links: the next page, the CSV export)."""
        values: dict[str, str] = {}
        if self.action:
            values["action"] = self.action
        if self.actor_id is not None:
            values["actor"] = str(self.actor_id)
        if self.since is not None:
            values["since"] = self.since.isoformat()
        if self.until is not None:
            values["until"] = self.until.isoformat()
        if self.target is not None:
            values["target"] = f"{self.target[0]}:{self.target[1]}"
        return values


def _moment(raw: str, name: str, *, end_of_day: bool) -> datetime:
    raw = raw.strip()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime.combine(day, time.min, UTC)
            return moment + timedelta(days=1) if end_of_day else moment
        if "T" in raw:  # a "+" in a query string arrives as a space: "…T10:00:00 01:00"
            raw = raw.replace(" ", "+")
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid.field(name, lazy_gettext("expected a date (2026-05-01) or an ISO 8601 date-time")) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_filter(params: Mapping[str, str], *, room_id: int | None = None) -> AuditFilter:
    """Filters from query parameters: ``action`` (``message.hidden``, or ``message`` for all
    message actions), ``actor`` (a user id), ``target`` (``user:12``, ``message:40``...),
    ``since`` and ``until`` (dates are whole days, ``until`` inclusive; date-times exact)."""
    action = (params.get("action") or "").strip() or None
    if action is not None and (len(action) > 64 or not all(c.isalnum() or c in "._" for c in action)):
        raise Invalid.field("action", lazy_gettext("expected an action such as message.hidden, or a group such as message"))
    actor_raw = (params.get("actor") or "").strip()
    if actor_raw and (not actor_raw.isdigit() or len(actor_raw) > 12):
        raise Invalid.field("actor", lazy_gettext("expected a user id"))
    since = _moment(params["since"], "since", end_of_day=False) if params.get("since") else None
    until = _moment(params["until"], "until", end_of_day=True) if params.get("until") else None
    if since is not None and until is not None and since >= until:
        raise Invalid.field("until", lazy_gettext("must be after since"))
    return AuditFilter(room_id=room_id, action=action, actor_id=int(actor_raw) if actor_raw else None,
                       since=since, until=until, target=_target(params.get("target") or ""))


def _target(raw: str) -> tuple[str, int] | None:
    raw = raw.strip()
    if not raw:
        return None
    kind, _, ident = raw.partition(":")
    if kind not in TARGET_KINDS or not ident.isdigit() or len(ident) > 12:
        raise Invalid.field("target", lazy_gettext("expected kind:id, e.g. user:12 or message:40"))
    return kind, int(ident)


def _select(flt: AuditFilter) -> Select[AuditEntry, User, str]:
    stmt = (select(AuditEntry, User, Room.slug)
            .outerjoin(User, User.id == AuditEntry.actor_id)
            .outerjoin(Room, Room.id == AuditEntry.room_id))
    if flt.room_id is not None:
        stmt = stmt.where(AuditEntry.room_id == flt.room_id)
    if flt.action:
        if "." in flt.action:
            stmt = stmt.where(AuditEntry.action.in_(stored_actions(current_action(flt.action))))
        else:
            stmt = stmt.where(AuditEntry.action.like(f"{flt.action}.%"))
    if flt.actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == flt.actor_id)
    if flt.target is not None:
        stmt = stmt.where(AuditEntry.target_kind == flt.target[0], AuditEntry.target_id == flt.target[1])
    if flt.since is not None:
        stmt = stmt.where(AuditEntry.at >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(AuditEntry.at < flt.until)
    return stmt


def entry_json(entry: AuditEntry, actor: User | None, slug: str | None) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "room": slug,
        "actor": user_ref(actor),
        "action": current_action(entry.action),
        "target_kind": entry.target_kind,
        "target_id": entry.target_id,
        "reason": entry.reason,
        "data": entry.data or {},
    }


async def page(db: AsyncSession, flt: AuditFilter, *, before: int | None = None,
               limit: int = 50) -> tuple[list[dict[str, Any]], int | None]:
    """Newest first; (entries, the ``before`` cursor of the next page or None)."""
    stmt = _select(flt)
    if before is not None:
        stmt = stmt.where(AuditEntry.id < before)
    rows = (await db.execute(stmt.order_by(AuditEntry.id.desc()).limit(limit + 1))).all()
    items = [entry_json(e, u, slug) for e, u, slug in rows[:limit]]
    return items, (items[-1]["id"] if len(rows) > limit else None)


async def actors(db: AsyncSession, room_id: int | None) -> list[dict[str, Any]]:
    """People who appear as actors (for the filter's choices)."""
    ids = select(AuditEntry.actor_id).where(AuditEntry.actor_id.is_not(None))
    if room_id is not None:
        ids = ids.where(AuditEntry.room_id == room_id)
    stmt = select(User).where(User.id.in_(ids)).order_by(User.name).limit(500)
    return [{"id": u.id, "name": u.name, "kind": u.kind} for u in (await db.execute(stmt)).scalars()]


async def actions(db: AsyncSession, room_id: int | None) -> list[str]:
    stmt = select(AuditEntry.action).distinct()
    if room_id is not None:
        stmt = stmt.where(AuditEntry.room_id == room_id)
    return sorted({current_action(action) for action in (await db.execute(stmt)).scalars()})


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode() if value else ""
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([_cell(v) for v in values])
    return buffer.getvalue()


async def csv_rows(session_factory: Any, flt: AuditFilter) -> AsyncIterator[str]:
    """The filtered log as CSV, oldest first, read in batches (any size, bounded memory)."""
    yield _csv_line(list(CSV_COLUMNS))
    after = 0
    while True:
        async with session_factory() as db:
            rows = (await db.execute(
                _select(flt).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(CSV_BATCH)
            )).all()
        for entry, actor, slug in rows:
            yield _csv_line([entry.id, entry.at.isoformat(), slug, entry.actor_id, actor.name if actor else None,
                             current_action(entry.action), entry.target_kind, entry.target_id, entry.reason, entry.data or {}])
        if len(rows) < CSV_BATCH:
            return
        after = rows[-1][0].id
