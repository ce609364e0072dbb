"""Expert reviews over the JSON API, role by role: criteria, reviewers, assignments,
scorecards, blind reviews, release, and the idea shape's ``review``."""

from __future__ import annotations

import pytest

from innovate.rooms.reviews.models import Review
from tests.reviews_support import CRITERIA, Panel, assign, build_panel, card


@pytest.fixture
async def panel(resources, make_user, sign_in) -> Panel:
    return await build_panel(resources, make_user, sign_in)


async def test_criteria_are_the_moderators_and_readable_in_the_room_only(panel, sign_in) -> None:
    url = f"/api/v1/rooms/{panel.room.slug}/criteria"
    got = (await (await sign_in(panel.gia)).get(url)).json()
    assert [c["name"] for c in got["items"]] == ["Impact", "Feasibility"] and got["locked"] is False
    assert got["items"][0] | {"id": 0} == {**CRITERIA[0], "id": 0, "weight": 2.0}
    for user in (panel.ada, panel.bob, panel.gia):
        assert (await (await sign_in(user)).put(url, json={"criteria": []})).status_code == 403
    assert (await (await sign_in(panel.out)).get(url)).status_code == 404
    guest = await sign_in(panel.gia)
    assert (await guest.get(f"/api/v1/rooms/{panel.other.slug}/criteria")).status_code == 404
    mod = await sign_in(panel.mod)
    for payload, field in (
        ({"criteria": "impact"}, "criteria"),
        ({"criteria": [{"name": "Impact", "scale": 7}]}, "criteria.0.scale"),
        ({"criteria": [{"name": "", "scale": 5}]}, "criteria.0.name"),
        ({"criteria": [{"name": "A", "scale": 5, "weight": 0}]}, "criteria.0.weight"),
        ({"criteria": [{"name": "A", "scale": 5, "weight": "heavy"}]}, "criteria.0.weight"),
        ({"criteria": [{"name": "A"}, {"name": "a"}]}, "criteria.1.name"),
        ({"criteria": [{"name": "A", "low_label": "x" * 41}]}, "criteria.0.low_label"),
        ({"criteria": [{"id": panel.criteria[0]["id"] + 1000, "name": "A"}]}, "criteria.0.id"),
    ):
        response = await mod.put(url, json=payload)
        assert response.status_code == 422, (payload, response.text)
        assert field in response.json()["error"]["fields"], response.text
    assert [c["name"] for c in (await mod.get(url)).json()["items"]] == ["Impact", "Feasibility"]


async def test_scales_lock_after_the_first_submitted_review(panel, sign_in) -> None:
    mod = await sign_in(panel.mod)
    url = f"/api/v1/rooms/{panel.room.slug}/criteria"
    impact, feasibility = panel.criteria
    # Before any review: anything may change, a criterion may go.
    changed = await mod.put(url, json={"criteria": [{**impact, "scale": 10}, feasibility]})
    assert changed.status_code == 200 and changed.json()["items"][0]["scale"] == 10
    await mod.put(url, json={"criteria": [impact, feasibility]})
    await assign(mod, panel, (panel.ada_idea, panel.gia))
    gia = await sign_in(panel.gia)
    draft = await gia.put(f"/api/v1/ideas/{panel.ada_idea.id}/review", json=card(panel, 4, 7, submit=False))
    assert draft.status_code == 200, draft.text
    assert (await mod.get(url)).json()["locked"] is False  # a draft locks nothing
    assert (await gia.put(f"/api/v1/ideas/{panel.ada_idea.id}/review", json=card(panel, 4, 7))).status_code == 200
    assert (await mod.get(url)).json()["locked"] is True
    refused = await mod.put(url, json={"criteria": [{**impact, "scale": 10}, feasibility]})
    assert refused.status_code == 409 and "criteria.0.scale" in refused.json()["error"]["fields"]
    refused = await mod.put(url, json={"criteria": [impact, {**feasibility, "weight": 3}]})
    assert refused.status_code == 409 and "criteria.1.weight" in refused.json()["error"]["fields"]
    assert (await mod.put(url, json={"criteria": [impact]})).status_code == 409
    assert (await mod.put(url, json={"criteria": [impact, feasibility, {"name": "Cost"}]})).status_code == 409
    reworded = await mod.put(url, json={"criteria": [{**impact, "name": "Climate impact", "guide": "Tonnes saved"},
                                                     feasibility]})
    assert reworded.status_code == 200 and reworded.json()["items"][0]["name"] == "Climate impact"


