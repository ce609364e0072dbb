"""Dates, numbers and relative times in the active locale and time zone, through Babel.

The same functions are the templates' filters (``{{ idea.created_at | datetime }}``,
``{{ count | number }}``, ``{{ closes_at | relative }}``, ``{{ at | timetag }}``), so pages,
live frames and mails format alike. A naive datetime is taken as UTC (the database's).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

from babel import Locale, dates, numbers
from markupsafe import Markup

from innovate.i18n import current_zone, formatting_locale

Width = Literal["full", "long", "medium", "short"]


Moment = datetime | str  # an ISO 8601 string as the API's frames carry them, or a datetime


def _aware(value: Moment) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_WIDTHS = ("full", "long", "medium", "short")


def format_datetime(value: Moment | None, format: Width | str = "medium") -> str:
    """A date of ``format``'s width with the time to the minute (CLDR's medium and long times
    show seconds, which no page needs), joined as the locale joins them; or a CLDR pattern."""
    if value is None or value == "":
        return ""
    locale = formatting_locale()
    if format not in _WIDTHS:
        return dates.format_datetime(_aware(value), format, tzinfo=current_zone(), locale=locale)
    moment = _aware(value).astimezone(current_zone())
    pattern = str(Locale.parse(locale).datetime_formats[format])
    return pattern.replace("{1}", dates.format_date(moment.date(), format, locale=locale)).replace(
        "{0}", dates.format_time(moment, "short", tzinfo=current_zone(), locale=locale))


def format_date(value: date | Moment | None, format: Width | str = "medium") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime | str):
        value = _aware(value).astimezone(current_zone()).date()
    return dates.format_date(value, format, locale=formatting_locale())


def format_time(value: Moment | None, format: Width | str = "short") -> str:
    if value is None or value == "":
        return ""
    return dates.format_time(_aware(value), format, tzinfo=current_zone(), locale=formatting_locale())


def format_relative(value: Moment | None, now: datetime | None = None) -> str:
    """``in 3 days``, ``vor 2 Stunden``: how far ``value`` is from now."""
    if value is None or value == "":
        return ""
    delta: timedelta = _aware(value) - (now or datetime.now(UTC))
    return dates.format_timedelta(delta, add_direction=True, threshold=1, locale=formatting_locale())


def format_number(value: float | int | None) -> str:
    if value is None:
        return ""
    return numbers.format_decimal(value, locale=formatting_locale())


def format_percent(value: float | None, format: str | None = None) -> str:
    """``value`` is a fraction: 0.25 is 25 %."""
    if value is None:
        return ""
    return numbers.format_percent(value, format, locale=formatting_locale())


def timetag(value: Moment | None, format: Width | str = "medium") -> Markup:
    """A ``<time>`` element: the machine-readable instant, shown in the reader's locale and zone."""
    if value is None or value == "":
        return Markup("")
    return Markup('<time datetime="{}">{}</time>').format(_aware(value).isoformat(), format_datetime(value, format))


FILTERS = {
    "datetime": format_datetime,
    "date": format_date,
    "time": format_time,
    "relative": format_relative,
    "number": format_number,
    "percent": format_percent,
    "timetag": timetag,
}
