"""Everything one dashboard shows, gathered in one read session and shaped for the page,
the JSON API and the charts alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.db import utcnow
from innovate.insights import charts, figures
from innovate.insights.interests import TagInfo, followers_not_joined, room_tags
from innovate.rooms.models import IDEA_STATUSES, Room

STATUS_LABELS = {"submitted": "Submitted", "under_review": "Under review", "shortlisted": "Shortlisted",
                 "selected": "Selected", "rejected": "Rejected", "merged": "Merged"}
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

    def funnel_chart(self) -> Markup:
        labels = ["Invited", "Joined", "Active"]
        series = [charts.Series("Employees", [self.funnel.employee.invited, self.funnel.employee.joined,
                                              self.funnel.employee.active]),
                  charts.Series("Guests", [self.funnel.guest.invited, self.funnel.guest.joined,
                                           self.funnel.guest.active])]
        return charts.bars("Participation funnel", charts.describe_bars(labels, series), labels, series)

    def activity_chart(self) -> Markup:
        days = [d.day for d in self.activity]
        series = [charts.Series("Messages", [d.messages for d in self.activity]),
                  charts.Series("Ideas", [d.ideas for d in self.activity]),
                  charts.Series("Votes", [d.votes for d in self.activity])]
        return charts.stacked_columns("Activity per day", charts.describe_days(days, series), days, series)

    def pipeline_chart(self) -> Markup:
        labels = [STATUS_LABELS[s] for s in IDEA_STATUSES]
        series = [charts.Series("Ideas", [self.pipeline[s] for s in IDEA_STATUSES])]
        return charts.bars("Idea pipeline", charts.describe_bars(labels, series), labels, series)


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
    """A human reading of a duration: "42 s", "18 min", "3.5 h", "2.1 days"."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
