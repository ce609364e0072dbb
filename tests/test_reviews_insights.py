"""Expert reviews in the insights: the ``reviews`` export (reviewers named only where the
room does not keep them anonymous, and only for moderators), the dashboard and its JSON,
and the results report."""

from __future__ import annotations

import csv
import io

import pytest

from tests.reviews_support import Panel, assign, build_panel, card


@pytest.fixture
async def panel(resources, make_user, sign_in) -> Panel:
    panel = await build_panel(resources, make_user, sign_in)
    mod = await sign_in(panel.mod)
    await assign(mod, panel, (panel.ada_idea, panel.gia), (panel.anon_idea, panel.gia), (panel.ada_idea, panel.bob))
    impact = str(panel.criteria[0]["id"])
    gia = await sign_in(panel.gia)
    await gia.put(f"/api/v1/ideas/{panel.ada_idea.id}/review",
                  json=card(panel, 4, 7, summary="=cheap", comments={impact: "Big saving"}))
    await gia.put(f"/api/v1/ideas/{panel.anon_idea.id}/review", json=card(panel, 2, 10, recommendation="hold"))
    await (await sign_in(panel.bob)).put(f"/api/v1/ideas/{panel.ada_idea.id}/review",
                                         json=card(panel, 2, 5, submit=False))
    return panel


async def test_the_reviews_export(panel, sign_in) -> None:
    mod = await sign_in(panel.mod)
    url = f"/api/v1/rooms/{panel.room.slug}/export/reviews"
    response = await mod.get(f"{url}.csv")
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["idea_title"], r["state"]) for r in rows] == [
        ("Cargo bikes", "submitted"), ("Night deliveries", "submitted"), ("Cargo bikes", "draft")]
    first = rows[0]
    assert first["scores"] == "Impact 4/5; Feasibility 7/10" and first["weighted"] == "72.22"
    assert first["comments"] == "Impact: Big saving" and first["summary"] == "'=cheap"  # no spreadsheet formula
    assert first["reviewer_kind"] == "guest"
    assert all(r["reviewer_id"] == "" and r["reviewer_name"] == "" for r in rows)  # reviewers are anonymous
    assert "Ada" not in response.text and "Gia" not in response.text
    await mod.patch(f"/api/v1/rooms/{panel.room.slug}/reviews", json={"reviewers_anonymous": False})
    named = (await mod.get(f"{url}.json")).json()
    assert named["kind"] == "reviews" and [i["reviewer_name"] for i in named["items"]] == [
        "Gia Expert", "Gia Expert", "Bob Reviewer"]
    for user in (panel.gia, panel.ada, panel.eve):
        assert (await (await sign_in(user)).get(f"{url}.csv")).status_code == 403
    assert (await (await sign_in(panel.out)).get(f"{url}.csv")).status_code == 404


async def test_insights_and_the_report_carry_the_expert_results(panel, sign_in) -> None:
    mod = await sign_in(panel.mod)
    figures = (await mod.get(f"/api/v1/rooms/{panel.room.slug}/insights")).json()["reviews"]
    assert (figures["submitted"], figures["assigned"], figures["reviewers"], figures["released"]) == (2, 3, 2, False)
    assert [row["review"]["mean"] for row in figures["ideas"]] == [72.22, 50.0]
    dashboard = (await mod.get(f"/rooms/{panel.room.slug}/insights")).text
    assert 'id="expert-reviews"' in dashboard and "72.22" in dashboard and "/export/reviews.csv" in dashboard
    report = (await mod.get(f"/rooms/{panel.room.slug}/report")).text
    assert 'id="expert-title"' in report and "Night deliveries" in report and "Ada Author" not in report.split(
        'id="expert-title"')[1].split("</section>")[0]
    assert (await (await sign_in(panel.gia)).get(f"/api/v1/rooms/{panel.room.slug}/insights")).status_code == 403
