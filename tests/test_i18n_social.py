"""Languages in the social areas (communities, pulses, personas, notifications, mail, showcase,
invites): a page of each kind in German, French or Spanish by the browser's Accept-Language, API
error messages in the caller's language (code and fields stay English), and plural forms."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from innovate.i18n import ngettext, use_locale
from innovate.mail import messages
from innovate.notifications.queries import subject
from innovate.resources import Resources
from innovate.rooms import service

DE = {"Accept-Language": "de-DE,de;q=0.9"}
FR = {"Accept-Language": "fr-FR,fr;q=0.9"}
ES = {"Accept-Language": "es-ES,es;q=0.9"}


async def person(make_user: Any, role: str) -> Any:
    flags = {"admin": {"is_admin": True}, "mod": {"is_moderator": True}}.get(role, {})
    return await make_user(f"{role}@example.com", name=f"{role.title()} Person", **flags)


def test_plural_forms_follow_the_language() -> None:
    for locale, one, three in (("de", "1 Mitglied", "3 Mitglieder"), ("fr", "1 membre", "3 membres"),
                               ("es", "1 miembro", "3 miembros"), ("en", "1 member", "3 members")):
        with use_locale(locale):
            assert ngettext("%(num)d member", "%(num)d members", 1) == one
            assert ngettext("%(num)d member", "%(num)d members", 3) == three
    with use_locale("fr"):
        # French counts 0 as singular, unlike English and German
        assert ngettext("%(num)d follower", "%(num)d followers", 0) == "0 abonné"


async def test_community_pages_follow_the_browser(make_user: Any, resources: Resources, sign_in: Any) -> None:
    emp = await sign_in(await person(make_user, "emp"))
    await service.create_room(resources, await person(make_user, "mod"), {"kind": "community", "slug": "cyclists", "title": "Cyclists",
                                                         "visibility": "employees"})
    english = await emp.get("/communities")
    assert "Start a community" in english.text and "1 member" in english.text
    german = await emp.get("/communities", headers=DE)
    assert german.status_code == 200
    assert 'lang="de"' in german.text
    assert "Community gründen" in german.text and "1 Mitglied" in german.text and "Beitreten" in german.text
    assert "Start a community" not in german.text
    spanish = await emp.get("/communities/new", headers=ES)
    assert "Crear una comunidad" in spanish.text and "Quién puede unirse" in spanish.text


async def test_api_errors_speak_the_callers_language_with_english_codes(make_user: Any, sign_in: Any) -> None:
    emp = await sign_in(await person(make_user, "emp"))
    missing = await emp.get("/api/v1/personas/999999", headers=FR)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Cette persona n'existe pas."
    assert missing.json()["error"]["code"] == "not_found"
    refused = await emp.post("/api/v1/personas", json={"name": "Green champion"}, headers=DE)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"].startswith("Das darf nur HR")


async def test_pulse_and_persona_pages_follow_the_browser(make_user: Any, sign_in: Any) -> None:
    admin, emp = await sign_in(await person(make_user, "admin")), await sign_in(await person(make_user, "emp"))
    form = await admin.get("/pulses/new", headers=FR)
    assert "Nouveau sondage flash" in form.text and "Envoyer le sondage flash" in form.text
    sent = await admin.post("/api/v1/pulses", json={"body": "How is the week?", "question_kind": "yesno",
                                                      "question": "Good week?", "results_to_audience": True})
    assert sent.status_code == 201, sent.text
    home = await emp.get("/", headers=ES)
    assert "Good week?" in home.text and "Sí" in home.text and "Responder" in home.text
    personas = await emp.get("/personas", headers=DE)
    assert "Folgen Sie den Personas" in personas.text and "Noch keine Persona." in personas.text


def test_notification_subjects_are_worded_in_the_readers_language() -> None:
    with use_locale("de"):
        assert subject("reply", 1, "Greener logistics", "Ada", {}, "") == "Ada hat Ihnen in „Greener logistics“ geantwortet"
        assert subject("reply", 3, "Greener logistics", "Ada", {}, "") == "3 neue Antworten an Sie in „Greener logistics“"
        assert subject("join_request", 1, "Cyclists", None, {"pending": 2}, "") == "2 Personen möchten „Cyclists“ beitreten"
    with use_locale("fr"):
        assert subject("thread_comment", 1, "Cyclists", "Ada", {}, "") == "Ada a répondu dans « Cyclists »"
        assert subject("thread_comment", 3, "Cyclists", "Ada", {}, "") == "3 nouvelles réponses dans « Cyclists »"
        assert subject("idea_status", 1, "Bikes", None, {"status": "shortlisted"}, "") == (
            "Votre idée « Bikes » est désormais présélectionnée")
    assert subject("reply", 3, "Greener logistics", "Ada", {}, "") == "3 new replies to you in 'Greener logistics'"


def test_mails_are_written_in_the_language_they_are_rendered_in() -> None:
    with use_locale("fr"):
        text, html = messages.render("invite", inviter="Ada", room_title="Cleaner air", url="https://x/join/t",
                                     expires="7 décembre 2026", max_uses=1, guests_until="closed", access_days=3)
    assert "Ada vous invite au challenge \"Cleaner air\" sur Innovate." in text
    assert "votre accès prend fin 3 jours après votre arrivée" in text
    assert '<html lang="fr">' in html and "Rejoindre le challenge" in html
    with use_locale("es"):
        text, _html = messages.render("welcome", inviter="Ada", sso=None, url="https://x/set", days=1, person="Bo",
                                      site="https://x")
    assert "el enlace es válido una vez, durante 1 día" in text


async def test_inbox_settings_and_unsubscribe_follow_the_browser(make_user: Any, sign_in: Any) -> None:
    emp = await sign_in(await person(make_user, "emp"))
    inbox = await emp.get("/notifications", headers=DE)
    assert "Benachrichtigungen" in inbox.text and "Noch keine Benachrichtigungen." in inbox.text
    settings_page = await emp.get("/settings/notifications", headers=FR)
    assert "Paramètres de notification" in settings_page.text and "Récapitulatif quotidien" in settings_page.text
    gone = await emp.get("/mail/unsubscribe/not-a-token", headers=ES)
    assert gone.status_code == 404 and "Este enlace ya no es válido" in gone.text


async def test_public_positions_and_the_invite_page_follow_the_browser(make_user: Any, resources: Resources,
                                                                        client: Any, sign_in: Any) -> None:
    mod = await person(make_user, "mod")
    hr = await sign_in(mod)
    created = await hr.post("/api/v1/positions", json={"title": "Logistics engineer", "team": "Operations",
                                                       "ats_url": "https://jobs.example.com/42"})
    assert created.status_code == 201, created.text
    french = await client.get("/positions", headers=FR)
    assert "Postes ouverts chez" in french.text and 'lang="fr"' in french.text
    assert "Accept-Language" in french.headers["vary"]  # a shared cache keeps one copy per language
    english = await client.get("/positions")
    assert "Open positions at" in english.text and english.headers["etag"] != french.headers["etag"]

    room = await service.create_room(resources, mod, {"slug": "cleaner-air", "title": "Cleaner air", "phase": "open"})
    invite = await hr.post(f"/api/v1/rooms/{room.slug}/invites", json={})
    assert invite.status_code == 201, invite.text
    join = await client.get(urlsplit(invite.json()["url"]).path, headers=FR)
    assert join.status_code == 200
    assert "Rejoindre « Cleaner air »" in join.text and "L'invitation est valable jusqu'au" in join.text
