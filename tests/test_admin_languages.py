"""The administrators' and moderators' pages in other languages: the people pages, the account
page, sign-in failures, the moderation queue and its live parts, the audit log, insights and the
results report follow the reader's language (``Accept-Language`` here), plurals included; the
API's error message is localised while its code and fields stay English."""

from __future__ import annotations

from datetime import date
from html import unescape
from typing import Any

from innovate.accounts.models import User
from innovate.auth.invite_locks import lock_warning
from innovate.i18n import ngettext, use_locale
from innovate.insights import charts
from innovate.insights.overview import duration
from innovate.live.html import render_event_html
from innovate.moderation.pages import mute_label
from innovate.resources import Resources
from innovate.settings import Settings
from tests.clients import form_csrf
from tests.factories import join, make_room
from tests.moderation_support import build_world
from tests.test_room_fragments import MEMBER, MODERATOR, TEMPLATES, frame, message

API = "/api/v1/admin/people"


def lang(code: str) -> dict[str, str]:
    return {"Accept-Language": code}


async def admin_and_employee(make_user: Any) -> tuple[User, User]:
    admin = await make_user("root@corp.example", name="Ada Admin", is_admin=True)
    employee = await make_user("emma@corp.example", name="Emma Employee")
    return admin, employee


async def test_people_pages_in_german_and_french(resources: Resources, make_user: Any, sign_in: Any) -> None:
    admin, employee = await admin_and_employee(make_user)
    http = await sign_in(admin)
    index = await http.get("/admin/people", headers=lang("de"))
    assert index.status_code == 200
    assert '<html lang="de"' in index.text
    assert "Kolleg:innen einladen" in index.text and "Name oder E-Mail" in index.text
    assert "2 Personen" in index.text and "Invite colleagues" not in index.text
    person = await http.get(f"/admin/people/{employee.id}", headers=lang("fr"))
    assert "Nommer administrateur" in person.text and "Saisissez ERASE pour confirmer" in person.text
    assert "Make an administrator" not in person.text
    scim = await http.get("/admin/people/scim", headers=lang("es"))
    assert "Aprovisionamiento SCIM" in scim.text and "Crear un token SCIM" in scim.text


async def test_invitation_preview_plurals_in_german(resources: Resources, make_user: Any, sign_in: Any) -> None:
    admin, _employee = await admin_and_employee(make_user)
    http = await sign_in(admin)
    page = await http.get("/admin/people", headers=lang("de"))
    token = form_csrf(page.text)
    one = await http.post("/admin/people/invite", headers=lang("de"),
                          data={"csrf_token": token, "list": "neu@corp.example"})
    assert "1 Person wird eingeladen." in one.text and "1 Person einladen" in one.text
    three = await http.post("/admin/people/invite", headers=lang("de"), data={
        "csrf_token": token, "list": "a@corp.example, b@corp.example, c@corp.example, not-an-address"})
    assert "3 Personen werden eingeladen." in three.text and "3 Personen einladen" in three.text
    assert "1 Zeile hat ein Problem und wird ausgelassen." in three.text and "keine E-Mail-Adresse" in three.text


async def test_people_flash_and_api_error_follow_the_language(resources: Resources, make_user: Any,
                                                              sign_in: Any) -> None:
    admin, employee = await admin_and_employee(make_user)
    http = await sign_in(admin)
    page = await http.get(f"/admin/people/{employee.id}", headers=lang("fr"))
    token = form_csrf(page.text)
    made = await http.post(f"/admin/people/{employee.id}/roles", headers=lang("fr"),
                           data={"csrf_token": token, "role": "admin", "on": "1"}, follow_redirects=True)
    assert "Désormais administrateur." in made.text
    missing = await http.get(f"{API}/999999", headers=lang("fr"))
    assert missing.status_code == 404
    assert missing.json()["error"] == {"code": "not_found", "message": "Cet utilisateur n'existe pas."}
    dry = await http.post(f"{API}/invitations", headers=lang("es"), json={"list": "nope", "dry_run": True})
    assert dry.json()["errors"][0]["error"] == "no es una dirección de correo"
    bad = await http.get(API, headers=lang("de"), params={"kind": "robot"})
    assert bad.json()["error"]["fields"] == {"kind": "expected one of employee, guest"}