async def test_reviewers_and_manual_assignments(panel, sign_in) -> None:
    mod = await sign_in(panel.mod)
    slug = panel.room.slug
    listed = (await mod.get(f"/api/v1/rooms/{slug}/reviewers")).json()["items"]
    assert {r["reviewer"]["name"] for r in listed} == {"Bob Reviewer", "Gia Expert"}
    assert (await mod.post(f"/api/v1/rooms/{slug}/reviewers", json={"user_id": panel.out.id})).status_code == 422
    assert (await mod.post(f"/api/v1/rooms/{slug}/reviewers", json={"user_id": "x"})).status_code == 422
    for user in (panel.ada, panel.gia, panel.eve):
        http = await sign_in(user)
        assert (await http.post(f"/api/v1/rooms/{slug}/reviewers", json={"user_id": panel.eve.id})).status_code == 403
        assert (await http.get(f"/api/v1/rooms/{slug}/reviewers")).status_code == 403
        assert (await http.post(f"/api/v1/rooms/{slug}/assignments",
                                json={"auto": {"per_idea": 1}})).status_code == 403
    assert (await (await sign_in(panel.out)).get(f"/api/v1/rooms/{slug}/reviewers")).status_code == 404
    url = f"/api/v1/rooms/{slug}/assignments"
    for payload, field in (
        ({"pairs": [{"idea_id": panel.bob_idea.id, "reviewer_id": panel.bob.id}]}, "pairs.0.reviewer_id"),
        ({"pairs": [{"idea_id": panel.ada_idea.id, "reviewer_id": panel.eve.id}]}, "pairs.0.reviewer_id"),
        ({"pairs": [{"idea_id": panel.other_idea.id, "reviewer_id": panel.gia.id}]}, "pairs.0.idea_id"),
        ({"pairs": [{"idea_id": "one", "reviewer_id": panel.gia.id}]}, "pairs.0.idea_id"),
        ({"pairs": []}, "pairs"),
        ({"auto": {"per_idea": 0}}, "auto.per_idea"),
        ({"auto": {"per_idea": 3}}, "auto.per_idea"),  # two reviewers cannot give any idea three
    ):
        response = await mod.post(url, json=payload)
        assert response.status_code == 422, (payload, response.text)
        assert field in response.json()["error"]["fields"], response.text
    done = await mod.post(url, json={"auto": {"per_idea": 1}})
    assert done.status_code == 201 and done.json()["created"] == 3
    again = await mod.post(url, json={"auto": {"per_idea": 1}})
    assert again.json()["created"] == 0  # what is assigned stays assigned
    queue = (await (await sign_in(panel.bob)).get("/api/v1/me/reviews")).json()["rooms"]
    assert panel.bob_idea.id not in [item["idea"]["id"] for room in queue for item in room["items"]]


async def test_same_domain_exclusion(panel, sign_in, make_user, resources) -> None:
    from tests.moderation_support import add_guest

    carl = await make_user("carl@corp.example", name="Carl Colleague")
    await add_guest(resources, panel.room, carl)
    mod = await sign_in(panel.mod)
    await mod.post(f"/api/v1/rooms/{panel.room.slug}/reviewers", json={"user_id": carl.id})
    # Bob and Carl share Ada's and Bob's domain: only Gia may review anything.
    refused = await mod.post(f"/api/v1/rooms/{panel.room.slug}/assignments",
                             json={"auto": {"per_idea": 2, "exclude_same_domain": True}})
    assert refused.status_code == 422 and "auto.per_idea" in refused.json()["error"]["fields"]
    done = await mod.post(f"/api/v1/rooms/{panel.room.slug}/assignments",
                          json={"auto": {"per_idea": 1, "exclude_same_domain": True}})
    assert done.status_code == 201
    loads = {row["reviewer_id"]: row["assigned"] for row in done.json()["loads"]}
    assert loads[panel.gia.id] == 3 and loads.get(carl.id, 0) == 0 and loads.get(panel.bob.id, 0) == 0


