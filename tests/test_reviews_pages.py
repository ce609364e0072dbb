"""The review pages, role by role: the moderators' page and its forms (errors at their
fields), the live progress part, the reviewer's queue and scorecard, and an idea's page
showing the experts' results only where the viewer may see them."""

from __future__ import annotations

import pytest

from tests.reviews_support import Panel, assign, build_panel, card


@pytest.fixture
async def panel(resources, make_user, sign_in) -> Panel:
    return await build_panel(resources, make_user, sign_in)


async def test_the_review_page_is_the_moderators(panel, sign_in) -> None:
    url = f"/rooms/{panel.room.slug}/reviews"
    mod = await sign_in(panel.mod)
    shown = await mod.get(url)
    assert shown.status_code == 200 and "Expert reviews" in shown.text and "Gia Expert" in shown.text
    assert (await mod.get(f"{url}/progress")).status_code == 200
    for user in (panel.ada, panel.gia, panel.eve):
        http = await sign_in(user)
        assert (await http.get(url)).status_code == 403
        assert (await http.get(f"{url}/progress")).status_code == 403
        assert (await http.post(f"{url}/release", data={})).status_code == 403
    assert (await (await sign_in(panel.out)).get(url)).status_code == 404
    assert (await (await sign_in(panel.gia)).get(f"/rooms/{panel.other.slug}/reviews/queue")).status_code == 404
    page = (await mod.get(f"/rooms/{panel.room.slug}")).text
    assert f'href="{url}"' in page


async def test_criteria_and_settings_forms_answer_at_their_fields(panel, sign_in) -> None:
    mod = await sign_in(panel.mod)
    slug = panel.room.slug
    impact, feasibility = panel.criteria
    form = {"criteria.0.id": str(impact["id"]), "criteria.0.name": "Impact", "criteria.0.weight": "2",
            "criteria.0.scale": "7", "criteria.1.id": str(feasibility["id"]), "criteria.1.name": "Feasibility",
            "criteria.1.weight": "1", "criteria.1.scale": "10", "criteria.2.id": "", "criteria.2.name": ""}
    refused = await mod.post(f"/rooms/{slug}/reviews/criteria", data=form)
    assert refused.status_code == 422
    assert 'id="review-criteria-form-criteria.0.scale-error"' in refused.text and "expected 5" in refused.text
    added = await mod.post(f"/rooms/{slug}/reviews/criteria", data={
        **form, "criteria.0.scale": "5", "criteria.2.name": "Novelty", "criteria.2.scale": "10",
        "criteria.2.weight": "0.5"})
    assert added.status_code == 303 and added.headers["location"] == f"/rooms/{slug}/reviews#review-criteria"
    names = [c["name"] for c in (await mod.get(f"/api/v1/rooms/{slug}/criteria")).json()["items"]]
    assert names == ["Impact", "Feasibility", "Novelty"]
    removed = await mod.post(f"/rooms/{slug}/reviews/criteria", data={**form, "criteria.0.scale": "5",
                                                                      "criteria.1.name": ""})
    assert removed.status_code == 303
    assert [c["name"] for c in (await mod.get(f"/api/v1/rooms/{slug}/criteria")).json()["items"]] == ["Impact"]
    bad = await mod.post(f"/rooms/{slug}/reviews/settings", data={"deadline_at": "soon", "deadline_phase": ""})
    assert bad.status_code == 422 and "review-settings-form-deadline_at-error" in bad.text
    saved = await mod.post(f"/rooms/{slug}/reviews/settings", data={
        "deadline_at": "2030-05-03T17:00", "deadline_phase": "", "peers_see_reviews": ["0", "1"],
        "reviewers_anonymous": "0"})
    assert saved.status_code == 303
    settings = (await mod.get(f"/api/v1/rooms/{slug}/reviews")).json()["settings"]
    assert settings["deadline"] == "2030-05-03T17:00:00+00:00"
    assert settings["peers_see_reviews"] is True and settings["reviewers_anonymous"] is False
    assigned = await mod.post(f"/rooms/{slug}/reviews/assign", data={"per_idea": "5", "exclude_same_domain": "0"})
    assert assigned.status_code == 422 and "review-assign-auto.per_idea-error" in assigned.text
    assert (await mod.post(f"/rooms/{slug}/reviews/assign", data={"per_idea": "1"})).status_code == 303
    assert (await mod.post(f"/rooms/{slug}/reviews/reviewers", data={"user_id": str(panel.eve.id)})).status_code == 303
    progress = (await mod.get(f"/rooms/{slug}/reviews/progress")).text
    assert "0</strong> of <strong>3</strong> reviews in" in progress and "Eve Member" in progress


