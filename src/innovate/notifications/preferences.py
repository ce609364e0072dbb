"""How each person hears of each category: the choices, the defaults, the time zone, and
when their next digest is due.

The defaults are for a busy expert who gives a challenge twenty minutes a week: what waits
for them (a mention, a reply, a comment on their idea, an invitation) comes within minutes,
gathered into one mail; the rest (voting opened, a room closed) waits for one short morning
digest, which is sent only when something happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.i18n import lazy_gettext
from innovate.kinds import Category
from innovate.notifications.models import NotificationSettings

IMMEDIATELY, DAILY, WEEKLY, OFF = "immediately", "daily", "weekly", "off"
CHOICES = (IMMEDIATELY, DAILY, WEEKLY, OFF)
CHOICE_LABELS = {IMMEDIATELY: lazy_gettext("Immediately (gathered for a few minutes)"), DAILY: lazy_gettext("Daily digest"),
                 WEEKLY: lazy_gettext("Weekly digest"), OFF: lazy_gettext("Off")}
CATEGORIES = tuple(c.value for c in Category)
CATEGORY_LABELS = {
    Category.MENTIONS.value: lazy_gettext("Mentions, replies to you, and your held posts reviewed"),
    Category.IDEAS.value: lazy_gettext("Your ideas: comments, threads you took part in, status changes"),
    Category.PHASES.value: lazy_gettext("Room phases: voting opens, a room closes"),
    Category.INVITATIONS.value: lazy_gettext("Invitations and access: added to a room, made moderator, requests to join "
                                             "your community and the answer to yours, guest access ending"),
    Category.PULSES.value: lazy_gettext("HR pulses: short messages and questions from HR"),
}
# Pulses come at once, as they did when they shared the invitations' setting (migration 0017
# gave each person's choice for invitations to pulses too).
DEFAULTS = {Category.MENTIONS.value: IMMEDIATELY, Category.IDEAS.value: IMMEDIATELY,
            Category.PHASES.value: DAILY, Category.INVITATIONS.value: IMMEDIATELY,
            Category.PULSES.value: IMMEDIATELY}
DEFAULT_ZONE = "UTC"
WEEKLY_ON = 0  # Monday morning


@dataclass(frozen=True)
class Preferences:
    choices: dict[str, str]
    time_zone: str | None
    bouncing_address: str | None = None
    bounce_reason: str | None = None
    bounced_at: datetime | None = None
    last_digest_at: datetime | None = None
    next_digest_at: datetime | None = None

    def choice(self, category: str) -> str:
        return self.choices.get(category, DEFAULTS[category])

    @property
    def zone(self) -> ZoneInfo:
        return zone_or_utc(self.time_zone)

    @property
    def digest(self) -> str | None:
        """The digest this person gets: daily if any category is daily, else weekly if any is."""
        chosen = set(self.choices.values())
        return DAILY if DAILY in chosen else WEEKLY if WEEKLY in chosen else None

    def bouncing(self, address: str | None) -> bool:
        return address is not None and self.bouncing_address is not None \
            and self.bouncing_address.lower() == address.lower()


def of_row(row: NotificationSettings | None) -> Preferences:
    if row is None:
        return Preferences(choices=dict(DEFAULTS), time_zone=None)
    return Preferences(choices={c: getattr(row, c) or DEFAULTS[c] for c in CATEGORIES}, time_zone=row.time_zone,
                       bouncing_address=row.bouncing_address, bounce_reason=row.bounce_reason,
                       bounced_at=row.bounced_at, last_digest_at=row.last_digest_at,
                       next_digest_at=row.next_digest_at)


async def load(db: AsyncSession, user_id: int) -> Preferences:
    return of_row(await db.get(NotificationSettings, user_id))


async def load_many(db: AsyncSession, user_ids: list[int]) -> dict[int, Preferences]:
    """Everyone's preferences (the defaults for those without a row), in one query."""
    found: dict[int, Preferences] = {}
    if user_ids:
        rows = (await db.execute(select(NotificationSettings).where(NotificationSettings.user_id.in_(user_ids)))).scalars()
        found = {row.user_id: of_row(row) for row in rows}
    return {uid: found.get(uid) or of_row(None) for uid in user_ids}


def valid_zone(name: str) -> bool:
    if not name or len(name) > 64 or name not in _zones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


def zone_or_utc(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo(DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def next_digest(after: datetime, cadence: str | None, zone: ZoneInfo, hour: int) -> datetime | None:
    """The first local ``hour`` o'clock after ``after`` (on a Monday for weekly), in UTC."""
    if cadence not in (DAILY, WEEKLY):
        return None
    local = after.astimezone(zone)
    candidate = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    if cadence == WEEKLY:
        candidate += timedelta(days=(WEEKLY_ON - candidate.weekday()) % 7)
    # Rebuild from the wall-clock date so a change to or from summer time keeps the hour.
    wall = datetime(candidate.year, candidate.month, candidate.day, hour, tzinfo=zone)
    return wall.astimezone(after.tzinfo)
