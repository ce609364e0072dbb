"""Everything one dashboard shows, gathered in one read session and shaped for the page,
the JSON API and the charts alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.db import utcnow
from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext, ngettext
from innovate.i18n.formatting import format_number
from innovate.insights import charts, figures
from innovate.insights.interests import TagInfo, followers_not_joined, room_tags
from innovate.rooms.models import IDEA_STATUSES, Room

STATUS_LABELS = {"submitted": lazy_gettext("Submitted"), "under_review": lazy_gettext("Under review"),
                 "shortlisted": lazy_gettext("Shortlisted"), "selected": lazy_gettext("Selected"),
                 "rejected": lazy_gettext("Rejected"), "merged": lazy_gettext("Merged")}


def _people(kind: str) -> Callable[[float], str]:
    if kind == "employee":
        return lambda n: ngettext("%(count)s employee", "%(count)s employees", int(n), count=format_number(n))
    return lambda n: ngettext("%(count)s guest", "%(count)s guests", int(n), count=format_number(n))


def _messages(n: float) -> str:
    return ngettext("%(count)s message", "%(count)s messages", int(n), count=format_number(n))


def _ideas(n: float) -> str:
    return ngettext("%(count)s idea", "%(count)s ideas", int(n), count=format_number(n))


def _votes(n: float) -> str:
    return ngettext("%(count)s vote", "%(count)s votes", int(n), count=format_number(n))
REPORTED_STATUSES = ("selected", "shortlisted")


@dataclass
class Overview:
    """The figures of one room (``room`` set) or of every room (``room`` None)."""

    room: Room | None
    computed_at: datetime
    totals: figures.Totals
    funnel: figures.Funnel
    activity: list[figures.Day]
    pipeline: dict[str, int]
    contributors: figures.Contributors
    response: figures.ResponseTime
    top_ideas: list[figures.IdeaFigure]
    tags: list[TagInfo]
    followers_not_joined: int | None

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "computed_at": self.computed_at.isoformat(),
            "totals": self.totals.json(),
            "funnel": self.funnel.json(),
            "activity": [d.json() for d in self.activity],
            "pipeline": self.pipeline,
            "contributors": self.contributors.json(),
            "guest_response": self.response.json(),
        }
        if self.room is not None:
            data["room"] = self.room.slug
            data["top_ideas"] = [i.json() for i in self.top_ideas]
            data["tags"] = [t.json() for t in self.tags]
            data["followers_not_joined"] = self.followers_not_joined
        return data

    # Charts ---------------------------------------------------------------------------------

    # Drawn when a page shows them, in the reader's language.

    def funnel_chart(self) -> Markup:
        labels = [_("Invited"), _("Joined"), _("Active")]
        series = [charts.Series(_("Employees"), [self.funnel.employee.invited, self.funnel.employee.joined,
                                                 self.funnel.employee.active], _people("employee")),
                  charts.Series(_("Guests"), [self.funnel.guest.invited, self.funnel.guest.joined,
                                              self.funnel.guest.active], _people("guest"))]
        return charts.bars(_("Participation funnel"), charts.describe_bars(labels, series), labels, series)

    def activity_chart(self) -> Markup:
        days = [d.day for d in self.activity]
        series = [charts.Series(_("Messages"), [d.messages for d in self.activity], _messages),
                  charts.Series(_("Ideas"), [d.ideas for d in self.activity], _ideas),
                  charts.Series(_("Votes"), [d.votes for d in self.activity], _votes)]
        return charts.stacked_columns(_("Activity per day"), charts.describe_days(days, series), days, series)

    def pipeline_chart(self) -> Markup:
        labels = [str(STATUS_LABELS[s]) for s in IDEA_STATUSES]
        series = [charts.Series(_("Ideas"), [self.pipeline[s] for s in IDEA_STATUSES], _ideas)]
        return charts.bars(_("Idea pipeline"), charts.describe_bars(labels, series), labels, series)


async def overview(db: AsyncSession, room: Room | None) -> Overview:
    return Overview(
        room=room,
        computed_at=utcnow(),
        totals=await figures.totals(db, room),
        funnel=await figures.funnel(db, room),
        activity=await figures.activity(db, room),
        pipeline=await figures.pipeline(db, room),
        contributors=await figures.contributors(db, room),
        response=await figures.guest_response_time(db, room),
        top_ideas=await figures.top_ideas(db, room) if room is not None else [],
        tags=await room_tags(db, room.id) if room is not None else [],
        followers_not_joined=await followers_not_joined(db, room) if room is not None else None,
    )


def duration(seconds: float | None) -> str:
    """A human reading of a duration: "42 s", "18 min", "3.5 h", "2.1 days" (in the reader's
    language and number format)."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return _("%(value)s s", value=format_number(round(seconds)))
    if seconds < 3600:
        return _("%(value)s min", value=format_number(round(seconds / 60)))
    if seconds < 48 * 3600:
        return _("%(value)s h", value=format_number(round(seconds / 3600, 1)))
    return _("%(value)s days", value=format_number(round(seconds / 86400, 1)))