async def test_reviewers_score_only_what_is_assigned_to_them(panel, sign_in) -> None:
    mod = await sign_in(panel.mod)
    await assign(mod, panel, (panel.ada_idea, panel.gia), (panel.ada_idea, panel.bob))
    gia, bob, eve = await sign_in(panel.gia), await sign_in(panel.bob), await sign_in(panel.eve)
    assert (await gia.put(f"/api/v1/ideas/{panel.bob_idea.id}/review", json=card(panel, 3, 3))).status_code == 403
    own = await bob.put(f"/api/v1/ideas/{panel.bob_idea.id}/review", json=card(panel, 5, 10))
    assert own.status_code == 403 and "own idea" in own.json()["error"]["message"]
    assert (await eve.put(f"/api/v1/ideas/{panel.ada_idea.id}/review", json=card(panel, 1, 1))).status_code == 403
    assert (await mod.put(f"/api/v1/ideas/{panel.ada_idea.id}/review", json=card(panel, 1, 1))).status_code == 403
    assert (await gia.put(f"/api/v1/ideas/{panel.other_idea.id}/review", json=card(panel, 3, 3))).status_code == 404
    assert (await gia.get(f"/api/v1/ideas/{panel.other_idea.id}/reviews")).status_code == 404
    assert (await (await sign_in(panel.out)).get(f"/api/v1/ideas/{panel.ada_idea.id}/reviews")).status_code == 404
    assert (await gia.get(f"/api/v1/ideas/{panel.bob_idea.id}/review")).status_code == 403
    impact, feasibility = (str(c["id"]) for c in panel.criteria)
    url = f"/api/v1/ideas/{panel.ada_idea.id}/review"
    for payload, field in (
        (card(panel, 6, 3), f"scores.{impact}"),
        (card(panel, 0, 3), f"scores.{impact}"),
        (card(panel, 3, 11), f"scores.{feasibility}"),
        ({**card(panel, 3, 3), "scores": {impact: "four", feasibility: 3}}, f"scores.{impact}"),
        ({**card(panel, 3, 3), "scores": {"999999": 3}}, "scores.999999"),
        ({"scores": {impact: 3}, "recommendation": "advance", "submit": True}, f"scores.{feasibility}"),
        (card(panel, 3, 3, recommendation=""), "recommendation"),
        (card(panel, 3, 3, recommendation="maybe"), "recommendation"),
        (card(panel, 3, 3, summary="x" * 5001), "summary"),
        (card(panel, 3, 3, comments={impact: "y" * 2001}), f"comments.{impact}"),
        (card(panel, 3, 3, comments=["nice"]), "comments"),
    ):
        response = await gia.put(url, json=payload)
        assert response.status_code == 422, (payload, response.text)
        assert field in response.json()["error"]["fields"], response.text
    assert (await gia.get(url)).json()["review"] is None  # nothing was written
    draft = await gia.put(url, json={"scores": {impact: 4}, "summary": "Half done"})
    assert draft.status_code == 200 and draft.json()["review"]["state"] == "draft"
    done = await gia.put(url, json=card(panel, 4, 7, summary="Strong", comments={impact: "Big saving"}))
    mine = done.json()["review"]
    assert mine["state"] == "submitted" and mine["weighted"] == 72.22 and mine["comments"] == {impact: "Big saving"}
    back = await gia.put(url, json=card(panel, 4, 7, submit=False))
    assert back.status_code == 409  # a submitted review is changed by submitting again


