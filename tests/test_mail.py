"""E-mail against a real SMTP server (aiosmtpd): gathered notification mails with both parts,
links and one-click unsubscribe; retries while the server is down; bounces; digests; invites
by e-mail; the settings; and ``innovate mail test``."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, update

from innovate.db import utcnow
from innovate.mail.models import OutboxMail
from innovate.mail.unsubscribe import make_token
from innovate.notifications.models import Notification, NotificationSettings
from innovate.notifications.service import SettingsChange, save_settings
from innovate.resources import Resources
from tests.factories import join, make_idea, make_message, make_room
from tests.mail_support import FAST_MAIL, Sink, free_port, parts, sink, wait_until
from tests.moderation_support import World, build_world

__all__ = ["sink"]
METRICS_TOKEN = "metrics-" + "t" * 32


@pytest.fixture
def settings_overrides(sink: Sink) -> dict[str, Any]:
    return {"smtp_url": f"smtp://127.0.0.1:{sink.port}", "metrics_token": METRICS_TOKEN, **FAST_MAIL}


@pytest.fixture
async def world(app: Any, resources: Resources, make_user: Any) -> World:
    return await build_world(resources, make_user)


async def outbox(resources: Resources) -> list[OutboxMail]:
    async with resources.db() as db:
        return list((await db.execute(select(OutboxMail).order_by(OutboxMail.id))).scalars())


async def test_a_mention_and_a_reply_make_one_mail_with_both_parts_and_one_click_unsubscribe(
        app: Any, resources: Resources, world: World, sink: Sink, sign_in: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Both land within one gather window, however slow the machine: the sender's clock stands
    # still (an hour back) until both are written.
    from innovate.mail import gather

    monkeypatch.setattr(gather, "utcnow", lambda: utcnow() - timedelta(hours=1))
    first = await make_message(resources, world.ada, world.a, "A thought")
    mention = await make_message(resources, world.bob, world.a, "@adalovelace have a look")
    await make_message(resources, world.mod, world.a, "Agreed", reply_to=first.id)
    monkeypatch.setattr(gather, "utcnow", utcnow)
    [mail] = await wait_until(lambda: sink.to("ada@example.com"), what="Ada's mail")
    assert mail["From"] == "Innovate <innovate@example.com>"
    assert mail["Message-ID"].startswith("<") and mail["Message-ID"].endswith("@testserver>")
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(r"<(http://testserver/mail/unsubscribe/[^>]+)>", mail["List-Unsubscribe"])
    assert unsubscribe is not None
    text, html = parts(mail)
    assert f"http://testserver/rooms/{world.a.slug}#message-{mention.id}" in text
    assert f'href="http://testserver/rooms/{world.a.slug}#message-{mention.id}"' in html
    assert "Bob Builder mentioned you" in text and "Mo Derator replied to you" in text
    assert "have a look" not in text, "a mail says who and where, not what"
    assert "(and 1 more)" in mail["Subject"]
    async with resources.db() as db:
        states = (await db.execute(select(Notification.mail_state).where(Notification.user_id == world.ada.id))).scalars()
        assert set(states) == {"queued"}
    # A scanner opening the link changes nothing; the provider's one-click POST does, without a cookie.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as provider:
        path = unsubscribe.group(1).removeprefix("http://testserver")
        page = await provider.get(path)
        assert page.status_code == 200 and "Stop mails about mentions" in page.text
        done = await provider.post(path, content=b"List-Unsubscribe=One-Click",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert done.status_code == 200 and "Unsubscribed" in done.text
    settings = (await (await sign_in(world.ada)).get("/api/v1/me/notification-settings")).json()
    assert settings["categories"]["mentions"] == "off" and settings["categories"]["ideas"] == "immediately"
    # Off means no mail, still a notification; other categories still mail.
    await make_message(resources, world.bob, world.a, "@adalovelace again")
    idea = await make_idea(resources, world.ada, world.a, title="Cargo bikes")
    await make_message(resources, world.bob, world.a, "Like it", idea_id=idea.id)
    await wait_until(lambda: len(sink.to("ada@example.com")) == 2, what="the idea mail")
    assert "commented on your idea 'Cargo bikes'" in sink.to("ada@example.com")[1]["Subject"]
    assert len(sink.mails) == len({m["Message-ID"] for m in sink.mails})
    scrape = await provider_metrics(app)
    assert re.search(r"^innovate_mails_sent_total [1-9]", scrape, re.M)
    assert re.search(r'^innovate_notifications_created_total\{kind="mention"\} [1-9]', scrape, re.M)


async def provider_metrics(app: Any) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert response.status_code == 200
        return response.text


async def test_read_in_the_app_before_the_window_ends_is_not_mailed(
        resources: Resources, world: World, sink: Sink, sign_in: Any) -> None:
    ada = await sign_in(world.ada)
    await make_message(resources, world.bob, world.a, "@adalovelace quick one")
    await ada.post("/api/v1/me/notifications/read", json={"all": True})
    await make_message(resources, world.ada, world.a, "@bobbuilder marker")
    await wait_until(lambda: sink.to("bob@example.com"), what="the marker mail")
    assert sink.to("ada@example.com") == []


async def test_unsubscribe_links_that_are_not_ours(app: Any, world: World) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        expired = make_token(app.state.settings.secret_key, world.ada.id, "mentions", now=1.0)
        forged = make_token("another-secret-" + "x" * 32, world.ada.id, "mentions")
        for token in (expired, forged, "nonsense", "a.b"):
            assert (await http.get(f"/mail/unsubscribe/{token}")).status_code == 404
            assert (await http.post(f"/mail/unsubscribe/{token}", content=b"List-Unsubscribe=One-Click",
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})).status_code == 404


@pytest.fixture
def down_port() -> int:
    return free_port()


async def test_mails_wait_while_the_server_is_down_then_all_arrive_once(
        make_settings: Any, down_port: int, make_user: Any) -> None:
    from innovate.app import create_app, open_resources

    settings = make_settings(smtp_url=f"smtp://127.0.0.1:{down_port}", **FAST_MAIL)
    resources = await open_resources(settings)
    app = create_app(settings, resources=resources)
    late = Sink()
    try:
        async with app.router.lifespan_context(app):
            mod = await create_user(resources, "mod@example.com", moderator=True)
            room = await make_room(resources, mod)
            token = await api_token(resources, mod)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                         headers={"Authorization": f"Bearer {token}"}) as http:
                for n in range(3):
                    created = await http.post(f"/api/v1/rooms/{room.slug}/invites",
                                              json={"email": f"expert{n}@example.org", "send": True})
                    assert created.status_code == 201, created.text
                await wait_until(lambda: _all_retried(resources), what="a second try of every mail")
                listed = (await http.get(f"/api/v1/rooms/{room.slug}/invites")).json()["items"]
                assert {i["mail"]["state"] for i in listed} == {"queued"}
                await late.start(down_port)
                await wait_until(lambda: len(late.mails) == 3, what="three mails")
                await wait_until(lambda: _all_sent(resources), what="the outbox to record them")
                assert sorted(m["To"] for m in late.mails) == [f"expert{n}@example.org" for n in range(3)]
                assert len({m["Message-ID"] for m in late.mails}) == 3
                listed = (await http.get(f"/api/v1/rooms/{room.slug}/invites")).json()["items"]
                assert {i["mail"]["state"] for i in listed} == {"sent"}
            rows = await outbox(resources)
            assert all(r.body_text == "" and r.body_html == "" for r in rows), "bodies leave the outbox once sent"
            assert all(r.attempts >= 2 for r in rows)
    finally:
        await late.stop()
        await resources.engine.dispose()


async def _all_retried(resources: Resources) -> bool:
    rows = await outbox(resources)
    return len(rows) == 3 and all(r.attempts >= 2 and r.state == "queued" for r in rows)


async def _all_sent(resources: Resources) -> bool:
    rows = await outbox(resources)
    return len(rows) == 3 and all(r.state == "sent" for r in rows)


async def create_user(resources: Resources, email: str, *, moderator: bool = False) -> Any:
    from innovate.accounts.local import create_local_user

    return await create_local_user(resources, email, "correct horse battery", name=email.split("@")[0].title(),
                                   is_moderator=moderator)


async def api_token(resources: Resources, user: Any) -> str:
    from innovate.accounts.tokens import create_token

    return (await create_token(resources, user, "tests"))[1]


async def test_a_permanent_refusal_marks_the_address_bouncing(
        resources: Resources, world: World, sink: Sink, sign_in: Any) -> None:
    sink.refuse.add("ada@example.com")
    await make_message(resources, world.bob, world.a, "@adalovelace hello")
    await wait_until(lambda: _failed(resources), what="the refused mail")
    [row] = await outbox(resources)
    assert row.state == "failed" and row.last_error is not None and row.last_error.startswith("550")
    ada = await sign_in(world.ada)
    bouncing = (await ada.get("/api/v1/me/notification-settings")).json()["mail"]["bouncing"]
    assert bouncing["address"] == "ada@example.com" and "550" in bouncing["reason"]
    assert "was refused" in (await ada.get("/settings/notifications")).text
    # No more mail to that address...
    await make_message(resources, world.bob, world.a, "@adalovelace still there?")
    await make_message(resources, world.ada, world.a, "@bobbuilder marker")
    await wait_until(lambda: sink.to("bob@example.com"), what="the marker mail")
    assert len(await outbox(resources)) == 2
    # ...until the person says it is fixed.
    sink.refuse.clear()
    response = await ada.put("/api/v1/me/notification-settings", json={"clear_bounce": True})
    assert response.json()["mail"]["bouncing"] is None
    await make_message(resources, world.bob, world.a, "@adalovelace welcome back")
    await wait_until(lambda: sink.to("ada@example.com"), what="mail to the fixed address")


async def _failed(resources: Resources) -> bool:
    return any(r.state == "failed" for r in await outbox(resources))


async def test_a_digest_for_activity_in_two_rooms_and_none_without(
        resources: Resources, world: World, sink: Sink, make_user: Any) -> None:
    quiet = await make_user("quiet@example.com", name="Quinn Quiet")
    room_c = await make_room(resources, world.mod_b, title="Quiet corner")
    await join(resources, room_c, quiet)
    before = utcnow() - timedelta(hours=1)
    # Through the service, as a settings page saves them: the running sender may be creating
    # everyone's settings row (to schedule digests) at the same moment.
    for person in (world.ada, quiet):
        await save_settings(resources, person, SettingsChange(
            choices={"mentions": "off", "ideas": "off", "phases": "daily", "invitations": "off"},
            time_zone="Europe/Berlin"))
        async with resources.db.begin() as db:
            await db.execute(update(NotificationSettings).where(NotificationSettings.user_id == person.id)
                             .values(last_digest_at=before, next_digest_at=utcnow() + timedelta(hours=1)))
    await make_idea(resources, world.bob, world.a, title="Electric vans")
    await make_idea(resources, world.bob, world.b, title="Night deliveries")
    async with resources.db.begin() as db:
        await db.execute(update(NotificationSettings).values(next_digest_at=utcnow() - timedelta(seconds=1)))
    [digest] = await wait_until(lambda: sink.to("ada@example.com"), what="Ada's digest")
    text, html = parts(digest)
    assert "Your daily summary" in digest["Subject"]
    for room, idea in ((world.a, "Electric vans"), (world.b, "Night deliveries")):
        assert room.title in text and idea in text and f"http://testserver/rooms/{room.slug}" in html
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    async with resources.db() as db:
        rows = {r.user_id: r for r in (await db.execute(select(NotificationSettings))).scalars()}
    last = rows[quiet.id].last_digest_at
    assert last is not None and last > before
    next_at = rows[quiet.id].next_digest_at
    assert next_at is not None and next_at.astimezone(ZoneInfo("Europe/Berlin")).hour == 8
    assert sink.to("quiet@example.com") == []


async def test_invite_by_email_and_who_may_send_it(resources: Resources, world: World, sink: Sink,
                                                  sign_in: Any, app: Any) -> None:
    mod = await sign_in(world.mod)
    created = await mod.post(f"/api/v1/rooms/{world.a.slug}/invites",
                             json={"email": "expert@example.org", "send": True, "expires_in_hours": 48})
    assert created.status_code == 201, created.text
    [mail] = await wait_until(lambda: sink.to("expert@example.org"), what="the invitation")
    text, html = parts(mail)
    assert created.json()["url"] in text and f'href="{created.json()["url"]}"' in html
    assert "Mo Derator invites you" in mail["Subject"] and world.a.title in mail["Subject"]
    assert "works until" in text and "You do not see other challenges" in text
    assert mail["List-Unsubscribe"] is None  # addressed to one person, once
    panel = await mod.get(f"/rooms/{world.a.slug}/invites")
    assert "sent to expert@example.org" in panel.text
    missing = await mod.post(f"/api/v1/rooms/{world.a.slug}/invites", json={"send": True})
    assert missing.status_code == 422 and "send" in missing.json()["error"]["fields"]
    # Members, guests and another room's moderator may not (403 where they see the room, 404
    # where they do not: the moderator of A and room C, which is invite-only).
    for person, room, status in ((world.ada, world.a, 403), (world.gia, world.a, 403), (world.mod_b, world.a, 403),
                                 (world.mod, world.c, 404), (world.admin, world.c, 201)):
        http = await sign_in(person)
        response = await http.post(f"/api/v1/rooms/{room.slug}/invites",
                                   json={"email": "x@example.org", "send": True})
        assert response.status_code == status, (person.name, response.text)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as outsider:
        response = await outsider.post(f"/api/v1/rooms/{world.a.slug}/invites", json={"email": "x@example.org"},
                                       headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401
    await wait_until(lambda: len(sink.mails) == 2, what="the admin's invitation")
    assert [m["To"] for m in sink.mails] == ["expert@example.org", "x@example.org"]


async def test_notification_settings_api(resources: Resources, world: World, sign_in: Any) -> None:
    ada = await sign_in(world.ada)
    got = (await ada.get("/api/v1/me/notification-settings")).json()
    assert got["categories"] == {"mentions": "immediately", "ideas": "immediately", "phases": "daily",
                                 "invitations": "immediately", "pulses": "immediately"}
    assert got["mail"]["enabled"] is True and got["time_zone"] is None
    for body, field in (({"categories": {"mentions": "hourly"}}, "categories.mentions"),
                        ({"categories": {"gossip": "off"}}, "categories.gossip"),
                        ({"categories": "off"}, "categories"), ({"time_zone": "Mars/Olympus"}, "time_zone")):
        response = await ada.put("/api/v1/me/notification-settings", json=body)
        assert response.status_code == 422 and field in response.json()["error"]["fields"], body
    assert (await ada.post("/api/v1/me/time-zone", json={"time_zone": "Asia/Tokyo"})).json() == {"time_zone": "Asia/Tokyo"}
    # A later guess never replaces it; a choice does.
    assert (await ada.post("/api/v1/me/time-zone", json={"time_zone": "Europe/Paris"})).json() == {"time_zone": "Asia/Tokyo"}
    done = (await ada.put("/api/v1/me/notification-settings",
                          json={"categories": {"phases": "weekly"}, "time_zone": "Europe/Paris"})).json()
    assert done["time_zone"] == "Europe/Paris" and done["digest"] == "weekly"
    local = datetime.fromisoformat(done["next_digest_at"]).astimezone(ZoneInfo("Europe/Paris"))
    assert (local.weekday(), local.hour) == (0, 8)
    page = await ada.post("/settings/notifications", data={"mentions": "daily", "ideas": "off", "phases": "weekly",
                                                           "invitations": "immediately", "time_zone": "Europe/Paris",
                                                           "csrf_token": ada.headers["X-CSRF-Token"]})
    assert page.status_code == 200 and "Saved." in page.text
    assert (await ada.get("/api/v1/me/notification-settings")).json()["categories"]["ideas"] == "off"
    # A tampered form: every bad part at its own field, and nothing saved.
    bad = await ada.post("/settings/notifications", data={"mentions": "hourly", "time_zone": "Mars/Olympus",
                                                          "ideas": "immediately",
                                                          "csrf_token": ada.headers["X-CSRF-Token"]})
    assert bad.status_code == 422 and "Please check the 2 fields marked below." in bad.text
    assert 'id="notification-settings-categories.mentions-error"' in bad.text
    assert 'aria-invalid="true" aria-describedby="notification-settings-time_zone-error"' in bad.text
    assert (await ada.get("/api/v1/me/notification-settings")).json()["categories"]["ideas"] == "off"


async def test_the_mail_test_command(sink: Sink, tmp_path: Any) -> None:
    env = {**os.environ, "INNOVATE_SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
           "INNOVATE_MAIL_FROM": "Innovate <innovate@example.com>", "INNOVATE_DATA_DIR": str(tmp_path),
           "INNOVATE_SECRET_KEY": "s" * 40}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "innovate", "mail", "test", "ops@example.com",
                                                   env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert out.decode().startswith("sent to ops@example.com via smtp://127.0.0.1:") and len(out.decode().splitlines()) == 1
    [mail] = sink.to("ops@example.com")
    assert "test mail" in mail["Subject"]
    sink.refuse.add("nobody@example.com")
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "innovate", "mail", "test",
                                                   "nobody@example.com", env=env, stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    assert process.returncode == 1 and "550" in out.decode()
