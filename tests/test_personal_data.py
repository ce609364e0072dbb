"""Personal data: the export holds every record about a person; erasure turns them into a
"Former member" and leaves nothing personal in any table. On both databases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from innovate import cli
from innovate.accounts.models import User
from innovate.accounts.tokens import create_token
from innovate.audit import AuditEntry
from innovate.auth.invites import InviteRequest, create_invite
from innovate.db import Base
from innovate.errors import Conflict
from innovate.people.erase import FORMER_MEMBER, erase_user
from innovate.resources import Resources
from innovate.rooms.models import Idea, Message, Vote
from tests.factories import join, make_idea, make_message, make_room

NAME = "Zebulon Quixote"
EMAIL = "zebulon.quixote@corp.example"


async def call(http: httpx.AsyncClient, method: str, path: str, json: Any = None, expect: int = 200) -> Any:
    response = await http.request(method, path, json=json)
    assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text[:400]}"
    return response.json() if response.content and "json" in response.headers.get("content-type", "") else response


async def world(resources: Resources, make_user: Any, sign_in: Any) -> dict[str, Any]:
    """Zebulon leaves a trace in every table that can hold one."""
    admin = await make_user("admin@corp.example", name="Ada Admin", is_admin=True)
    moderator = await make_user("mod@corp.example", name="Mo Derator", is_moderator=True)
    bystander = await make_user("by@corp.example", name="Bea Stander")
    zeb = await make_user(EMAIL, name=NAME)
    room = await make_room(resources, moderator)
    await join(resources, room, zeb, bystander)
    as_zeb, as_mod, as_by = await sign_in(zeb), await sign_in(moderator), await sign_in(bystander)
    await create_token(resources, zeb, "zeb's script")
    theirs = await make_message(resources, zeb, room, "My own words")
    idea = await make_idea(resources, zeb, room, title="Zeb's idea", body="Trains")
    other_idea = await make_idea(resources, moderator, room, title="Moderator's idea")
    await call(as_zeb, "PUT", f"/api/v1/ideas/{other_idea.id}/vote", {"value": 1})
    bystander_post = await make_message(resources, bystander, room, "@zebulonquixote what do you think?")
    await call(as_zeb, "POST", "/api/v1/reports", {"message_id": bystander_post.id, "reason": "Rude"}, expect=201)
    await call(as_mod, "PUT", f"/api/v1/rooms/{room.slug}/tags", {"tags": ["Mobility"]})
    tags = await call(as_zeb, "GET", "/api/v1/tags")
    await call(as_zeb, "PUT", "/api/v1/me/interests", {"tags": [tags["items"][0]["id"]]})
    await call(as_zeb, "PUT", "/api/v1/me/notification-settings", {"time_zone": "Europe/Berlin"})
    await call(as_mod, "PATCH", f"/api/v1/rooms/{room.slug}/members/{zeb.id}", {"mute_minutes": 5, "reason": "calm"})
    await create_invite(resources, moderator, room.slug, InviteRequest(email=EMAIL))
    await call(as_by, "GET", "/api/v1/me")
    return {"admin": admin, "moderator": moderator, "bystander": bystander, "zeb": zeb, "room": room,
            "message": theirs, "idea": idea, "other_idea": other_idea, "as_zeb": as_zeb}


async def test_the_export_holds_every_record_and_no_secret(resources: Resources, make_user: Any, sign_in: Any) -> None:
    w = await world(resources, make_user, sign_in)
    response = await w["as_zeb"].get("/api/v1/me/export")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    data = json.loads(response.content)
    assert data["person"]["email"] == EMAIL and data["person"]["name"] == NAME
    assert [i["issuer"] for i in data["identities"]] == ["local"] and "secret_hash" not in response.text
    assert data["access_tokens"][0]["name"] == "zeb's script" and data["sessions"]
    assert [m["room"] for m in data["memberships"]] == [w["room"].slug]
    assert [m["body"] for m in data["messages"]] == ["My own words"]
    assert [i["title"] for i in data["ideas"]] == ["Zeb's idea"]
    assert [v["idea_id"] for v in data["votes"]] == [w["other_idea"].id]
    assert [r["reason"] for r in data["reports"]] == ["Rude"]
    assert {n["kind"] for n in data["notifications"]} >= {"mention"}
    assert data["notification_settings"]["time_zone"] == "Europe/Berlin" and data["interests"] == ["Mobility"]
    assert "member.muted" in {a["action"] for a in data["audit"]}
    # The account page's download is the same document.
    page = await w["as_zeb"].get("/account/export")
    assert page.status_code == 200 and json.loads(page.content)["person"]["id"] == w["zeb"].id


async def test_admins_export_anyone_and_nobody_else_may(resources: Resources, make_user: Any, sign_in: Any) -> None:
    w = await world(resources, make_user, sign_in)
    path = f"/api/v1/admin/people/{w['zeb'].id}/export"
    for someone in ("moderator", "bystander"):
        http = await sign_in(w[someone])
        assert (await http.get(path)).status_code == 403
        assert (await http.post(f"/api/v1/admin/people/{w['zeb'].id}/erase", json={})).status_code == 403
    assert (await httpx.AsyncClient(transport=w["as_zeb"]._transport, base_url="http://testserver").get(path)).status_code == 401
    as_admin = await sign_in(w["admin"])
    response = await as_admin.get(path)
    assert response.status_code == 200 and json.loads(response.content)["person"]["email"] == EMAIL
    async with resources.db() as db:
        entry = (await db.execute(select(AuditEntry).where(AuditEntry.action == "user.exported"))).scalar_one()
    assert entry.actor_id == w["admin"].id and entry.target_id == w["zeb"].id


def _personal_traces(rows: list[tuple[str, dict[str, Any]]], needles: list[str]) -> list[str]:
    found = []
    for table, row in rows:
        for column, value in row.items():
            text = json.dumps(value, default=str).lower() if value is not None else ""
            for needle in needles:
                if needle.lower() in text:
                    found.append(f"{table}.{column} holds {needle!r}: {text[:120]}")
    return found


async def scan(resources: Resources) -> list[tuple[str, dict[str, Any]]]:
    """Every row of every table."""
    rows: list[tuple[str, dict[str, Any]]] = []
    async with resources.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in (await connection.execute(table.select())).mappings():
                rows.append((table.name, dict(row)))
    return rows


def _user_columns() -> list[tuple[str, str]]:
    users = Base.metadata.tables["users"]
    return [(t.name, c.name) for t in Base.metadata.sorted_tables for c in t.columns
            if any(fk.column.table is users for fk in c.foreign_keys)]


async def test_erase_leaves_nothing_personal_in_any_table(resources: Resources, make_user: Any, sign_in: Any) -> None:
    w = await world(resources, make_user, sign_in)
    zeb_id = w["zeb"].id
    before = await scan(resources)
    assert _personal_traces(before, [EMAIL, NAME])  # the scan finds what is there
    as_admin = await sign_in(w["admin"])
    erased = await call(as_admin, "POST", f"/api/v1/admin/people/{zeb_id}/erase", {})
    former = erased["former_member_id"]
    rows = await scan(resources)
    assert _personal_traces(rows, [EMAIL, NAME, "zebulonquixote@"]) == []
    # No column that points at a person points at them; nor does the audit trail.
    for table, column in _user_columns():
        assert all(row[column] != zeb_id for name, row in rows if name == table), f"{table}.{column}"
    assert all(row["id"] != zeb_id for name, row in rows if name == "users")
    assert all(not (row["target_kind"] == "user" and row["target_id"] == zeb_id)
               for name, row in rows if name == "audit_entries")
    for name in ("identities", "sessions", "access_tokens", "user_interests", "notification_settings"):
        assert all(row.get("user_id") != former for n, row in rows if n == name)
    async with resources.db() as db:
        placeholder = await db.get(User, former)
        message = await db.get(Message, w["message"].id)
        idea = await db.get(Idea, w["idea"].id)
        other = await db.get(Idea, w["other_idea"].id)
        vote = (await db.execute(select(Vote).where(Vote.idea_id == w["other_idea"].id))).scalar_one()
        entry = (await db.execute(select(AuditEntry).where(AuditEntry.action == "user.erased"))).scalar_one()
    assert placeholder is not None and placeholder.name == FORMER_MEMBER and placeholder.email is None
    assert not placeholder.is_active and placeholder.erased_at is not None
    # Their messages and ideas stay, as the room's record, under the anonymous name.
    assert message is not None and message.author_id == former and message.body == "My own words"
    assert idea is not None and idea.author_id == former and idea.title == "Zeb's idea"
    # Their vote is still counted, and no longer linked to them.
    assert other is not None and other.voters == 1 and vote.user_id == former
    assert entry.actor_id == w["admin"].id and entry.target_id == former
    assert entry.data == {"kind": "employee", "content_deleted": False, "automatic": False}
    # The erased person's session no longer signs anyone in; the page shows the Former member.
    assert (await w["as_zeb"].get("/api/v1/me")).status_code == 401
    page = await as_admin.get(f"/rooms/{w['room'].slug}")
    assert FORMER_MEMBER in page.text and NAME not in page.text


async def test_erase_with_content_and_the_last_admin_is_protected(
        resources: Resources, make_user: Any, sign_in: Any) -> None:
    w = await world(resources, make_user, sign_in)
    as_admin = await sign_in(w["admin"])
    await call(as_admin, "POST", f"/api/v1/admin/people/{w['zeb'].id}/erase", {"delete_content": True})
    async with resources.db() as db:
        message = await db.get(Message, w["message"].id)
        idea = await db.get(Idea, w["idea"].id)
    assert message is not None and message.body == "" and message.state == "deleted"
    assert idea is not None and idea.title == "" and idea.state == "hidden"
    assert _personal_traces(await scan(resources), ["My own words", "Trains"]) == []
    # Nobody erases themselves through the app, and the last administrator cannot be erased.
    await call(as_admin, "POST", f"/api/v1/admin/people/{w['admin'].id}/erase", {}, expect=403)
    with pytest.raises(Conflict):
        await erase_user(resources, None, w["admin"].id)
    second = await make_user("second-admin@corp.example", name="Second Admin", is_admin=True)
    await call(as_admin, "POST", f"/api/v1/admin/people/{second.id}/erase", {})
    await call(as_admin, "POST", f"/api/v1/admin/people/{second.id}/erase", {}, expect=404)


async def test_the_command_line_exports_and_erases(resources: Resources, make_user: Any, sign_in: Any,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    await world(resources, make_user, sign_in)
    monkeypatch.setenv("INNOVATE_DATABASE_URL", resources.settings.resolved_database_url)
    monkeypatch.setenv("INNOVATE_DATA_DIR", str(resources.settings.data_dir))
    out = tmp_path / "zeb.json"
    import asyncio

    # The commands run their own event loop, as from a shell.
    code = await asyncio.to_thread(cli.main, ["user", "export", EMAIL, "--out", str(out)])
    assert code == 0 and json.loads(out.read_text())["person"]["email"] == EMAIL
    assert await asyncio.to_thread(cli.main, ["user", "export", EMAIL, "--out", str(out)]) == 1  # exists
    assert await asyncio.to_thread(cli.main, ["user", "erase", EMAIL]) == 0
    assert "Former member" in capsys.readouterr().out
    assert await asyncio.to_thread(cli.main, ["user", "erase", EMAIL]) == 1
    assert _personal_traces(await scan(resources), [EMAIL, NAME]) == []