async def test_blind_until_own_submit_and_only_if_the_room_allows(panel, sign_in) -> None:
    mod = await sign_in(panel.mod)
    await assign(mod, panel, (panel.ada_idea, panel.gia), (panel.ada_idea, panel.bob))
    gia, bob = await sign_in(panel.gia), await sign_in(panel.bob)
    url = f"/api/v1/ideas/{panel.ada_idea.id}/reviews"
    impact = str(panel.criteria[0]["id"])
    await bob.put(f"/api/v1/ideas/{panel.ada_idea.id}/review", json=card(panel, 2, 10, comments={impact: "Small"}))
    seen = (await gia.get(url)).json()
    assert seen["items"] == [] and seen["results"] is None
    await gia.put(f"/api/v1/ideas/{panel.ada_idea.id}/review", json=card(panel, 4, 7, submit=False))
    assert [r["mine"] for r in (await gia.get(url)).json()["items"]] == [True]
    await gia.put(f"/api/v1/ideas/{panel.ada_idea.id}/review", json=card(panel, 4, 7))
    assert [r["mine"] for r in (await gia.get(url)).json()["items"]] == [True]  # the room keeps peers blind
    allowed = await mod.patch(f"/api/v1/rooms/{panel.room.slug}/reviews", json={"peers_see_reviews": True})
    assert allowed.status_code == 200, allowed.text
    items = (await gia.get(url)).json()["items"]
    peer = next(r for r in items if not r["mine"])
    assert peer["reviewer"] is None and peer["comments"] == {impact: "Small"} and peer["weighted"] == 50.0
    everyone = (await mod.get(url)).json()
    assert {r["reviewer"]["name"] for r in everyone["items"]} == {"Gia Expert", "Bob Reviewer"}
    assert everyone["results"]["mean"] == 61.11 and everyone["results"]["submitted"] == 2


async def test_authors_see_nothing_before_release_then_results_without_names(panel, sign_in) -> None:
    mod = await sign_in(panel.mod)
    await assign(mod, panel, (panel.ada_idea, panel.gia), (panel.ada_idea, panel.bob))
    impact = str(panel.criteria[0]["id"])
    await (await sign_in(panel.gia)).put(f"/api/v1/ideas/{panel.ada_idea.id}/review",
                                         json=card(panel, 4, 7, summary="Go", comments={impact: "Big"}))
    await (await sign_in(panel.bob)).put(f"/api/v1/ideas/{panel.ada_idea.id}/review",
                                         json=card(panel, 2, 10, recommendation="hold"))
    ada, eve = await sign_in(panel.ada), await sign_in(panel.eve)
    for http in (ada, eve):
        assert (await http.get(f"/api/v1/ideas/{panel.ada_idea.id}/reviews")).json() == {
            "items": [], "results": None, "released": False}
        assert "review" not in (await http.get(f"/api/v1/ideas/{panel.ada_idea.id}")).json()
        listed = (await http.get(f"/api/v1/rooms/{panel.room.slug}/ideas?sort=expert")).json()["items"]
        assert all("review" not in i for i in listed)
        assert [i["id"] for i in listed] == sorted((i["id"] for i in listed), reverse=True)  # "new" instead
    shown = (await mod.get(f"/api/v1/ideas/{panel.ada_idea.id}")).json()["review"]
    assert shown | {"recommendations": None} == {
        "mean": 61.11, "spread": 11.11, "min": 50.0, "max": 72.22, "disagreement": False, "submitted": 2,
        "assigned": 2, "recommendations": None}
    assert shown["recommendations"] == {"advance": 1, "hold": 1, "reject": 0}
    for user in (panel.ada, panel.gia, panel.eve):
        assert (await (await sign_in(user)).post(f"/api/v1/rooms/{panel.room.slug}/reviews/release")).status_code == 403
    released = await mod.post(f"/api/v1/rooms/{panel.room.slug}/reviews/release")
    assert released.status_code == 200 and released.json()["settings"]["released_at"]
    assert (await mod.post(f"/api/v1/rooms/{panel.room.slug}/reviews/release")).status_code == 409
    seen = (await ada.get(f"/api/v1/ideas/{panel.ada_idea.id}/reviews")).json()
    assert seen["released"] is True and seen["results"]["mean"] == 61.11
    told = [i for i in (await ada.get("/api/v1/me/notifications")).json()["items"] if i["kind"] == "review_results"]
    assert len(told) == 1 and told[0]["subject"] == f"The experts' reviews of your ideas in '{panel.room.title}' are out"
    assert not [i for i in (await eve.get("/api/v1/me/notifications")).json()["items"] if i["kind"] == "review_results"]
    assert [r["reviewer"] for r in seen["items"]] == [None, None]
    assert {r["summary"] for r in seen["items"]} == {"Go", ""} and "Gia" not in str(seen) and "Bob" not in str(seen)
    board = (await ada.get(f"/api/v1/rooms/{panel.room.slug}/ideas?sort=expert")).json()["items"]
    assert board[0]["id"] == panel.ada_idea.id and board[0]["review"]["mean"] == 61.11
    late = await (await sign_in(panel.gia)).put(f"/api/v1/ideas/{panel.ada_idea.id}/review", json=card(panel, 1, 1))
    assert late.status_code == 409
    # A room that names its reviewers names them to authors.
    await mod.patch(f"/api/v1/rooms/{panel.room.slug}/reviews", json={"reviewers_anonymous": False})
    named = (await ada.get(f"/api/v1/ideas/{panel.ada_idea.id}/reviews")).json()["items"]
    assert {r["reviewer"]["name"] for r in named} == {"Gia Expert", "Bob Reviewer"}


