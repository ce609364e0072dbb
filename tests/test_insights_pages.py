"""What the insights pages, the JSON figures and the export command show (both databases)."""

from __future__ import annotations

import asyncio
import csv
import os
import re
import sys
from pathlib import Path
from typing import Any

import orjson

from innovate.resources import Resources
from innovate.rooms.ideas import service as ideas
from innovate.settings import Settings
from tests.factories import make_room
from tests.insights_world import build_world, close


def svg_charts(html: str) -> list[str]:
    return re.findall(r"<svg class=\"chart[^>]*>.*?</svg>", html, flags=re.S)


async def test_room_dashboard(resources: Resources, make_user: Any, sign_in: Any) -> None:
    w = await build_world(resources, make_user)
    hanna = await sign_in(w.people["hanna"])
    page = await hanna.get(f"/rooms/{w.room.slug}/insights")
    assert page.status_code == 200
    html = page.text
    charts = svg_charts(html)
    assert len(charts) == 3  # funnel, activity, pipeline; each with its table beside it
    for chart in charts:
        assert 'role="img"' in chart and "<title id=" in chart and "<desc id=" in chart
        labelled = re.search(r'aria-labelledby="([^"]+)"', chart)
        assert labelled and all(f'id="{i}"' in chart for i in labelled.group(1).split())
    assert "Invited: 5 employees, 7 guests" in charts[0]
    assert html.count("<table") >= 6 and "<caption>Participation funnel, in people</caption>" in html
    assert "<script" not in html.split("<main", 1)[1]  # no chart library
    for kind in ("ideas", "votes", "messages", "audit"):
        for fmt in ("csv", "json"):
            assert f'href="/api/v1/rooms/{w.room.slug}/export/{kind}.{fmt}"' in html
    # The anonymous idea is listed without its author, and its author is not a "contributor".
    assert "Shared depots" in html and "Anonymous" in html and "Finn" not in html
    assert "Erin" in html and "Hugo" in html and "20 min" in html


async def test_results_report(resources: Resources, make_user: Any, sign_in: Any) -> None:
    w = await build_world(resources, make_user)
    hanna = await sign_in(w.people["hanna"])
    preliminary = await hanna.get(f"/rooms/{w.room.slug}/report")
    assert preliminary.status_code == 200 and "Preliminary" in preliminary.text
    await ideas.set_idea_status(resources, w.people["hanna"], w.ideas["depot"].id,
                                {"status": "shortlisted", "reason": "Talk to the landlords"})
    await close(resources, w)
    report = (await hanna.get(f"/rooms/{w.room.slug}/report")).text
    assert "Preliminary" not in report
    assert 'href="/static/css/print.css" media="print"' in report
    assert "<strong>halve</strong>" in report  # the brief, rendered
    selected, shortlisted = report.split('id="selected-title"')[1].split('id="shortlisted-title"')
    assert "Cargo bikes" in selected and "by Alice" in selected and "Pilot in Q3" in selected
    assert "Night deliveries" in shortlisted and "Needs a cost study" in shortlisted
    assert "Shared depots" in shortlisted and "Talk to the landlords" in shortlisted
    assert "Finn" not in report  # anonymous stays anonymous, even for the moderator printing it
    timeline = report.split('id="timeline-title"')[1]
    assert timeline.count("<li>") == 3 and "Voting" in timeline and "Closed" in timeline

    draft = await make_room(resources, w.people["hanna"], phase="draft")
    assert (await hanna.get(f"/rooms/{draft.slug}/report")).status_code == 404


async def test_site_dashboard_and_json(resources: Resources, make_user: Any, sign_in: Any) -> None:
    w = await build_world(resources, make_user)
    admin = await sign_in(await make_user("root@corp.example", name="Ada Admin", is_admin=True))
    html = (await admin.get("/admin/insights")).text
    assert f'href="/rooms/{w.room.slug}/insights"' in html
    guests = html.split('id="active-guests"')[1].split("</section>")[0]
    assert all(name in guests for name in ("Erin", "Finn", "Gus", "Hugo"))
    invites = html.split('id="expiring-invites"')[1].split("</section>")[0]
    assert invites.count("<tr>") == 3  # the header and the two links with places left
    assert len(svg_charts(html)) == 3

    site = (await admin.get("/api/v1/admin/insights")).json()
    assert site["funnel"]["guest"] == {"invited": 7, "joined": 4, "active": 3}
    assert [r["slug"] for r in site["rooms"]] == [w.room.slug] and site["active_guests"]["total"] == 4
    assert len(site["expiring_invites"]) == 2

    room = (await admin.get(f"/api/v1/rooms/{w.room.slug}/insights")).json()
    assert room["funnel"]["employee"] == {"invited": 6, "joined": 3, "active": 2}  # the admin is an employee too
    assert [i["title"] for i in room["top_ideas"]] == ["Cargo bikes", "Night deliveries", "Shared depots"]
    assert room["top_ideas"][2]["author"] is None and room["pipeline"]["selected"] == 1
    assert room["guest_response"]["median_seconds"] == 1200.0


async def run_cli(settings: Settings, *args: str) -> tuple[int, str]:
    env = {**os.environ, "INNOVATE_DATABASE_URL": settings.resolved_database_url,
           "INNOVATE_DATA_DIR": str(settings.data_dir), "INNOVATE_SECRET_KEY": "cli-test-secret-" + "x" * 32}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "innovate", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def test_export_command(resources: Resources, make_user: Any, settings: Settings, tmp_path: Path) -> None:
    w = await build_world(resources, make_user)
    out = tmp_path / "votes.csv"
    code, output = await run_cli(settings, "export", w.room.slug, "--kind", "votes", "--format", "csv",
                                 "--out", str(out))
    assert code == 0, output
    assert f"exported 4 votes rows of {w.room.slug}" in output
    rows = list(csv.reader(out.open()))
    assert rows[0][:4] == ["id", "idea_id", "idea_title", "voter_kind"] and len(rows) == 5
    assert not (tmp_path / "votes.csv.part").exists()

    code, output = await run_cli(settings, "export", w.room.slug, "--kind", "votes", "--format", "csv",
                                 "--out", str(out))
    assert code == 1 and "exists; pass --force" in output
    ideas_json = tmp_path / "ideas.json"
    code, output = await run_cli(settings, "export", w.room.slug, "--format", "json", "--out", str(ideas_json))
    assert code == 0, output
    assert len(orjson.loads(ideas_json.read_bytes())["items"]) == 3
    code, output = await run_cli(settings, "export", "no-such-room", "--format", "csv", "--out",
                                 str(tmp_path / "x.csv"))
    assert code == 1 and "no room with the address 'no-such-room'" in output
    assert not (tmp_path / "x.csv").exists()
