"""A seeded challenge for the insights tests, built through the real write path, with the
clock of each post then set by hand so days and reply times can be counted on paper.

People: a moderator (Hanna), employees Alice, Bob, Carol (joined, only a rejected message)
and Dan (never joined); guests Erin, Finn, Gus (joined, silent) and Hugo, who came through
invite links. Four invite links: 4 places (3 used), 1 place (1 used), 2 places (unused) and
a revoked one with 5 places. See the hand counts in test_insights_figures.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from innovate.accounts.hashing import token_hash
from innovate.accounts.models import User
from innovate.auth.invites import (
    InviteRequest,
    Joiner,
    create_invite,
    redeem_invite,
    revoke_invite,
)
from innovate.resources import Resources
from innovate.rooms import service
from innovate.rooms.discussion import service as messages
from innovate.rooms.ideas import service as ideas
from innovate.rooms.ideas import votes
from innovate.rooms.models import Idea, Message, Room, Vote
from tests.factories import join, make_room

DAY1 = datetime(2025, 3, 3, tzinfo=UTC)
DAY2 = datetime(2025, 3, 4, tzinfo=UTC)
DAY3 = datetime(2025, 3, 5, tzinfo=UTC)


def at(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day.replace(hour=hour, minute=minute)


@dataclass
class World:
    room: Room
    people: dict[str, User]
    ideas: dict[str, Idea]
    messages: dict[str, Message]


async def _invite(resources: Resources, moderator: User, room: Room, max_uses: int) -> tuple[int, str]:
    invite, url = await create_invite(resources, moderator, room.slug, InviteRequest(max_uses=max_uses))
    return invite.id, token_hash(url.rstrip("/").rsplit("/", 1)[1])


async def _set_time(resources: Resources, model: Any, row_id: int, when: datetime) -> None:
    async with resources.db.begin() as db:
        await db.execute(update(model).where(model.id == row_id).values(created_at=when))


async def build_world(resources: Resources, make_user: Any, **room_fields: Any) -> World:
    hanna = await make_user("hanna@corp.example", name="Hanna HR", is_moderator=True)
    alice = await make_user("alice@corp.example", name="Alice")
    bob = await make_user("bob@corp.example", name="Bob")
    carol = await make_user("carol@corp.example", name="Carol")
    dan = await make_user("dan@corp.example", name="Dan")
    erin = await make_user("erin@expert.example", name="Erin", kind="guest")
    finn = await make_user("finn@expert.example", name="Finn", kind="guest")
    gus = await make_user("gus@expert.example", name="Gus", kind="guest")
    hugo = await make_user("hugo@expert.example", name="Hugo", kind="guest")
    fields = {"title": "Greener logistics", "allow_anonymous": "true", **room_fields}
    room = await make_room(resources, hanna, **fields)
    if room.visibility == "employees":
        await join(resources, room, alice, bob, carol)
    else:  # invite-only: employees come through a link too (all its places used)
        _staff, staff_hash = await _invite(resources, hanna, room, 3)
        for employee in (alice, bob, carol):
            await redeem_invite(resources, staff_hash, Joiner(user=employee))

    four, four_hash = await _invite(resources, hanna, room, 4)
    _one, one_hash = await _invite(resources, hanna, room, 1)
    await _invite(resources, hanna, room, 2)
    revoked, _ = await _invite(resources, hanna, room, 5)
    await revoke_invite(resources, hanna, room.slug, revoked)
    for guest, digest in ((erin, four_hash), (finn, four_hash), (hugo, four_hash), (gus, one_hash)):
        await redeem_invite(resources, digest, Joiner(user=guest))
    assert four

    slug = room.slug
    m_alice = await messages.post_message(resources, alice, slug, {"body": "Morning all"})
    i_cargo = await ideas.submit_idea(resources, alice, slug, {"title": "Cargo bikes", "body": "Last mile."})
    i_night = await ideas.submit_idea(resources, hanna, slug, {"title": "Night deliveries", "body": "Less traffic."})
    m_erin = await messages.post_message(resources, erin, slug, {"body": "Have you looked at rail?"})
    m_hanna = await messages.post_message(resources, hanna, slug, {"body": "Good point!", "reply_to": m_erin.id})
    i_depot = await ideas.submit_idea(resources, finn, slug, {"title": "Shared depots", "body": "Pool them.",
                                                               "anonymous": True})
    m_thread = await messages.post_message(resources, alice, slug, {"body": "Which cities?", "idea_id": i_depot.id})
    m_hugo = await messages.post_message(resources, hugo, slug, {"body": "Hello from Hugo"})
    m_erin2 = await messages.post_message(resources, erin, slug, {"body": "=HYPERLINK(\"x\")"})
    m_carol = await messages.post_message(resources, carol, slug, {"body": "Off topic"})
    async with resources.db.begin() as db:  # a moderator refused it in pre-moderation
        await db.execute(update(Message).where(Message.id == m_carol.id).values(state="rejected"))

    await votes.cast_vote(resources, alice, i_night.id, 1)
    await votes.cast_vote(resources, bob, i_cargo.id, 1)
    await votes.cast_vote(resources, bob, i_depot.id, -1)
    await votes.cast_vote(resources, erin, i_cargo.id, 1)

    times = [
        (Message, m_alice.id, at(DAY1, 9)), (Idea, i_cargo.id, at(DAY1, 9, 30)), (Idea, i_night.id, at(DAY1, 9, 45)),
        (Message, m_erin.id, at(DAY1, 10)), (Message, m_hanna.id, at(DAY1, 10, 10)),
        (Idea, i_depot.id, at(DAY2, 9)), (Message, m_thread.id, at(DAY2, 9, 30)),
        (Message, m_hugo.id, at(DAY2, 11)), (Message, m_erin2.id, at(DAY2, 12)), (Message, m_carol.id, at(DAY2, 13)),
    ]
    for model, row_id, when in times:
        await _set_time(resources, model, row_id, when)
    async with resources.db.begin() as db:
        await db.execute(update(Vote).where(Vote.room_id == room.id).values(created_at=at(DAY3, 8)))

    await ideas.set_idea_status(resources, hanna, i_cargo.id, {"status": "selected", "reason": "Pilot in Q3"})
    await ideas.set_idea_status(resources, hanna, i_night.id, {"status": "shortlisted", "reason": "Needs a cost study"})
    await ideas.set_idea_status(resources, hanna, i_depot.id, {"status": "under_review"})
    people = {"hanna": hanna, "alice": alice, "bob": bob, "carol": carol, "dan": dan, "erin": erin, "finn": finn,
              "gus": gus, "hugo": hugo}
    return World(room=room, people=people,
                 ideas={"cargo": i_cargo, "night": i_night, "depot": i_depot},
                 messages={"alice": m_alice, "erin": m_erin, "hanna": m_hanna, "thread": m_thread, "hugo": m_hugo,
                           "erin2": m_erin2, "carol": m_carol})


async def close(resources: Resources, world: World) -> None:
    for phase in ("voting", "closed"):
        await service.change_phase(resources, world.people["hanna"], world.room.slug, phase)