async def test_anonymous_ideas_stay_anonymous_to_reviewers_and_queues_stay_in_their_room(panel, sign_in) -> None:
    mod = await sign_in(panel.mod)
    await mod.patch(f"/api/v1/rooms/{panel.room.slug}/reviews", json={"deadline_at": "2030-05-03T17:00:00Z"})
    await assign(mod, panel, (panel.anon_idea, panel.gia), (panel.ada_idea, panel.gia))
    gia = await sign_in(panel.gia)
    queue = (await gia.get("/api/v1/me/reviews")).json()["rooms"]
    assert len(queue) == 1 and queue[0]["room"]["slug"] == panel.room.slug
    assert queue[0]["deadline"] == "2030-05-03T17:00:00+00:00" and (queue[0]["assigned"], queue[0]["submitted"]) == (2, 0)
    anon = next(i for i in queue[0]["items"] if i["idea"]["id"] == panel.anon_idea.id)
    assert anon["idea"]["author"] is None and "Ada" not in str(anon)
    assert (await gia.get(f"/api/v1/me/reviews?room={panel.other.slug}")).status_code == 404
    assert (await gia.get(f"/api/v1/rooms/{panel.other.slug}/ideas")).status_code == 404
    only = (await gia.get(f"/api/v1/me/reviews?room={panel.room.slug}")).json()["rooms"]
    assert sorted(i["idea"]["id"] for i in only[0]["items"]) == [panel.ada_idea.id, panel.anon_idea.id]
    assert (await (await sign_in(panel.eve)).get("/api/v1/me/reviews")).json() == {"rooms": []}
    for http in (gia, await sign_in(panel.ada)):
        assert (await http.get(f"/api/v1/rooms/{panel.room.slug}/reviews")).status_code == 403
        assert (await http.get(f"/api/v1/rooms/{panel.room.slug}/reviews/comparison")).status_code == 403
    assert (await (await sign_in(panel.out)).get(f"/api/v1/rooms/{panel.room.slug}/reviews")).status_code == 404