async def test_a_reviewer_scores_through_the_scorecard_page(panel, sign_in) -> None:
    mod = await sign_in(panel.mod)
    await assign(mod, panel, (panel.ada_idea, panel.gia), (panel.anon_idea, panel.gia))
    gia = await sign_in(panel.gia)
    slug = panel.room.slug
    queue = await gia.get(f"/rooms/{slug}/reviews/queue")
    assert queue.status_code == 200 and "Cargo bikes" in queue.text and "Night deliveries" in queue.text
    assert "0</strong> of <strong>2</strong> reviewed" in queue.text
    anon = await gia.get(f"/rooms/{slug}/ideas/{panel.anon_idea.id}/review")
    assert anon.status_code == 200 and "Anonymous" in anon.text and "Ada" not in anon.text
    assert (await gia.get(f"/rooms/{slug}/ideas/{panel.bob_idea.id}/review")).status_code == 403
    assert (await (await sign_in(panel.bob)).get(f"/rooms/{slug}/ideas/{panel.ada_idea.id}/review")).status_code == 403
    impact, feasibility = (c["id"] for c in panel.criteria)
    url = f"/rooms/{slug}/ideas/{panel.ada_idea.id}/review"
    draft = await gia.post(url, data={f"scores.{impact}": "4", "summary": "So far so good", "submit": "0"})
    assert draft.status_code == 303
    again = await gia.get(url)
    assert "So far so good" in again.text and "Draft saved." in again.text
    missing = await gia.post(url, data={f"scores.{impact}": "4", "recommendation": "advance", "submit": "1",
                                        "summary": "Ready"})
    assert missing.status_code == 422
    assert f'id="scorecard-scores.{feasibility}-error"' in missing.text and "give Feasibility a mark" in missing.text
    assert "Ready" in missing.text  # what was typed stays
    done = await gia.post(url, data={f"scores.{impact}": "4", f"scores.{feasibility}": "7",
                                     "recommendation": "advance", "summary": "Ready", "submit": "1"})
    assert done.status_code == 303
    assert "1</strong> of <strong>2</strong> reviewed" in (await gia.get(f"/rooms/{slug}/reviews/queue/items")).text


async def test_the_idea_page_shows_results_to_moderators_and_to_authors_after_release(panel, sign_in) -> None:
    mod = await sign_in(panel.mod)
    await assign(mod, panel, (panel.ada_idea, panel.gia))
    impact = str(panel.criteria[0]["id"])
    await (await sign_in(panel.gia)).put(f"/api/v1/ideas/{panel.ada_idea.id}/review",
                                         json=card(panel, 4, 7, comments={impact: "Big saving"}))
    url = f"/rooms/{panel.room.slug}/ideas/{panel.ada_idea.id}"
    ada = await sign_in(panel.ada)
    before = (await ada.get(url)).text
    assert 'id="idea-review"' not in before and "Big saving" not in before
    board = (await ada.get(f"/rooms/{panel.room.slug}")).text
    assert "Expert score" not in board and "experts 72/100" not in board
    moderator_view = (await mod.get(url)).text
    assert 'id="idea-review"' in moderator_view and "Gia Expert" in moderator_view and "72.22" in moderator_view
    assert "Expert score" in (await mod.get(f"/rooms/{panel.room.slug}")).text
    assert (await mod.post(f"/rooms/{panel.room.slug}/reviews/release", data={})).status_code == 303
    after = (await ada.get(url)).text
    assert 'id="idea-review"' in after and "Big saving" in after and "72.22" in after and "Gia" not in after
    board = (await ada.get(f"/rooms/{panel.room.slug}?sort=expert")).text
    assert "experts 72/100" in board and 'aria-current="page"' in board.split("Expert score")[0][-300:]


async def test_held_comments_are_approved_from_the_review_page(resources, make_user, sign_in) -> None:
    panel = await build_panel(resources, make_user, sign_in, premoderation="all")
    mod = await sign_in(panel.mod)
    await assign(mod, panel, (panel.ada_idea, panel.gia), (panel.bob_idea, panel.gia))
    gia = await sign_in(panel.gia)
    room_page = (await gia.get(f"/rooms/{panel.room.slug}")).text
    assert 'id="my-reviews"' in room_page and "0 of 2 done" in room_page
    assert 'id="my-reviews"' not in (await (await sign_in(panel.eve)).get(f"/rooms/{panel.room.slug}")).text
    done = await gia.put(f"/api/v1/ideas/{panel.ada_idea.id}/review", json=card(panel, 4, 7, summary="Try it"))
    review_id = done.json()["review"]["id"]
    page = (await mod.get(f"/rooms/{panel.room.slug}/reviews")).text
    assert "Comments awaiting approval" in page and "Try it" in page
    assert 'aria-current="page">Expert reviews' in page
    url = f"/rooms/{panel.room.slug}/reviews/{review_id}/comments"
    assert (await gia.post(url, data={"action": "approve"})).status_code == 404
    assert (await mod.post(f"/rooms/{panel.other.slug}/reviews/{review_id}/comments",
                           data={"action": "approve"})).status_code == 404
    assert (await mod.post(url, data={"action": "approve"})).status_code == 303
    assert "Comments awaiting approval" not in (await mod.get(f"/rooms/{panel.room.slug}/reviews")).text
    state = (await mod.get(f"/api/v1/ideas/{panel.ada_idea.id}/reviews")).json()["items"][0]["comments_state"]
    assert state == "visible"
