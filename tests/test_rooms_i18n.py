"""The rooms in German, French and Spanish: the room, idea, directory, settings, search and
review pages, the live frames rendered for a reader's language, plural forms, and the error
messages the room services raise (pages and the JSON API alike)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from innovate.i18n import use_locale
from innovate.live.html import render_event_html
from innovate.rooms.phases import Standing, blocked_for, remaining_text
from innovate.rooms.serializers import Viewer
from innovate.web import create_templates
from tests.factories import join, make_idea, make_message, make_room
from tests.reviews_support import assign, build_panel
from tests.test_room_fragments import frame, idea, message, parts, room

TEMPLATES = create_templates()
MEMBER = Viewer(user_id=2, moderator=False)
MODERATOR = Viewer(user_id=1, moderator=True)
DE, FR, ES = ({"Accept-Language": lang} for lang in ("de-DE,de;q=0.9", "fr-FR", "es"))


@pytest.fixture
async def world(make_user, resources) -> dict[str, Any]:
    """An open challenge with a dot-voting budget, an idea, a message, a member and its moderator."""
    moderator = await make_user("mod-i18n@example.com", name="Mo Derator", is_moderator=True)
    member = await make_user("member-i18n@example.com", name="Em Member")
    green = await make_room(resources, moderator, slug="gruen", title="Green logistics", voting_mode="budget",
                            budget=5, max_per_idea=2)
    await join(resources, green, member)
    bikes = await make_idea(resources, member, green, title="Cargo bikes")
    await make_message(resources, member, green, "Hello everyone")
    return {"moderator": moderator, "member": member, "room": green, "idea": bikes}


async def test_the_room_page_in_german(world, sign_in) -> None:
    http = await sign_in(world["member"])
    page = (await http.get("/rooms/gruen", headers=DE)).text
    assert '<html lang="de">' in page
    for german in ("Zur Diskussion springen", ">Diskussion</h2>", ">Ideen</h2>", "Idee einreichen", "Offen für Ideen",
                   "Punktabstimmung: je 5 Punkte, höchstens 2 pro Idee", "Sie haben noch <strong>5</strong> von 5 Punkten",
                   "Neu", "Verlassen…", "In Markdown schreiben; @name erwähnt ein Mitglied"):
        assert german in page, german
    # The people's content stays as it was written.
    assert "Cargo bikes" in page and "Hello everyone" in page
    assert "Submit an idea" not in page and "Discussion" not in page


async def test_the_moderators_room_page_and_settings_in_german(world, sign_in) -> None:
    http = await sign_in(world["moderator"])
    page = (await http.get("/rooms/gruen", headers=DE)).text
    assert "Moderationswerkzeuge" in page and "Abstimmung starten" in page and "Raum schließen" in page
    settings = (await http.get("/rooms/gruen/settings", headers=DE)).text
    for german in ("Einstellungen", "Wer mitmacht", "Alle Mitarbeitenden können beitreten", "Punkte pro Mitglied",
                   "Stimmenzahlen bis zum Ende der Abstimmung verbergen", "Einstellungen speichern"):
        assert german in settings, german


async def test_the_idea_page_in_french(world, sign_in) -> None:
    http = await sign_in(world["member"])
    page = (await http.get(f"/rooms/gruen/ideas/{world['idea'].id}", headers=FR)).text
    assert '<html lang="fr">' in page
    for french in ("Modifier votre idée", "Soumise", "par <span class=\"person\">Em Member</span>", "Ajouter un point",
                   "Aucun message pour l’instant", "Vos points\u00a0: 0 sur 2"):
        assert french in page, french


async def test_the_directory_and_search_in_spanish(world, sign_in) -> None:
    http = await sign_in(world["member"])
    directory = (await http.get("/rooms?q=green", headers=ES)).text
    assert "Buscar por título" in directory and "1 reto para «green»" in directory and "Abierto a ideas" in directory
    none = (await http.get("/rooms?q=nothing-like-this", headers=ES)).text
    assert "0 retos para «nothing-like-this»" in none and "Ningún reto coincide." in none
    search = (await http.get("/search?q=cargo", headers=ES)).text
    assert ">Ideas <small>(1)</small>" in search and "Ningún mensaje contiene estas palabras." in search
    refused = (await http.get("/search?q=x", headers=ES)).text
    assert "escriba al menos una palabra de dos letras o más" in refused


async def test_form_errors_and_api_messages_follow_the_browser(world, sign_in) -> None:
    http = await sign_in(world["moderator"])
    bad = await http.post("/api/v1/rooms", json={"slug": "A", "title": "x"}, headers=FR)
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "invalid" and "slug" in error["fields"]  # the machine parts stay as they are
    assert error["fields"]["slug"].startswith("utilisez de 3 à 64 lettres minuscules")
    gone = await http.put("/api/v1/ideas/999999/vote", json={"value": 1}, headers=DE)
    assert gone.status_code == 404 and gone.json()["error"] == {"code": "not_found", "message": "Diese Idee gibt es nicht."}
    back = await http.patch("/api/v1/rooms/gruen", json={"phase": "draft"}, headers=ES)
    assert back.status_code == 409 and back.json()["error"]["message"] == (
        "La fase no puede volver de «Abierto a ideas» a «Borrador».")
    english = await http.put("/api/v1/ideas/999999/vote", json={"value": 1})
    assert english.json()["error"]["message"] == "No such idea."


async def test_the_review_pages_in_french_and_german(resources, make_user, sign_in) -> None:
    panel = await build_panel(resources, make_user, sign_in)
    moderator = await sign_in(panel.mod)
    await assign(moderator, panel, (panel.ada_idea, panel.gia))
    manage = (await moderator.get(f"/rooms/{panel.room.slug}/reviews", headers=FR)).text
    for french in ("Évaluations d", "Avancement et résultats", "Évaluateurs par idée", "Pondération",
                   "Communiquer les résultats aux auteurs"):
        assert french in manage, french
    guest = await sign_in(panel.gia)
    queue = (await guest.get(f"/rooms/{panel.room.slug}/reviews/queue", headers=DE)).text
    assert "Ihre Bewertungen" in queue and "<strong>0</strong> von <strong>1</strong> bewertet." in queue
    scorecard = (await guest.get(f"/rooms/{panel.room.slug}/ideas/{panel.ada_idea.id}/review", headers=DE)).text
    for german in ("Ihr Bewertungsbogen", "(Gewichtung 2)", "Empfehlung", "Weiterverfolgen", "Zurückstellen",
                   "Entwurf speichern", "Bewertung abschicken"):
        assert german in scorecard, german


def test_plural_forms_of_the_tally_in_french_and_german() -> None:
    def tally(voters: int, lang: str) -> str:
        with use_locale(lang):
            return render_event_html(TEMPLATES, frame("tally.changed", tallies=[
                {"idea_id": 5, "up": voters, "down": 0, "score": voters, "voters": voters}]), MEMBER)

    assert "1 votant" in tally(1, "fr") and "1 votants" not in tally(1, "fr")
    assert "3 votants" in tally(3, "fr")
    assert "1 abstimmende Person" in tally(1, "de") and "3 Abstimmende" in tally(3, "de")
    assert "3 voters" in tally(3, "en") and "1 voter<" in tally(1, "en")


def test_live_frames_render_in_the_readers_language() -> None:
    with use_locale("fr"):
        posted = parts(render_event_html(TEMPLATES, frame("message.posted", message=message()), MEMBER))
        changed = parts(render_event_html(TEMPLATES, frame("room.phase_changed", room=room(phase="voting")), MODERATOR))
        card = parts(render_event_html(TEMPLATES, frame("idea.submitted", idea=idea()), MEMBER))
    assert "Nouveau message de Gus Guest dans la discussion." in posted[-1][2]
    assert "Répondre" in posted[0][2] and "Supprimer" not in posted[0][2]
    targets = {target: html for target, _swap, html in changed}
    assert "L’espace est maintenant en phase de vote." in targets["#live-announcer"]
    assert "Vote</strong>" in targets["#phase-banner"] and "Clôturer le vote" in targets["#phase-controls"]
    assert "Nouvelle idée\u00a0: Cargo bikes" in card[-1][2] and "Soumise" in card[0][2]
    with use_locale("es"):
        spanish = parts(render_event_html(TEMPLATES, frame("message.posted", message=message()), MEMBER))
    assert "Nuevo mensaje de Gus Guest en la conversación." in spanish[-1][2]


def test_the_reasons_a_composer_is_disabled_and_the_countdown_are_translated() -> None:
    closed = room(phase="closed")
    with use_locale("de"):
        blocked = blocked_for(closed, False, Standing(member=True, muted_until=None, can_join=False))
        left = remaining_text(timedelta(days=2, hours=5))
        outsider = blocked_for(room(), False, Standing(member=False, muted_until=None, can_join=True))
    assert blocked["post"] == "Die Diskussion kann nur gelesen werden: Der Raum ist abgeschlossen."
    assert left == "in 2 T. 5 Std."
    assert outsider["vote"] == "Treten Sie dieser Challenge bei, um mitzumachen."
    assert remaining_text(timedelta(days=2, hours=5)) == "in 2 d 5 h"
