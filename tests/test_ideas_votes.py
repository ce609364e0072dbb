"""Ideas, votes, ranking, merges and similar-idea search over the JSON API."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from innovate.rooms.models import Idea, Membership, Vote
from tests.factories import join, make_idea, make_room


@pytest.fixture
async def people(make_user):
    return {
        "mod": await make_user("mod@example.com", name="Mo Derator", is_moderator=True),
        "emp": await make_user("emp@example.com", name="Em Ployee"),
        "emp2": await make_user("emp2@example.com", name="Eve Second"),
    }


async def test_submit_idea_validation(people, sign_in, resources) -> None:
    room = await make_room(resources, people["mod"])
    await join(resources, room, people["emp"])
    emp = await sign_in(people["emp"])
    url = f"/api/v1/rooms/{room.slug}/ideas"
    for payload, field in (
        ({"title": "", "body": "b"}, "title"),
        ({"title": "   ", "body": "b"}, "title"),
        ({"title": "t", "body": " \n "}, "body"),
        ({"title": "t" * 201, "body": "b"}, "title"),
        ({"title": "t", "body": "b" * 10_001}, "body"),
        ({"title": 5, "body": "b"}, "title"),
        ({"title": "line\nbreak", "body": "b"}, "title"),
        ({"title": "t", "body": "b", "anonymous": True}, "anonymous"),
        ({"title": "t", "body": "b", "anonymous": "perhaps"}, "anonymous"),
    ):
        response = await emp.post(url, json=payload)
        assert response.status_code == 422, (payload, response.text)
        assert field in response.json()["error"]["fields"]
    assert (await emp.get(url)).json()["items"] == []
    ok = await emp.post(url, json={"title": "<b>Bold</b> idea", "body": "Use <img src=x onerror=alert(1)> **now**"})
    assert ok.status_code == 201
    idea = ok.json()
    assert idea["title"] == "<b>Bold</b> idea"  # stored as text; pages escape it
    assert "<img" not in idea["body_html"] and "&lt;img" in idea["body_html"] and "<strong>now</strong>" in idea["body_html"]
    assert idea["author"]["name"] == "Em Ployee" and idea["status"] == "submitted"
    assert idea["tally"] == {"up": 0, "down": 0, "score": 0, "voters": 0}


async def test_anonymous_ideas_hide_the_author_except_from_moderators(people, sign_in, resources) -> None:
    room = await make_room(resources, people["mod"], allow_anonymous=True)
    await join(resources, room, people["emp"], people["emp2"])
    emp = await sign_in(people["emp"])
    created = await emp.post(f"/api/v1/rooms/{room.slug}/ideas", json={"title": "Quiet", "body": "idea", "anonymous": True})
    idea_id = created.json()["id"]
    other = await sign_in(people["emp2"])
    seen = (await other.get(f"/api/v1/ideas/{idea_id}")).json()
    assert seen["anonymous"] is True and seen["author"] is None
    listed = (await other.get(f"/api/v1/rooms/{room.slug}/ideas")).json()["items"][0]
    assert listed["author"] is None
    mod = await sign_in(people["mod"])
    assert (await mod.get(f"/api/v1/ideas/{idea_id}")).json()["author"]["name"] == "Em Ployee"
    events = (await other.get(f"/api/v1/rooms/{room.slug}/events")).json()["events"]
    submitted = [e for e in events if e["kind"] == "idea.submitted"][0]
    assert submitted["data"]["idea"]["author"] is None and "Em Ployee" not in str(submitted)


async def test_edit_until_voting_and_only_by_author(people, sign_in, resources) -> None:
    room = await make_room(resources, people["mod"])
    await join(resources, room, people["emp"], people["emp2"])
    idea = await make_idea(resources, people["emp"], room)
    emp = await sign_in(people["emp"])
    edited = await emp.patch(f"/api/v1/ideas/{idea.id}", json={"title": "Cargo bikes everywhere"})
    assert edited.status_code == 200 and edited.json()["title"] == "Cargo bikes everywhere"
    assert edited.json()["edited_at"] is not None
    other = await sign_in(people["emp2"])
    assert (await other.patch(f"/api/v1/ideas/{idea.id}", json={"title": "Mine now"})).status_code == 403


async def test_status_changes_with_reason_by_moderators_only(people, sign_in, resources) -> None:
    room = await make_room(resources, people["mod"])
    await join(resources, room, people["emp"])
    idea = await make_idea(resources, people["emp"], room)
    emp = await sign_in(people["emp"])
    assert (await emp.patch(f"/api/v1/ideas/{idea.id}", json={"status": "selected"})).status_code == 403
    mod = await sign_in(people["mod"])
    bad = await mod.patch(f"/api/v1/ideas/{idea.id}", json={"status": "winner"})
    assert bad.status_code == 422 and "status" in bad.json()["error"]["fields"]
    done = await mod.patch(f"/api/v1/ideas/{idea.id}", json={"status": "shortlisted", "reason": "Strong business case"})
    assert done.json()["status"] == "shortlisted"
    seen = (await emp.get(f"/api/v1/ideas/{idea.id}")).json()
    assert seen["status"] == "shortlisted" and seen["status_reason"] == "Strong business case"


@pytest.mark.parametrize(
    ("mode", "good", "bad"),
    [("updown", [1, -1], [0, 2, "up", True]), ("approve", [1], [-1, 2]), ("budget", [1, 2], [0, 3, -1])],
)
async def test_vote_values_per_mode(people, sign_in, resources, mode, good, bad) -> None:
    extra = {"budget": 5, "max_per_idea": 2} if mode == "budget" else {}
    room = await make_room(resources, people["mod"], voting_mode=mode, **extra)
    await join(resources, room, people["emp"])
    idea = await make_idea(resources, people["mod"], room)
    emp = await sign_in(people["emp"])
    for value in bad:
        response = await emp.put(f"/api/v1/ideas/{idea.id}/vote", json={"value": value})
        assert response.status_code == 422 and "value" in response.json()["error"]["fields"], value
    for value in good:
        response = await emp.put(f"/api/v1/ideas/{idea.id}/vote", json={"value": value})
        assert response.status_code == 200 and response.json()["my_vote"] == value
    missing = await emp.put(f"/api/v1/ideas/{idea.id}/vote", json={})
    assert missing.status_code == 422


async def test_votes_are_idempotent_changeable_and_retractable(people, sign_in, resources) -> None:
    room = await make_room(resources, people["mod"])
    await join(resources, room, people["emp"])
    idea = await make_idea(resources, people["mod"], room)
    emp = await sign_in(people["emp"])
    url = f"/api/v1/ideas/{idea.id}/vote"
    for _ in range(3):
        tally = (await emp.put(url, json={"value": 1})).json()["tally"]
    assert tally == {"up": 1, "down": 0, "score": 1, "voters": 1}
    assert (await emp.put(url, json={"value": -1})).json()["tally"] == {"up": 0, "down": 1, "score": -1, "voters": 1}
    gone = (await emp.delete(url)).json()
    assert gone["tally"] == {"up": 0, "down": 0, "score": 0, "voters": 0} and gone["my_vote"] is None
    assert (await emp.delete(url)).status_code == 200  # retracting twice is harmless


async def test_budget_never_exceeded_under_50_parallel_votes(people, sign_in, resources) -> None:
    room = await make_room(resources, people["mod"], voting_mode="budget", budget=5, max_per_idea=1)
    await join(resources, room, people["emp"])
    ideas = [await make_idea(resources, people["mod"], room, title=f"Idea {i}") for i in range(50)]
    emp = await sign_in(people["emp"])
    responses = await asyncio.gather(*(emp.put(f"/api/v1/ideas/{i.id}/vote", json={"value": 1}) for i in ideas))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 5 and statuses.count(409) == 45, statuses
    async with resources.db() as db:
        spent = (await db.execute(select(Membership.votes_spent).where(
            Membership.room_id == room.id, Membership.user_id == people["emp"].id))).scalar_one()
        dots = (await db.execute(select(func.sum(Vote.value)).where(Vote.user_id == people["emp"].id))).scalar_one()
        tallied = (await db.execute(select(func.sum(Idea.score)).where(Idea.room_id == room.id))).scalar_one()
    assert spent == dots == tallied == 5
    room_view = (await emp.get(f"/api/v1/rooms/{room.slug}")).json()
    assert room_view["my_budget_left"] == 0


async def test_200_members_voting_in_parallel_count_exactly(people, resources, make_user, app) -> None:
    import httpx

    from innovate.accounts.tokens import create_token

    room = await make_room(resources, people["mod"])
    idea = await make_idea(resources, people["mod"], room)
    voters = [await make_user(f"voter{i}@example.com") for i in range(200)]
    await join(resources, room, *voters)
    tokens = [(await create_token(resources, v))[1] for v in voters]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        responses = await asyncio.gather(*(
            http.put(f"/api/v1/ideas/{idea.id}/vote", json={"value": 1}, headers={"Authorization": f"Bearer {t}"})
            for t in tokens
        ))
    assert [r.status_code for r in responses].count(200) == 200
    async with resources.db() as db:
        fresh = await db.get(Idea, idea.id)
        count = (await db.execute(select(func.count()).select_from(Vote).where(Vote.idea_id == idea.id))).scalar_one()
    assert (fresh.up, fresh.voters, fresh.score, count) == (200, 200, 200, 200)


async def test_sorts_and_stable_cursors(people, sign_in, resources, make_user) -> None:
    room = await make_room(resources, people["mod"])
    members = [await make_user(f"m{i}@example.com") for i in range(4)]
    await join(resources, room, *members)
    ideas = [await make_idea(resources, people["mod"], room, title=f"Idea {i}") for i in range(7)]
    from innovate.rooms.discussion.service import post_message
    from innovate.rooms.ideas.votes import cast_vote

    for member in members:  # idea 3: 4 up; idea 5: 3 up 1 down; idea 1: 1 up
        await cast_vote(resources, member, ideas[3].id, 1)
    for member, value in zip(members, (1, 1, 1, -1), strict=True):
        await cast_vote(resources, member, ideas[5].id, value)
    await cast_vote(resources, members[0], ideas[1].id, 1)
    for _ in range(3):
        await post_message(resources, members[1], room.slug, {"body": "thoughts", "idea_id": ideas[6].id})
    mod = await sign_in(people["mod"])

    async def walk(sort: str) -> list[int]:
        seen, cursor = [], None
        while True:
            params = {"sort": sort, "limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await mod.get(f"/api/v1/rooms/{room.slug}/ideas", params=params)).json()
            seen += [i["id"] for i in page["items"]]
            cursor = page.get("next_cursor")
            if not cursor:
                return seen

    top = await walk("top")
    assert top[:3] == [ideas[3].id, ideas[5].id, ideas[1].id] and sorted(top) == sorted(i.id for i in ideas)
    assert await walk("new") == [i.id for i in reversed(ideas)]
    assert (await walk("discussed"))[0] == ideas[6].id
    trending = await walk("trending")
    assert sorted(trending) == sorted(i.id for i in ideas) and len(set(trending)) == 7
    bad = await mod.get(f"/api/v1/rooms/{room.slug}/ideas", params={"sort": "random"})
    assert bad.status_code == 422
    forged = await mod.get(f"/api/v1/rooms/{room.slug}/ideas", params={"cursor": "not-a-cursor"})
    assert forged.status_code == 422 and "cursor" in forged.json()["error"]["fields"]


async def test_hidden_tallies_are_hidden_until_closed(people, sign_in, resources) -> None:
    room = await make_room(resources, people["mod"], hide_tallies_until_closed=True)
    await join(resources, room, people["emp"])
    idea = await make_idea(resources, people["mod"], room)
    emp = await sign_in(people["emp"])
    voted = await emp.put(f"/api/v1/ideas/{idea.id}/vote", json={"value": 1})
    assert voted.json()["tally"] is None and voted.json()["my_vote"] == 1
    mod = await sign_in(people["mod"])
    assert (await mod.get(f"/api/v1/ideas/{idea.id}")).json()["tally"]["up"] == 1
    await mod.patch(f"/api/v1/rooms/{room.slug}", json={"phase": "closed"})
    assert (await emp.get(f"/api/v1/ideas/{idea.id}")).json()["tally"]["up"] == 1


async def test_merge_moves_votes_once_and_links_the_thread(people, sign_in, resources, make_user) -> None:
    room = await make_room(resources, people["mod"], voting_mode="budget", budget=10, max_per_idea=3)
    both, only_b = await make_user("both@example.com"), await make_user("onlyb@example.com")
    await join(resources, room, both, only_b)
    a = await make_idea(resources, people["mod"], room, title="Car sharing pool")
    b = await make_idea(resources, people["mod"], room, title="Shared company cars")
    from innovate.rooms.discussion.service import post_message
    from innovate.rooms.ideas.votes import cast_vote

    await cast_vote(resources, both, a.id, 2)
    await cast_vote(resources, both, b.id, 3)
    await cast_vote(resources, only_b, b.id, 1)
    await post_message(resources, only_b, room.slug, {"body": "on B", "idea_id": b.id})
    mod = await sign_in(people["mod"])
    assert (await mod.patch(f"/api/v1/ideas/{b.id}", json={"into": b.id})).status_code == 422
    merged = await mod.patch(f"/api/v1/ideas/{b.id}", json={"into": a.id, "reason": "duplicate"})
    assert merged.status_code == 200
    assert merged.json()["status"] == "merged" and merged.json()["merged_into"] == a.id
    assert merged.json()["merged_into_title"] == "Car sharing pool"
    target = (await mod.get(f"/api/v1/ideas/{a.id}")).json()
    assert target["tally"] == {"up": 3, "down": 0, "score": 3, "voters": 2}
    assert target["messages_count"] == 1
    thread = (await mod.get(f"/api/v1/rooms/{room.slug}/messages", params={"idea": a.id})).json()["items"]
    assert [m["body"] for m in thread] == ["on B"]
    async with resources.db() as db:
        spent = dict((await db.execute(select(Membership.user_id, Membership.votes_spent)
                                       .where(Membership.room_id == room.id))).all())
    assert spent[both.id] == 2 and spent[only_b.id] == 1  # the dropped duplicate's dots came back
    voter = await sign_in(only_b)
    late = await voter.put(f"/api/v1/ideas/{b.id}/vote", json={"value": 1})
    assert late.status_code == 409 and "merged" in late.json()["error"]["message"]
    again = await mod.patch(f"/api/v1/ideas/{b.id}", json={"into": a.id})
    assert again.status_code == 409
    # The timeline (replay and live frames) names the idea it went into, not just its number.
    events = (await mod.get(f"/api/v1/rooms/{room.slug}/events", params={"after": 0})).json()["events"]
    (frame,) = [e for e in events if e["kind"] == "idea.merged"]
    assert frame["data"]["idea"]["merged_into_title"] == "Car sharing pool"


async def test_similar_ideas_search(people, sign_in, resources) -> None:
    room = await make_room(resources, people["mod"])
    other_room = await make_room(resources, people["mod"])
    await make_idea(resources, people["mod"], room, title="Electric delivery vans", body="Swap diesel vans")
    await make_idea(resources, people["mod"], room, title="Four-day work week", body="Wellbeing")
    await make_idea(resources, people["mod"], other_room, title="Electric scooters", body="Elsewhere")
    mod = await sign_in(people["mod"])
    url = f"/api/v1/rooms/{room.slug}/ideas/similar"
    found = (await mod.get(url, params={"q": "electric vans"})).json()["items"]
    assert [i["title"] for i in found] == ["Electric delivery vans"]
    assert (await mod.get(url, params={"q": "el"})).json()["items"] == []
    assert (await mod.get(url, params={"q": '"; DROP TABLE ideas; -- *'})).status_code == 200
    prefix = (await mod.get(url, params={"q": "electri"})).json()["items"]
    assert [i["title"] for i in prefix] == ["Electric delivery vans"]


@pytest.mark.parametrize("mode", ["updown", "approve", "budget"])
async def test_the_rank_kept_by_sql_matches_the_ranking_function(resources, mode: str) -> None:
    """Votes keep ``rank_top`` in the tally UPDATE itself; it must agree with top_rank."""
    from sqlalchemy import literal, select

    from innovate.rooms.ideas.ranking import top_rank, top_rank_sql

    cases = [(0, 0), (1, 0), (0, 1), (3, 1), (10, 10), (250, 3), (7, 93)]
    async with resources.db() as db:
        for up, down in cases:
            score = up - down if mode == "updown" else up
            got = (await db.execute(select(top_rank_sql(mode, literal(up), literal(down), literal(score))))).scalar_one()
            assert got == pytest.approx(top_rank(mode, up, down, score), abs=1e-12), (up, down)


async def test_parallel_changes_and_retractions_of_one_member_keep_budget_and_tallies_exact(
        people, sign_in, resources) -> None:
    """A member's own votes racing each other (new votes, changed values, retractions on the same
    ideas): whatever order they land in, the dots spent, the votes stored and the tallies agree,
    and the budget is never passed."""
    room = await make_room(resources, people["mod"], voting_mode="budget", budget=6, max_per_idea=3)
    await join(resources, room, people["emp"])
    ideas = [await make_idea(resources, people["mod"], room, title=f"Idea {i}") for i in range(3)]
    emp = await sign_in(people["emp"])
    calls = []
    for round_ in range(12):
        for n, idea in enumerate(ideas):
            url = f"/api/v1/ideas/{idea.id}/vote"
            if (round_ + n) % 4 == 3:
                calls.append(emp.delete(url))
            else:
                calls.append(emp.put(url, json={"value": 1 + (round_ + n) % 3}))
    responses = await asyncio.gather(*calls)
    assert {r.status_code for r in responses} <= {200, 409}, [r.text for r in responses if r.status_code >= 400]
    async with resources.db() as db:
        spent = (await db.execute(select(Membership.votes_spent).where(
            Membership.room_id == room.id, Membership.user_id == people["emp"].id))).scalar_one()
        votes = (await db.execute(select(Vote.idea_id, Vote.value).where(Vote.user_id == people["emp"].id))).all()
        tallies = (await db.execute(select(Idea.id, Idea.score, Idea.up, Idea.voters).where(
            Idea.room_id == room.id))).all()
    by_idea = dict(votes)
    assert spent == sum(by_idea.values()) <= 6
    for idea_id, score, up, voters in tallies:
        assert (score, up, voters) == (by_idea.get(idea_id, 0), by_idea.get(idea_id, 0), int(idea_id in by_idea))
    left = (await emp.get(f"/api/v1/rooms/{room.slug}")).json()["my_budget_left"]
    assert left == 6 - spent


@pytest.mark.parametrize("mode", ["updown", "approve", "budget"])
async def test_the_rank_kept_by_votes_matches_the_ranking_function(people, resources, make_user, mode: str) -> None:
    """The vote path keeps ``rank_top`` in step (on PostgreSQL inside ``innovate_cast_vote()``):
    after votes for and against it agrees with top_rank."""
    from innovate.rooms.ideas.ranking import top_rank
    from innovate.rooms.ideas.votes import cast_vote

    extra = {"budget": 9, "max_per_idea": 3} if mode == "budget" else {}
    room = await make_room(resources, people["mod"], voting_mode=mode, **extra)
    idea = await make_idea(resources, people["mod"], room)
    voters = [await make_user(f"ranker{i}@example.com") for i in range(7)]
    await join(resources, room, *voters)
    for i, voter in enumerate(voters):
        value = (-1 if i % 3 == 2 else 1) if mode == "updown" else 1 + i % 2 if mode == "budget" else 1
        result = await cast_vote(resources, voter, idea.id, value)
        assert result.idea.rank_top == pytest.approx(
            top_rank(mode, result.idea.up, result.idea.down, result.idea.score), abs=1e-12)
    async with resources.db() as db:
        fresh = await db.get(Idea, idea.id)
    assert fresh is not None
    assert fresh.rank_top == pytest.approx(top_rank(mode, fresh.up, fresh.down, fresh.score), abs=1e-12)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
async def test_own_vote_frames_carry_exactly_the_asked_pairs(people, resources) -> None:
    """The vote.mine frames of a batch: each asked (voter, idea) gets that voter's vote on that
    idea, null where there is none, and nothing for pairs nobody asked about."""
    from innovate.rooms.ideas.votes import cast_vote
    from innovate.rooms.timeline import my_vote_frames

    room = await make_room(resources, people["mod"])
    await join(resources, room, people["emp"], people["emp2"])
    first, second = [await make_idea(resources, people["mod"], room) for _ in range(2)]
    emp, emp2 = people["emp"], people["emp2"]
    await cast_vote(resources, emp, first.id, 1)
    await cast_vote(resources, emp, second.id, -1)
    await cast_vote(resources, emp2, second.id, 1)
    wanted = [(emp.id, first.id), (emp2.id, first.id), (emp2.id, second.id), (emp2.id, second.id)]
    async with resources.db() as db:
        frames = await my_vote_frames(db, room, wanted)
        assert await my_vote_frames(db, room, []) == {}
    assert {pair: frame["data"]["my_vote"] for pair, frame in frames.items()} == {
        (emp.id, first.id): 1, (emp2.id, first.id): None, (emp2.id, second.id): 1}
    assert all(frame["data"]["my_budget_left"] is None and frame["room"] == room.slug for frame in frames.values())


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_the_vote_functions_rate_count_sums_the_windows_buckets_and_drops_the_expired(
        people, resources) -> None:
    """innovate_cast_vote() on PostgreSQL: the attempt's own bucket as its upsert counts it, plus
    the other buckets still inside the window; buckets past it are deleted; over the limit the
    outcome is 'rate' and nothing is cast."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import text

    room = await make_room(resources, people["mod"])
    await join(resources, room, people["emp"])
    idea = await make_idea(resources, people["mod"], room)
    emp = people["emp"]
    key = f"vote:{room.id}:{emp.id}"
    t0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    call = text(
        "SELECT outcome, rate_used, new_voters FROM innovate_cast_vote(:room, :idea, :user, :membership, :value, "
        "'updown', NULL, :key, :limit, :stamp, :cutoff, :now)")
    async with resources.engine.connect() as conn:
        membership = (await conn.execute(select(Membership.id).where(
            Membership.room_id == room.id, Membership.user_id == emp.id))).scalar_one()

        async def cast(value: int, stamp: datetime, cutoff: datetime, limit: int = 10) -> tuple[str, int, int | None]:
            row = (await conn.execute(call, {
                "room": room.id, "idea": idea.id, "user": emp.id, "membership": membership, "value": value,
                "key": key, "limit": limit, "stamp": stamp, "cutoff": cutoff, "now": stamp})).one()
            await conn.commit()
            return row.outcome, row.rate_used, row.new_voters

        assert await cast(1, t0, t0 - timedelta(seconds=65)) == ("ok", 1, 1)
        assert await cast(-1, t0, t0 - timedelta(seconds=65)) == ("ok", 2, 1)
        later = t0 + timedelta(seconds=5)  # the next bucket: the first one still counts
        assert await cast(1, later, later - timedelta(seconds=65)) == ("ok", 3, 1)
        assert (await cast(0, later, later - timedelta(seconds=65), limit=3))[:2] == ("rate", 4)
        assert (await conn.execute(select(func.count()).select_from(Vote).where(Vote.idea_id == idea.id))).scalar_one() == 1
        past = t0 + timedelta(seconds=70)  # the first bucket has left the window: not counted, deleted
        # the refused attempt counted too: its bucket holds two
        assert await cast(0, past, t0 + timedelta(seconds=1)) == ("ok", 3, 0)
        buckets = (await conn.execute(text("SELECT window_start, count FROM rate_counters WHERE key = :key "
                                           "ORDER BY window_start"), {"key": key})).all()
    assert [(stamp, count) for stamp, count in buckets] == [(later, 2), (past, 1)]