async def test_review_comments_are_moderated_like_messages(resources, make_user, sign_in) -> None:
    panel = await build_panel(resources, make_user, sign_in, premoderation="all")
    mod = await sign_in(panel.mod)
    await assign(mod, panel, (panel.ada_idea, panel.gia))
    gia = await sign_in(panel.gia)
    impact = str(panel.criteria[0]["id"])
    links = " ".join(f"https://x{n}.example" for n in range(3))
    too_many = await gia.put(f"/api/v1/ideas/{panel.ada_idea.id}/review", json=card(panel, 4, 7, summary=links))
    assert too_many.status_code == 422 and "summary" in too_many.json()["error"]["fields"]
    done = await gia.put(f"/api/v1/ideas/{panel.ada_idea.id}/review",
                         json=card(panel, 4, 7, summary="Promising", comments={impact: "Big"}))
    review_id = done.json()["review"]["id"]
    assert done.json()["review"]["comments_state"] == "held"
    await mod.post(f"/api/v1/rooms/{panel.room.slug}/reviews/release")
    ada = await sign_in(panel.ada)
    held = (await ada.get(f"/api/v1/ideas/{panel.ada_idea.id}/reviews")).json()["items"][0]
    assert held["summary"] == "" and held["comments"] == {} and held["weighted"] == 72.22
    assert (await gia.post(f"/api/v1/reviews/{review_id}/comments", json={"action": "approve"})).status_code == 404
    assert (await mod.post(f"/api/v1/reviews/{review_id}/comments", json={"action": "hide"})).status_code == 422
    approved = await mod.post(f"/api/v1/reviews/{review_id}/comments", json={"action": "approve"})
    assert approved.status_code == 200 and approved.json()["comments_state"] == "visible"
    shown = (await ada.get(f"/api/v1/ideas/{panel.ada_idea.id}/reviews")).json()["items"][0]
    assert shown["summary"] == "Promising" and shown["comments"] == {impact: "Big"}
    hidden = await mod.post(f"/api/v1/reviews/{review_id}/comments", json={"action": "hide", "reason": "Rude"})
    assert hidden.json()["comments_state"] == "hidden"
    assert (await ada.get(f"/api/v1/ideas/{panel.ada_idea.id}/reviews")).json()["items"][0]["summary"] == ""
    audit = (await mod.get(f"/api/v1/rooms/{panel.room.slug}/audit?action=review")).json()["items"]
    assert {"review.comments_hidden", "review.comments_approved", "review.released", "review.submitted",
            "review.assigned", "review.reviewer_added", "review.criteria_changed"} <= {a["action"] for a in audit}


async def test_timeline_events_reach_the_reviewer_and_the_moderators_only(panel, sign_in) -> None:
    mod = await sign_in(panel.mod)
    await assign(mod, panel, (panel.ada_idea, panel.gia), (panel.bob_idea, panel.gia))
    gia = await sign_in(panel.gia)
    await gia.put(f"/api/v1/ideas/{panel.ada_idea.id}/review", json=card(panel, 4, 7))

    async def kinds_seen(user) -> list[str]:
        http = await sign_in(user)
        events = (await http.get(f"/api/v1/rooms/{panel.room.slug}/events?limit=100")).json()["events"]
        return [e["kind"] for e in events if e["kind"].startswith("review.")]

    assert await kinds_seen(panel.mod) == ["review.assigned", "review.submitted"]
    assert await kinds_seen(panel.gia) == ["review.assigned", "review.submitted"]
    assert await kinds_seen(panel.eve) == []
    assert await kinds_seen(panel.bob) == []
    assigned = [e for e in (await gia.get(f"/api/v1/rooms/{panel.room.slug}/events")).json()["events"]
                if e["kind"] == "review.assigned"][0]
    assert assigned["data"]["pending"] == 2 and sorted(assigned["data"]["idea_ids"]) == sorted(
        [panel.ada_idea.id, panel.bob_idea.id])


