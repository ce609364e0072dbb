"""Charts drawn on the server as SVG: no JavaScript, no chart library, nothing from a CDN.

Each chart is an ``<svg role="img">`` named by its ``<title>`` and described by a ``<desc>``
that states the numbers in words; the page puts a data table beside every chart, so the
figures never depend on seeing the picture. Colours come from CSS classes (``series-N``,
see insights.css), which keeps the CSP free of inline styles and follows light/dark mode.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from innovate.i18n import formatting_locale, html_lang
from innovate.i18n import gettext as _
from innovate.i18n.formatting import format_date, format_number

_ids = itertools.count(1)

BAR_HEIGHT = 22
BAR_GAP = 10
LABEL_WIDTH = 150
CHART_WIDTH = 640
VALUE_WIDTH = 56


@dataclass(frozen=True)
class Series:
    """``name`` heads the legend; ``counted`` words one value in a sentence ("3 messages"),
    with the plural the language gives that number."""

    name: str
    values: Sequence[float]
    counted: Callable[[float], str]


def _frame(title: str, desc: str, width: int, height: int, body: str, css_class: str) -> Markup:
    n = next(_ids)
    return Markup(
        f'<svg class="chart {css_class}" role="img" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMinYMin meet" aria-labelledby="chart-{n}-title chart-{n}-desc" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="chart-{n}-title">{escape(title)}</title><desc id="chart-{n}-desc">{escape(desc)}</desc>'
        f"{body}</svg>"
    )


def _number(value: float) -> str:
    """In the reader's locale: 1,234 or 1.234; a fraction to one decimal."""
    return format_number(int(value) if float(value).is_integer() else round(value, 1))


def _text(x: float, y: float, text: str, css: str = "", anchor: str = "start", lang: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    tag = f' lang="{lang}"' if lang else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{cls}{tag}>{escape(text)}</text>'


def _legend(series: Sequence[Series], y: float) -> str:
    parts, x = [], 0.0
    for i, s in enumerate(series):
        parts.append(f'<rect class="series-{i}" x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" rx="2"/>')
        parts.append(_text(x + 17, y, s.name, "legend"))
        x += 30 + 8 * len(s.name)
    return f'<g aria-hidden="true">{"".join(parts)}</g>'


def bars(title: str, desc: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """Horizontal bars: one group per label, one bar per series (a legend when several)."""
    groups = len(labels)
    per_group = len(series) * BAR_HEIGHT + BAR_GAP
    legend = 28 if len(series) > 1 else 0
    height = legend + groups * per_group + 4
    top = max((v for s in series for v in s.values), default=0) or 1
    room = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    parts = [_legend(series, 14)] if legend else []
    for g, label in enumerate(labels):
        y0 = legend + g * per_group
        parts.append(_text(LABEL_WIDTH - 8, y0 + len(series) * BAR_HEIGHT / 2 + 5, label, "label", "end"))
        for i, s in enumerate(series):
            value = s.values[g]
            width = max(room * value / top, 1.5 if value else 0)
            y = y0 + i * BAR_HEIGHT
            parts.append(f'<rect class="series-{i}" x="{LABEL_WIDTH}" y="{y + 2}" width="{width:.1f}" '
                         f'height="{BAR_HEIGHT - 4}" rx="3"/>')
            parts.append(_text(LABEL_WIDTH + width + 6, y + BAR_HEIGHT / 2 + 5, _number(value), "value"))
    return _frame(title, desc, CHART_WIDTH, int(height), "".join(parts), "bars")


def stacked_columns(title: str, desc: str, days: Sequence[date], series: Sequence[Series]) -> Markup:
    """One column per day, the series stacked, with a value axis and a few date ticks."""
    width, height = CHART_WIDTH, 260
    left, right, top_pad, bottom = 44, 8, 34, 30
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    totals = [sum(s.values[i] for s in series) for i in range(len(days))]
    ceiling = _nice_ceiling(max(totals, default=0))
    parts = [_legend(series, 14)]
    for step in range(5):  # horizontal grid lines and their values
        value = ceiling * step / 4
        y = top_pad + plot_h - plot_h * step / 4
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(_text(left - 6, y + 4, _number(value), "tick", "end"))
    n = max(len(days), 1)
    slot = plot_w / n
    bar = max(min(slot * 0.7, 40), 1)
    for i, day in enumerate(days):
        x = left + i * slot + (slot - bar) / 2
        base: float = top_pad + plot_h
        for k, s in enumerate(series):
            value = s.values[i]
            if not value:
                continue
            h = plot_h * value / ceiling
            base -= h
            parts.append(f'<rect class="series-{k}" x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}">'
                         f"<title>{escape(format_date(day))}: {escape(s.counted(value))}</title></rect>")
    for i in _tick_positions(len(days)):
        x = left + i * slot + slot / 2
        # Babel's words are in the formatting locale (English for the pseudo-locale): say so.
        parts.append(_text(x, height - 10, format_date(days[i], "d MMM"), "tick", "middle",
                           html_lang(formatting_locale())))
    parts.append(f'<line class="axis" x1="{left}" x2="{width - right}" y1="{top_pad + plot_h}" '
                 f'y2="{top_pad + plot_h}"/>')
    return _frame(title, desc, width, height, "".join(parts), "columns")


def _nice_ceiling(value: float) -> float:
    """The axis maximum: 1, 2, 2.5 or 5 times a power of ten, at least ``value``, never 0."""
    if value <= 4:
        return 4
    magnitude = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= value:
            return factor * magnitude
    return 10 * magnitude


def _tick_positions(n: int, most: int = 7) -> list[int]:
    if n == 0:
        return []
    if n <= most:
        return list(range(n))
    step = -(-(n - 1) // (most - 1))
    return list(range(0, n, step))


# Descriptions in words --------------------------------------------------------------------------


# A list's parts are joined with the same punctuation in the four languages (CLDR's list
# patterns would put "and" into lists of figures that are not sentences).


def describe_bars(labels: Sequence[str], series: Sequence[Series]) -> str:
    if len(series) == 1:
        items = [_("%(label)s: %(value)s", label=label, value=_number(v))
                 for label, v in zip(labels, series[0].values, strict=True)]
    else:
        items = [_("%(label)s: %(value)s", label=label, value=", ".join(s.counted(s.values[g]) for s in series))
                 for g, label in enumerate(labels)]
    return "; ".join(items) + "."


def describe_days(days: Sequence[date], series: Sequence[Series]) -> str:
    if not days:
        return _("No activity yet.")
    sums = ", ".join(s.counted(sum(s.values)) for s in series)
    busiest = max(range(len(days)), key=lambda i: sum(s.values[i] for s in series))
    return _("From %(start)s to %(end)s: %(sums)s in all. The busiest day was %(busiest)s.",
             start=format_date(days[0]), end=format_date(days[-1]), sums=sums, busiest=format_date(days[busiest]))

