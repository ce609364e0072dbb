"""Mail in the recipient's language, against a real SMTP server: never the language of the
person whose action caused it, whichever language their browser asked for."""

from __future__ import annotations

from email.header import decode_header, make_header
from typing import Any

import pytest

from innovate.accounts.language import set_language
from innovate.resources import Resources
from tests.mail_support import FAST_MAIL, Sink, parts, sink, wait_until

__all__ = ["sink"]


@pytest.fixture
def settings_overrides(sink: Sink) -> dict[str, Any]:
    return {"smtp_url": f"smtp://127.0.0.1:{sink.port}", **FAST_MAIL}


async def test_a_german_recipient_gets_a_german_mail_from_an_english_actor(
        resources: Resources, make_user: Any, sign_in: Any, app: Any, sink: Sink) -> None:
    from tests.factories import join, make_room

    moderator = await make_user("mod-lang@example.com", name="Mo Derator", is_moderator=True)
    greta = await make_user("greta@example.com", name="Greta Deutsch")
    eric = await make_user("eric@example.com", name="Eric English")
    room = await make_room(resources, moderator)
    await join(resources, room, greta, eric)
    await set_language(resources, greta, "de")
    # Eric's browser is English, Greta's choice German: Eric mentions her, and she him.
    eric_http = await sign_in(eric)
    greta_http = await sign_in(greta)
    posted = await eric_http.post(f"/api/v1/rooms/{room.slug}/messages", json={"body": "@gretadeutsch look"},
                                  headers={"Accept-Language": "en"})
    assert posted.status_code == 201, posted.text
    posted = await greta_http.post(f"/api/v1/rooms/{room.slug}/messages", json={"body": "@ericenglish ja"},
                                   headers={"Accept-Language": "fr"})  # her browser's language does not matter
    assert posted.status_code == 201, posted.text

    [german] = await wait_until(lambda: sink.to("greta@example.com"), what="Greta's mail")
    text, html = parts(german)
    assert '<html lang="de">' in html
    assert "Benachrichtigungseinstellungen" in html and "Diese E-Mails abbestellen" in html
    assert "Sie erhalten diese E-Mail, weil jemand Sie erwähnt" in text
    assert "Einstellungen: http://testserver/settings/notifications" in text
    assert "Notification settings" not in html and "You get this" not in text

    [english] = await wait_until(lambda: sink.to("eric@example.com"), what="Eric's mail")
    text, html = parts(english)
    assert '<html lang="en">' in html and "Notification settings" in html
    assert "You get this because someone mentioned you" in text


async def test_a_mail_written_during_a_french_request_is_in_the_sites_language(
        make_user: Any, sign_in: Any, sink: Sink) -> None:
    """The invitation is queued inside the administrator's request; the invitee has no
    language yet, so the mail is in the site's default, not the administrator's French."""
    admin = await make_user("root-lang@example.com", name="Ada Admin", is_admin=True)
    http = await sign_in(admin)
    answer = await http.post("/api/v1/admin/people/invitations", json={"email": "lin-lang@example.com", "name": "Lin"},
                             headers={"Accept-Language": "fr"})
    assert answer.status_code == 201, answer.text
    [mail] = await wait_until(lambda: sink.to("lin-lang@example.com"), what="the invitation")
    _text, html = parts(mail)
    assert '<html lang="en">' in html


async def test_a_spanish_recipient_gets_the_subject_and_items_in_spanish(
        resources: Resources, make_user: Any, sign_in: Any, app: Any, sink: Sink) -> None:
    from tests.factories import join, make_room

    moderator = await make_user("mod-es@example.com", name="Mo Derator", is_moderator=True)
    sofia = await make_user("sofia@example.com", name="Sofia Espanol")
    ben = await make_user("ben@example.com", name="Ben Writer")
    room = await make_room(resources, moderator, title="Cleaner air")
    await join(resources, room, sofia, ben)
    await set_language(resources, sofia, "es")
    posted = await (await sign_in(ben)).post(f"/api/v1/rooms/{room.slug}/messages",
                                             json={"body": "@sofiaespanol look"}, headers={"Accept-Language": "de"})
    assert posted.status_code == 201, posted.text

    [mail] = await wait_until(lambda: sink.to("sofia@example.com"), what="Sofia's mail")
    assert str(make_header(decode_header(mail["Subject"]))) == "Ben Writer le ha mencionado en «Cleaner air»"
    text, html = parts(mail)
    assert "Ben Writer le ha mencionado en «Cleaner air»" in text and '<html lang="es">' in html


def test_why_an_invite_mail_failed_is_worded_in_the_readers_language() -> None:
    from innovate import i18n
    from innovate.mail.invites import InviteMail

    bounced = InviteMail("x@example.org", "failed", None, "not sent: the address bounced")
    relay = InviteMail("x@example.org", "failed", None, "550 5.1.1 unknown user")
    with i18n.use_locale("de"):
        assert "nicht gesendet: die Adresse ist unzustellbar" in bounced.words
        assert "550 5.1.1 unknown user" in relay.words  # a server's own reply is shown as it came
    assert "not sent: the address bounced" in bounced.words
