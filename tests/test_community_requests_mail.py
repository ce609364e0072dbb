"""Join requests and HR pulses by e-mail, against a real SMTP server: the owners get one mail
for several people asking, the requester the answer with its reason; pulses go under their own
setting, so turning off invitations no longer silences HR (nor the other way round)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from innovate.db import utcnow
from innovate.mail.models import OutboxMail
from innovate.resources import Resources
from innovate.rooms import service
from tests.mail_support import FAST_MAIL, Sink, parts, sink, wait_until

__all__ = ["sink"]


@pytest.fixture
def settings_overrides(sink: Sink) -> dict[str, Any]:
    return {"smtp_url": f"smtp://127.0.0.1:{sink.port}", **FAST_MAIL}


async def mails_of(resources: Resources, address: str) -> list[OutboxMail]:
    async with resources.db() as db:
        return list((await db.execute(select(OutboxMail).where(OutboxMail.to_address == address)
                                      .order_by(OutboxMail.id))).scalars())


async def test_owners_get_one_mail_for_several_and_the_requester_the_answer(
        app: Any, resources: Resources, make_user: Any, sign_in: Any, sink: Sink,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from innovate.mail import gather

    owner = await make_user("owner@example.com", name="Olga Owner")
    emp, eve = await make_user("emp@example.com", name="Em Ployee"), await make_user("eve@example.com", name="Eve Two")
    await service.create_room(resources, owner, {"kind": "community", "slug": "book-club", "title": "Book club",
                                                 "visibility": "by-request"})
    # Both requests land in one gather window, however slow the machine.
    monkeypatch.setattr(gather, "utcnow", lambda: utcnow() - timedelta(hours=1))
    for who in (emp, eve):
        assert (await (await sign_in(who)).post("/api/v1/communities/book-club/requests", json={})).status_code == 201
    monkeypatch.setattr(gather, "utcnow", utcnow)
    [mail] = await wait_until(lambda: sink.to("owner@example.com"), what="the owner's mail")
    assert mail["Subject"] == "2 people ask to join 'Book club'"
    text, _ = parts(mail)
    assert "http://testserver/rooms/book-club/requests" in text
    [stored] = await mails_of(resources, "owner@example.com")
    assert stored.category == "invitations"
    # The answer reaches the requester although they cannot see the community.
    http = await sign_in(owner)
    pending = (await http.get("/api/v1/communities/book-club/requests")).json()["pending"]
    await http.post(f"/api/v1/communities/book-club/requests/{pending[0]['id']}/decline",
                    json={"reason": "Members only from the Paris office"})
    [declined] = await wait_until(lambda: sink.to("emp@example.com"), what="Em's mail")
    assert declined["Subject"] == "Your request to join 'Book club' was declined: Members only from the Paris office"
    await http.post(f"/api/v1/communities/book-club/requests/{pending[1]['id']}/approve")
    [approved] = await wait_until(lambda: sink.to("eve@example.com"), what="Eve's mail")
    assert approved["Subject"] == "You are in: Olga Owner approved your request to join 'Book club'"
    assert "http://testserver/rooms/book-club" in parts(approved)[0]


async def test_pulses_have_their_own_setting(app: Any, resources: Resources, make_user: Any, sign_in: Any,
                                             sink: Sink) -> None:
    admin = await make_user("hr@example.com", name="Hana HR", is_admin=True)
    quiet = await make_user("quiet@example.com", name="Quinn Quiet")
    no_pulses = await make_user("nopulse@example.com", name="Nora Nopulse")
    assert (await (await sign_in(quiet)).put("/api/v1/me/notification-settings",
                                             json={"categories": {"invitations": "off"}})).status_code == 200
    assert (await (await sign_in(no_pulses)).put("/api/v1/me/notification-settings",
                                                 json={"categories": {"pulses": "off"}})).status_code == 200
    hr = await sign_in(admin)
    sent = await hr.post("/api/v1/pulses", json={"body": "How was the offsite?", "question_kind": "yesno",
                                                 "question": "Did you enjoy the offsite?"})
    assert sent.status_code == 201, sent.text
    [mail] = await wait_until(lambda: sink.to("quiet@example.com"), what="the pulse mail")
    assert "Did you enjoy the offsite?" in mail["Subject"]
    [stored] = await mails_of(resources, "quiet@example.com")
    assert stored.category == "pulses" and "HR sent a pulse" in parts(mail)[0]
    # Nora still has it in her inbox, with no mail.
    items = (await (await sign_in(no_pulses)).get("/api/v1/me/notifications")).json()["items"]
    assert [(i["kind"], i["category"]) for i in items] == [("pulse", "pulses")]
    assert await mails_of(resources, "nopulse@example.com") == []