async def test_account_page_in_spanish(resources: Resources, make_user: Any, sign_in: Any) -> None:
    admin, _employee = await admin_and_employee(make_user)
    http = await sign_in(admin)
    page = await http.get("/account", headers=lang("es"))
    assert page.status_code == 200
    assert "Su cuenta" in page.text and "Cómo inicia sesión" in page.text and "Descargar mis datos" in page.text
    assert "Correo electrónico y contraseña" in page.text and "Your account" not in page.text


def test_invite_lock_warning_in_french() -> None:
    settings = Settings(allow_local_guests=True, employee_domains="corp.example")
    with use_locale("fr"):
        warning = lock_warning(settings, "ext@partner.example", None)
    assert warning is not None and warning.startswith("Personne ne peut encore utiliser ce lien")


# Moderation ---------------------------------------------------------------------------------


async def test_moderation_queue_and_reports_in_german_and_french(resources: Resources, make_user: Any,
                                                                   sign_in: Any) -> None:
    world = await build_world(resources, make_user)
    slug = world.a.slug
    mod, bob = await sign_in(world.mod), await sign_in(world.bob)
    empty = await mod.get(f"/rooms/{slug}/moderation", headers=lang("de"))
    assert empty.status_code == 200
    assert "Wartet auf Freigabe" in empty.text and "Nichts wartet auf Freigabe." in empty.text
    assert "Keine offenen Meldungen." in empty.text and "Awaiting review" not in empty.text
    room_page = await bob.get(f"/rooms/{slug}", headers=lang("fr"))
    filed = await bob.post(f"/rooms/{slug}/reports", headers={**lang("fr"), "HX-Request": "true"}, data={
        "csrf_token": form_csrf(room_page.text), "message_id": str(world.message.id),
        "reason": "Spam or advertising"})
    assert filed.status_code == 200 and "Merci : les modérateurs vont l'examiner." in unescape(filed.text)
    queue = await mod.get(f"/rooms/{slug}/moderation/reports", headers={**lang("de"), "HX-Request": "true"})
    assert "1 Meldung zu" in queue.text and "Spam oder Werbung" in queue.text
    assert "Ausblenden und die verfassende Person stummschalten" in queue.text
    # The API names the refusal in the caller's language; its code stays English.
    twice = await bob.post("/api/v1/reports", headers=lang("es"),
                           json={"message_id": world.message.id, "reason": "Spam or advertising"})
    assert twice.status_code in (200, 201)
    own = await world_client_error(sign_in, world, lang("es"))
    assert own == {"code": "invalid", "fields": {"message_id": "that is your own post"}}


async def world_client_error(sign_in: Any, world: Any, headers: dict[str, str]) -> dict[str, Any]:
    ada = await sign_in(world.ada)
    refused = await ada.post("/api/v1/reports", headers=headers, json={"message_id": world.message.id,
                                                                         "reason": "Other"})
    error = refused.json()["error"]
    assert error["message"] == "mensaje: es su propia publicación" and error["fields"] == {"message_id": "that is your own post"}
    return {"code": error["code"], "fields": error["fields"]}


async def test_audit_log_in_spanish(resources: Resources, make_user: Any, sign_in: Any) -> None:
    world = await build_world(resources, make_user)
    mod = await sign_in(world.mod)
    page = await mod.get(f"/rooms/{world.a.slug}/audit", headers=lang("es"))
    assert page.status_code == 200
    assert "Registro de auditoría" in page.text and "Exportar estas entradas como CSV" in page.text
    assert "Audit log" not in page.text


