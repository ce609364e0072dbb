"""The dashboard's figures on a seeded room match counts made by hand (both databases).

The world (tests/insights_world.py), counted on paper:

- employees: Hanna (moderator), Alice, Bob, Carol joined; Dan did not. Alice posted, Bob
  only voted, Carol's one message was rejected → invited 5 (all active employees: the room
  is open to employees), joined 3 (moderators are not participants), active 2;
- guests: Erin, Finn, Hugo, Gus joined through links; Erin posted and voted, Finn posted an
  anonymous idea, Hugo posted, Gus did nothing → joined 4, active 3; unused places on links
  not revoked: 1 + 0 + 2 = 3 → invited 7;
- day 1: 3 messages, 2 ideas; day 2: 3 messages (Carol's rejected one not counted), 1 idea;
  day 3: 4 votes;
- replies to guests: Erin's first post answered after 10 min, Finn's anonymous idea after
  30 min (a message in its thread), Hugo's never → median 20 min, 2 answered, 1 not.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import update

from innovate.accounts.models import User
from innovate.db import utcnow
from innovate.insights import figures
from innovate.insights.overview import overview
from innovate.resources import Resources
from tests.insights_world import DAY1, World, build_world, close


async def world(resources: Resources, make_user: Any) -> World:
    return await build_world(resources, make_user)


async def test_room_figures_match_hand_counts(resources: Resources, make_user: Any) -> None:
    w = await world(resources, make_user)
    async with resources.db() as db:
        room = w.room
        funnel = await figures.funnel(db, room)
        assert (funnel.employee.invited, funnel.employee.joined, funnel.employee.active) == (5, 3, 2)
        assert (funnel.guest.invited, funnel.guest.joined, funnel.guest.active) == (7, 4, 3)
        assert funnel.json()["all"] == {"invited": 12, "joined": 7, "active": 5}

        totals = await figures.totals(db, room)
        assert totals.json() == {"messages": 6, "ideas": 3, "anonymous_ideas": 1, "votes": 4, "voters": 3,
                                 "participants": 7, "moderators": 1}

        days = await figures.activity(db, room)
        assert [d.json() for d in days] == [
            {"day": "2025-03-03", "messages": 3, "ideas": 2, "votes": 0},
            {"day": "2025-03-04", "messages": 3, "ideas": 1, "votes": 0},
            {"day": "2025-03-05", "messages": 0, "ideas": 0, "votes": 4},
        ]

        assert await figures.pipeline(db, room) == {"submitted": 0, "under_review": 1, "shortlisted": 1,
                                                      "selected": 1, "rejected": 0, "merged": 0}

        top = await figures.top_ideas(db, room)
        assert [(i.title, i.status, i.up, i.down, i.score, i.voters) for i in top] == [
            ("Cargo bikes", "selected", 2, 0, 2, 2),
            ("Night deliveries", "shortlisted", 1, 0, 1, 1),
            ("Shared depots", "under_review", 0, 1, -1, 1),
        ]
        assert (top[0].author, top[0].author_kind) == ("Alice", "employee")
        assert (top[2].anonymous, top[2].author, top[2].author_kind) == (True, None, None)

        people = await figures.contributors(db, room)
        assert [(c.name, c.messages, c.ideas, c.votes, c.moderator) for c in people.employee] == [
            ("Alice", 2, 1, 1, False), ("Hanna HR", 1, 1, 0, True), ("Bob", 0, 0, 2, False)]
        # Finn's only post is anonymous: counting it for him would name him.
        assert [(c.name, c.messages, c.ideas, c.votes) for c in people.guest] == [("Erin", 2, 0, 1), ("Hugo", 1, 0, 0)]
        assert (people.employee_count, people.guest_count) == (3, 2)

        response = await figures.guest_response_time(db, room)
        assert (response.median_seconds, response.answered, response.unanswered) == (1200.0, 2, 1)


async def test_site_figures_count_people_once_across_rooms(resources: Resources, make_user: Any) -> None:
    w = await world(resources, make_user)
    hanna, alice = w.people["hanna"], w.people["alice"]
    from tests.factories import join, make_message, make_room

    other = await make_room(resources, hanna, title="Second room")
    await join(resources, other, alice)
    await make_message(resources, alice, other, "Also here")
    async with resources.db() as db:
        funnel = await figures.funnel(db, None)
        # Alice is in two rooms and counts once; no invite link of the second room.
        assert (funnel.employee.invited, funnel.employee.joined, funnel.employee.active) == (5, 3, 2)
        assert (funnel.guest.invited, funnel.guest.joined, funnel.guest.active) == (7, 4, 3)
        totals = await figures.totals(db, None)
        assert (totals.messages, totals.ideas, totals.votes) == (7, 3, 4)
        people = await figures.contributors(db, None)
        assert people.employee[0].name == "Alice" and people.employee[0].messages == 3
        assert all(not c.moderator for c in people.employee)
        response = await figures.guest_response_time(db, None)
        assert (response.median_seconds, response.answered, response.unanswered) == (1200.0, 2, 1)

        days = await figures.activity(db, None)
        assert len(days) == figures.SITE_ACTIVITY_DAYS and days[-1].day == utcnow().date()
        assert sum(d.messages for d in days) == 1  # the seeded days lie outside the last 90

        summaries = {s.slug: s for s in await figures.room_summaries(db)}
        first = summaries[w.room.slug]
        assert (first.participants, first.active, first.ideas, first.messages, first.votes, first.selected,
                first.leading_idea) == (7, 5, 3, 6, 4, 1, "Cargo bikes")
        assert (summaries[other.slug].participants, summaries[other.slug].messages) == (1, 1)

        total, guests = await figures.active_guests(db)
        assert total == 4 and {g.name for g in guests} == {"Erin", "Finn", "Gus", "Hugo"}
        # Most recent message first (Erin 12:00, Hugo 11:00 on day 2), then those who never posted one.
        assert [g.name for g in guests] == ["Erin", "Hugo", "Finn", "Gus"]


async def test_site_activity_window_and_expiring_invites(resources: Resources, make_user: Any) -> None:
    w = await world(resources, make_user)
    async with resources.db() as db:
        days = await figures.activity(db, None, since=DAY1, until=DAY1 + timedelta(days=2))
        assert [d.day for d in days] == [date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 5)]
        assert [d.votes for d in days] == [0, 0, 4]
        # The links last 7 days by default: the three usable ones (the revoked link and the
        # used-up one-place link are not) end within 8 days, none within a day.
        assert len(await figures.expiring_invites(db, within=timedelta(days=8))) == 2
        assert await figures.expiring_invites(db, within=timedelta(days=1)) == []
    async with resources.db.begin() as db:
        from innovate.auth.models import Invite

        await db.execute(update(Invite).where(Invite.room_id == w.room.id)
                         .values(expires_at=utcnow() + timedelta(hours=5)))
    async with resources.db() as db:
        soon = await figures.expiring_invites(db, within=timedelta(days=1))
        assert sorted((i.uses, i.max_uses) for i in soon) == [(0, 2), (3, 4)]
        assert all(i.room_slug == w.room.slug and i.created_by == "Hanna HR" for i in soon)


async def test_deactivated_people_and_closed_rooms(resources: Resources, make_user: Any) -> None:
    w = await world(resources, make_user)
    await close(resources, w)
    async with resources.db.begin() as db:
        await db.execute(update(User).where(User.id == w.people["dan"].id).values(is_active=False))
        await db.execute(update(User).where(User.id == w.people["carol"].id).values(is_active=False))
    async with resources.db() as db:
        funnel = await figures.funnel(db, w.room)
        # Dan left the audience; Carol joined, so she stays counted as invited.
        assert (funnel.employee.invited, funnel.employee.joined) == (4, 3)
        steps = await figures.phase_timeline(db, w.room)
        assert [(s.previous, s.phase, s.by) for s in steps] == [
            (None, "open", "Hanna HR"), ("open", "voting", "Hanna HR"), ("voting", "closed", "Hanna HR")]
        everything = await overview(db, w.room)
        data = everything.json()
        assert set(data) >= {"totals", "funnel", "activity", "pipeline", "contributors", "guest_response",
                             "top_ideas", "tags", "followers_not_joined"}
        assert data["guest_response"] == {"median_seconds": 1200.0, "answered": 2, "unanswered": 1}
