"""The administrators' and moderators' pages in other languages: the people pages, the account
page, sign-in failures, the moderation queue and its live parts, the audit log, insights and the
results report follow the reader's language (``Accept-Language`` here), plurals included; the
API's error message is localised while its code and fields stay English."""

from __future__ import annotations

from typing import Any

from innovate.accounts.models import User
from innovate.auth.invite_locks import lock_warning
from innovate.i18n import use_locale
from innovate.resources import Resources
from innovate.settings import Settings
from tests.clients import form_csrf

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
