"""The arithmetic of expert reviews, worked out by hand, and the assignment and submission
rules at scale: weighted means and spread, Spearman against the crowd, 20 parallel submits
of one review, and 300 ideas auto-assigned to 12 reviewers at 3 each."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from innovate.audit import AuditEntry
from innovate.rooms.ideas import service as ideas
from innovate.rooms.ideas.votes import cast_vote
from innovate.rooms.models import Event, Idea
from innovate.rooms.reviews import stats
from innovate.rooms.reviews.models import Assignment, Review
from tests.factories import make_idea
from tests.moderation_support import add_guest
from tests.reviews_support import Panel, assign, build_panel, card


@pytest.fixture
async def panel(resources, make_user, sign_in) -> Panel:
    return await build_panel(resources, make_user, sign_in, voting_mode="approve")


def test_weighted_score_spread_and_spearman_by_hand() -> None:
    scales = {1: stats.Scale(2, 5), 2: stats.Scale(1, 10)}
    # Impact 4 of 5 is 75 points, feasibility 7 of 10 is 66.67: (2 x 75 + 66.67) / 3.
    assert stats.weighted_score({1: 4, 2: 7}, scales) == 72.22
    assert stats.weighted_score({1: 2, 2: 10}, scales) == 50.0
    assert stats.weighted_score({1: 1, 2: 1}, scales) == 0.0
    assert stats.mean([72.22, 50.0]) == 61.11
    spread = stats.spread([72.22, 50.0])
    assert spread is not None and (spread.sd, spread.low, spread.high, spread.disagreement) == (11.11, 50.0, 72.22, False)
    wide = stats.spread([100.0, 0.0])
    assert wide is not None and wide.sd == 50.0 and wide.disagreement
    # Ranks: 1 for the highest, ties share the mean of their places.
    assert stats.ranks([10, 30, 20, 20]) == [4.0, 1.0, 2.5, 2.5]
    # Crowd ranks 1..5, expert ranks 3, 1, 2, 5, 4: d^2 = 4 + 1 + 1 + 1 + 1 = 8,
    # rho = 1 - 6 x 8 / (5 x 24) = 0.6.
    assert stats.spearman([5, 4, 3, 2, 1], [66.67, 100, 83.33, 33.33, 50]) == 0.6
    assert stats.spearman([1, 2, 3], [3, 2, 1]) == -1.0
    assert stats.spearman([1], [1]) is None and stats.spearman([1, 1], [1, 2]) is None


async def test_comparison_of_a_seeded_room(panel, sign_in, resources, make_user) -> None:
    room = panel.room
    extra = [await make_idea(resources, panel.ada, room, title=f"Idea {n}") for n in (4, 5)]
    # Five ideas, the crowd's order by approvals: I1 5, I2 4, I3 3, I4 2, I5 1.
    order = [panel.ada_idea, panel.anon_idea, panel.bob_idea, *extra]
    voters = [await make_user(f"voter{n}@corp.example", name=f"Voter {n}") for n in range(5)]
    for voter in voters:
        await add_guest(resources, room, voter)
    for place, idea in enumerate(order):
        for voter in voters[: 5 - place]:
            await cast_vote(resources, voter, idea.id, 1)
    mod = await sign_in(panel.mod)
    await assign(mod, panel, *((idea, panel.gia) for idea in order))
    gia = await sign_in(panel.gia)
    # The experts' scores: I1 66.67, I2 100, I3 83.33, I4 33.33, I5 50 (ranks 3, 1, 2, 5, 4).
    for idea, impact in zip(order, (3, 5, 4, 1, 2), strict=True):
        response = await gia.put(f"/api/v1/ideas/{idea.id}/review", json=card(panel, impact, 10))
        assert response.status_code == 200, response.text
    seen = (await mod.get(f"/api/v1/rooms/{room.slug}/reviews/comparison")).json()
    assert seen["spearman"] == 0.6
    assert [row["idea"]["id"] for row in seen["ideas"]] == [order[i].id for i in (1, 2, 0, 4, 3)]
    assert [(row["crowd_rank"], row["expert_rank"]) for row in seen["ideas"]] == [
        (2.0, 1.0), (3.0, 2.0), (1.0, 3.0), (5.0, 4.0), (4.0, 5.0)]
    assert seen["disagreements"][0]["idea"]["id"] == panel.ada_idea.id and seen["disagreements"][0]["gap"] == 2.0
    results = (await mod.get(f"/api/v1/rooms/{room.slug}/reviews")).json()
    assert [r["review"]["mean"] for r in results["results"]] == [100.0, 83.33, 66.67, 50.0, 33.33]
    assert results["progress"]["assigned"] == 5 and results["progress"]["submitted"] == 5
    board = (await mod.get(f"/api/v1/rooms/{room.slug}/ideas?sort=expert&limit=2")).json()
    assert [i["id"] for i in board["items"]] == [order[1].id, order[2].id]
    rest = (await mod.get(f"/api/v1/rooms/{room.slug}/ideas?sort=expert&cursor={board['next_cursor']}")).json()
    assert [i["id"] for i in rest["items"]] == [order[i].id for i in (0, 4, 3)]


async def test_disagreement_is_flagged(panel, sign_in) -> None:
    mod = await sign_in(panel.mod)
    await assign(mod, panel, (panel.ada_idea, panel.gia), (panel.ada_idea, panel.bob))
    await (await sign_in(panel.gia)).put(f"/api/v1/ideas/{panel.ada_idea.id}/review", json=card(panel, 5, 10))
    await (await sign_in(panel.bob)).put(f"/api/v1/ideas/{panel.ada_idea.id}/review",
                                         json=card(panel, 1, 1, recommendation="reject"))
    review = (await mod.get(f"/api/v1/ideas/{panel.ada_idea.id}")).json()["review"]
    assert (review["mean"], review["spread"], review["disagreement"]) == (50.0, 50.0, True)


async def test_co_authors_of_merged_ideas_never_review_them(panel, sign_in, resources) -> None:
    await ideas.merge_ideas(resources, panel.mod, panel.bob_idea.id, {"into": panel.ada_idea.id})
    mod = await sign_in(panel.mod)
    refused = await mod.post(f"/api/v1/rooms/{panel.room.slug}/assignments",
                             json={"pairs": [{"idea_id": panel.ada_idea.id, "reviewer_id": panel.bob.id}]})
    assert refused.status_code == 422 and "pairs.0.reviewer_id" in refused.json()["error"]["fields"]
    done = await mod.post(f"/api/v1/rooms/{panel.room.slug}/assignments", json={"auto": {"per_idea": 1}})
    assert done.status_code == 201, done.text
    async with resources.db() as db:
        pairs = set((await db.execute(select(Assignment.idea_id, Assignment.reviewer_id))).all())
    assert (panel.ada_idea.id, panel.bob.id) not in pairs
    assert {idea for idea, _ in pairs} == {panel.ada_idea.id, panel.anon_idea.id}  # the merged idea is not reviewed


async def test_twenty_parallel_submits_leave_one_review(panel, sign_in, resources) -> None:
    mod = await sign_in(panel.mod)
    await assign(mod, panel, (panel.ada_idea, panel.gia))
    gia = await sign_in(panel.gia)
    payloads = [card(panel, 1 + n % 5, 1 + n % 10, summary=f"take {n}") for n in range(20)]
    responses = await asyncio.gather(*(gia.put(f"/api/v1/ideas/{panel.ada_idea.id}/review", json=p)
                                       for p in payloads))
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses if r.status_code != 200]
    async with resources.db() as db:
        rows = list((await db.execute(select(Review).where(Review.idea_id == panel.ada_idea.id))).scalars())
        events = (await db.execute(select(func.count()).select_from(Event).where(
            Event.room_id == panel.room.id, Event.kind == "review.submitted"))).scalar_one()
        audited = (await db.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "review.submitted"))).scalar_one()
    assert len(rows) == 1 and events == 20 and audited == 20
    stored = rows[0]
    # One whole write won, not a mixture: its summary, scores and weighted score belong together.
    take = int(stored.summary.split()[1])
    assert stored.scores == payloads[take]["scores"] and stored.state == "submitted"
    impact, feasibility = (payloads[take]["scores"][str(c["id"])] for c in panel.criteria)
    assert stored.weighted == stats.weighted_score(
        {1: impact, 2: feasibility}, {1: stats.Scale(2, 5), 2: stats.Scale(1, 10)})
    summary = (await mod.get(f"/api/v1/ideas/{panel.ada_idea.id}")).json()["review"]
    assert (summary["submitted"], summary["assigned"], summary["mean"]) == (1, 1, stored.weighted)
    progress = (await mod.get(f"/api/v1/rooms/{panel.room.slug}/reviews")).json()["progress"]
    assert (progress["submitted"], progress["assigned"]) == (1, 1)


async def test_auto_assignment_of_300_ideas_to_12_reviewers(resources, make_user, sign_in) -> None:
    from tests.factories import make_room

    mod = await make_user("mod@corp.example", name="Mo Derator", is_moderator=True)
    room = await make_room(resources, mod, visibility="invite-only")
    reviewers = [await make_user(f"r{n}@expert{n % 3}.example", name=f"Reviewer {n}",
                                 kind="guest" if n % 2 else "employee") for n in range(12)]
    authors = [await make_user(f"a{n}@corp.example", name=f"Author {n}") for n in range(5)]
    for user in (*reviewers, *authors):
        await add_guest(resources, room, user)
    # 300 ideas; the first four reviewers wrote 15 each, so they may not review those.
    writers = [reviewers[n % 4] if n < 60 else authors[n % 5] for n in range(300)]
    for n, writer in enumerate(writers):
        await ideas.submit_idea(resources, writer, room.slug, {"title": f"Idea {n}", "body": "b"})
    http = await sign_in(mod)
    for reviewer in reviewers:
        assert (await http.post(f"/api/v1/rooms/{room.slug}/reviewers", json={"user_id": reviewer.id})).status_code == 201
    done = await http.post(f"/api/v1/rooms/{room.slug}/assignments", json={"auto": {"per_idea": 3}})
    assert done.status_code == 201, done.text
    assert done.json()["created"] == 900
    async with resources.db() as db:
        authored = dict((await db.execute(select(Idea.id, Idea.author_id).where(Idea.room_id == room.id))).all())
        pairs = (await db.execute(select(Assignment.idea_id, Assignment.reviewer_id)
                                  .where(Assignment.room_id == room.id))).all()
    per_idea: dict[int, set[int]] = {}
    for idea_id, reviewer_id in pairs:
        per_idea.setdefault(idea_id, set()).add(reviewer_id)
    assert len(per_idea) == 300 and all(len(r) == 3 for r in per_idea.values())
    assert all(authored[idea_id] not in r for idea_id, r in per_idea.items())
    loads = [sum(1 for _, r in pairs if r == reviewer.id) for reviewer in reviewers]
    assert sum(loads) == 900 and max(loads) - min(loads) <= 1, loads