async def test_assignment_notifies_and_the_deadline_reminds_once(panel, sign_in, resources) -> None:
    from datetime import timedelta

    from innovate.db import utcnow
    from innovate.rooms.reviews.reminders import remind_due

    mod = await sign_in(panel.mod)
    deadline = (utcnow() + timedelta(days=1, hours=12)).replace(microsecond=0)
    await mod.patch(f"/api/v1/rooms/{panel.room.slug}/reviews", json={"deadline_at": deadline.isoformat()})
    await assign(mod, panel, (panel.ada_idea, panel.gia), (panel.bob_idea, panel.gia), (panel.ada_idea, panel.bob))
    gia = await sign_in(panel.gia)
    items = (await gia.get("/api/v1/me/notifications")).json()["items"]
    told = [i for i in items if i["kind"] == "review_assigned"]
    assert len(told) == 1 and told[0]["subject"].startswith(f"You have 2 ideas to review in '{panel.room.title}' by ")
    assert told[0]["url"] == f"/rooms/{panel.room.slug}/reviews/queue"
    await gia.put(f"/api/v1/ideas/{panel.ada_idea.id}/review", json=card(panel, 4, 7))
    await (await sign_in(panel.bob)).put(f"/api/v1/ideas/{panel.ada_idea.id}/review", json=card(panel, 4, 7))
    assert await remind_due(resources) == 1  # Bob is done; Gia has one left
    assert await remind_due(resources) == 0
    due = [i for i in (await gia.get("/api/v1/me/notifications")).json()["items"] if i["kind"] == "review_due"]
    assert len(due) == 1 and due[0]["subject"].startswith("Reminder: you still have 1 idea to review")
    bob_items = (await (await sign_in(panel.bob)).get("/api/v1/me/notifications")).json()["items"]
    assert not [i for i in bob_items if i["kind"] == "review_due"]
    # A deadline more than two days away reminds nobody yet.
    await mod.patch(f"/api/v1/rooms/{panel.room.slug}/reviews",
                    json={"deadline_at": (deadline + timedelta(days=5)).isoformat()})
    assert await remind_due(resources) == 0


async def test_removing_a_reviewer_keeps_their_submitted_reviews(panel, sign_in, resources) -> None:
    mod = await sign_in(panel.mod)
    await assign(mod, panel, (panel.ada_idea, panel.gia), (panel.bob_idea, panel.gia))
    gia = await sign_in(panel.gia)
    await gia.put(f"/api/v1/ideas/{panel.ada_idea.id}/review", json=card(panel, 4, 7))
    await gia.put(f"/api/v1/ideas/{panel.bob_idea.id}/review", json=card(panel, 4, 7, submit=False))
    assert (await gia.delete(f"/api/v1/rooms/{panel.room.slug}/reviewers/{panel.gia.id}")).status_code == 403
    assert (await mod.delete(f"/api/v1/rooms/{panel.room.slug}/reviewers/{panel.gia.id}")).status_code == 204
    assert (await mod.delete(f"/api/v1/rooms/{panel.room.slug}/reviewers/{panel.gia.id}")).status_code == 404
    async with resources.db() as db:
        from sqlalchemy import select

        rows = (await db.execute(select(Review.idea_id, Review.state).where(Review.reviewer_id == panel.gia.id))).all()
    assert rows == [(panel.ada_idea.id, "submitted")]
    assert (await gia.get("/api/v1/me/reviews")).json() == {"rooms": []}


async def test_admins_run_reviews_like_moderators_but_score_nothing(panel, sign_in, make_user) -> None:
    admin = await sign_in(await make_user("root@corp.example", name="Al Admin", is_admin=True))
    slug = panel.room.slug
    assert (await admin.get(f"/api/v1/rooms/{slug}/reviews")).status_code == 200
    done = await admin.post(f"/api/v1/rooms/{slug}/assignments", json={"auto": {"per_idea": 1}})
    assert done.status_code == 201 and done.json()["created"] == 3
    assert (await admin.put(f"/api/v1/ideas/{panel.ada_idea.id}/review", json=card(panel, 3, 3))).status_code == 403
    assert (await admin.get(f"/api/v1/ideas/{panel.ada_idea.id}/reviews")).json()["results"]["assigned"] == 1
    assert (await admin.post(f"/api/v1/rooms/{slug}/reviews/release")).status_code == 200