def test_moderator_tools_in_a_live_frame_are_french() -> None:
    with use_locale("fr"):
        html = render_event_html(TEMPLATES, frame("message.posted", message_id=11, message=message()), MODERATOR)
        member_html = render_event_html(TEMPLATES, frame("message.posted", message_id=11, message=message()), MEMBER)
    assert "Masquer…" in html and "Épingler" in html and "Mettre en sourdine" in html and "Hide…" not in html
    assert "Signaler" in member_html and "Pourquoi un modérateur devrait-il examiner ce message ?" in member_html


def test_mute_lengths_are_plural_forms() -> None:
    with use_locale("de"):
        assert (mute_label(60), mute_label(3 * 60)) == ("1 Stunde", "3 Stunden")
        assert (mute_label(7 * 24 * 60), mute_label(30 * 24 * 60)) == ("1 Woche", "30 Tage")
    with use_locale("fr"):
        assert (mute_label(1), mute_label(15)) == ("1 minute", "15 minutes")


# Insights -----------------------------------------------------------------------------------


async def test_insights_pages_in_german_french_and_spanish(resources: Resources, make_user: Any,
                                                           sign_in: Any) -> None:
    admin = await make_user("root@corp.example", name="Ada Admin", is_admin=True)
    hanna = await make_user("hr@corp.example", name="Hanna HR", is_moderator=True)
    emma = await make_user("emma@corp.example", name="Emma Employee")
    room = await make_room(resources, hanna, slug="languages-room")
    await join(resources, room, emma)
    mod = await sign_in(hanna)
    dashboard = unescape((await mod.get(f"/rooms/{room.slug}/insights", headers=lang("de"))).text)
    assert "Beteiligungstrichter" in dashboard and "Ergebnisse herunterladen" in dashboard
    # The chart's words: its title, and its description with the plural the number takes.
    assert "<title id=" in dashboard and "Eingeladen: 3 Mitarbeitende, 0 Gäste; Beigetreten: 1 Mitarbeiter:in, 0 Gäste" \
        in dashboard
    assert "Participation funnel" not in dashboard
    report = unescape((await mod.get(f"/rooms/{room.slug}/report", headers=lang("fr"))).text)
    assert "Résultats du challenge" in report and "<strong>Provisoire.</strong>" in report
    assert "1 participant" in report and "Aucune idée n'a été retenue." in report
    site = unescape((await (await sign_in(admin)).get("/admin/insights", headers=lang("es"))).text)
    assert "Análisis de todos los retos" in site and "1 reto" in site
    interests = await (await sign_in(emma)).get("/me/interests", headers=lang("de"))
    assert "Ihre Interessen" in interests.text


def test_chart_descriptions_and_durations_follow_the_language() -> None:
    funnel = [charts.Series("Mitarbeitende", [1, 3], lambda n: ngettext("%(count)s employee", "%(count)s employees",
                                                                       int(n), count=str(int(n))))]
    with use_locale("de"):
        assert charts.describe_bars(["Eingeladen", "Beigetreten"], funnel) == "Eingeladen: 1; Beigetreten: 3."
        two = [*funnel, charts.Series("Gäste", [1, 3], lambda n: ngettext("%(count)s guest", "%(count)s guests",
                                                                           int(n), count=str(int(n))))]
        assert charts.describe_bars(["A"], [charts.Series(s.name, s.values[:1], s.counted) for s in two]) \
            == "A: 1 Mitarbeiter:in, 1 Gast."
        assert duration(3.5 * 3600) == "3,5 Std."
    with use_locale("fr"):
        days = [date(2030, 1, 1), date(2030, 1, 2)]
        said = charts.describe_days(days, [charts.Series("Votes", [1, 2], lambda n: ngettext(
            "%(count)s vote", "%(count)s votes", int(n), count=str(int(n))))])
        assert said == "Du 1 janv. 2030 au 2 janv. 2030 : 3 votes au total. Le jour le plus actif a été le 2 janv. 2030."
        assert duration(2 * 86400) == "2 jours"
