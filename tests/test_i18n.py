"""Languages: the catalogs are complete and consistent, a person gets their language, and the
machinery (negotiation, lazy strings, the pseudo-locale, Babel formatting, catalog loading) works."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel.messages.catalog import Catalog

from innovate import i18n
from innovate.app import create_app
from innovate.i18n import catalogs, formatting
from innovate.i18n.pseudo import is_pseudo, pseudolocalize
from innovate.settings import SettingsError

# The check CI runs --------------------------------------------------------------------------


def test_every_marked_string_is_translated_in_every_language() -> None:
    """Extracts the strings from the package (templates and Python) as `make messages` does and
    lists every one a shipped .po lacks, leaves empty or fuzzy, or translates with other
    placeholders. Fix: `make messages`, then translate the listed entries (docs/glossary.md)."""
    problems = catalogs.check()
    assert not problems, f"{len(problems)} catalog problems:\n" + "\n".join(problems)


def test_the_check_reports_missing_untranslated_fuzzy_and_wrong_placeholders() -> None:
    template = Catalog()
    for msgid in ("Fine", "Missing", "Empty", "Fuzzy", "Hello %(name)s", "%d left", "{count} ideas", "Changed %(name)s"):
        template.add(msgid)
    template.add(("%(num)d voter", "%(num)d voters"))
    template.add(("One idea", "%(num)d ideas"))
    template.add("Open", context="verb")
    de = Catalog(locale="de")
    de.add("Fine", "Gut")
    de.add("Empty", "")
    de.add("Fuzzy", "Unscharf", flags=["fuzzy"])
    de.add("Hello %(name)s", "Hallo %(nom)s")
    de.add("%d left", "noch %s")
    de.add("{count} ideas", "{anzahl} Ideen")
    de.add("Changed %(name)s", "Geändert")
    de.add(("%(num)d voter", "%(num)d voters"), ("%(num)d Person", "%(count)d Personen"))
    de.add(("One idea", "%(num)d ideas"), ("Eine Idee", "%(num)d Ideen"))  # a form may leave the count out
    de.add("Open", "Offen")  # the adjective, not the verb's context

    template.add("Done 100%")
    template.add("Shown %d times")
    de.add("Done 100%", "Fertig zu 100%")
    de.add("Shown %d times", "%d-mal gezeigt")
    de.add("Fine", "Gut")
    problems = catalogs.check(template, {"de": de, "fr": None}, formatted={"Fine", "Done 100%", "Shown %d times"})

    assert not any("'Fine'" in p or "'One idea'" in p for p in problems), problems
    expected = [
        "de: missing 'Missing'",
        "de: untranslated 'Empty'",
        "de: untranslated (fuzzy) 'Fuzzy'",
        "de: 'Hello %(name)s' has ['%(nom)s'], msgid has ['%(name)s']",
        "de: '%d left' has ['%s'], msgid has ['%d']",
        "de: '{count} ideas' has ['{anzahl}'], msgid has ['{count}']",
        "de: 'Changed %(name)s' has no placeholders, msgid has ['%(name)s']",
        "de: '%(num)d voter' plural form 1 has ['%(count)d'], msgid_plural has ['%(num)d']",
        "de: missing 'Open' (context 'verb')",
        "fr: no catalog",
        "'Done 100%' breaks the template's formatting",
        "'Shown %d times' breaks the template's formatting",
        "de: 'Done 100%' breaks the template's formatting",
        "de: 'Shown %d times' breaks the template's formatting",
    ]
    for line in expected:
        assert any(p.startswith(line) for p in problems), (line, problems)
    assert len(problems) == len(expected), problems


def test_placeholders_are_read_as_python_and_format_fields() -> None:
    assert catalogs.placeholders("%(name)s has %d of %(total)d, 100%% sure, {count} and {0}") == sorted(
        ["%(name)s", "%d", "%(total)d", "{count}", "{0}"])
    assert catalogs.placeholders("{{ not a field }} and plain text") == []


def test_extraction_reads_templates_and_python_with_contexts_and_plurals() -> None:
    template = catalogs.extract()
    assert template.get("Skip to content") is not None  # base.html
    assert template.get("guest", context="badge") is not None  # pgettext in a template
    plural = template.get("Please check the field marked below.")
    assert plural is not None and plural.pluralizable


# Choosing a language ------------------------------------------------------------------------


@pytest.mark.parametrize(("choice", "accept", "default", "expected"), [
    ("fr", "de-DE,de;q=0.9", "en", "fr"),  # the person's own choice first
    (None, "de-AT,en;q=0.5", "en", "de"),  # a region falls back to its language
    (None, "it-IT, es;q=0.8, en;q=0.7", "en", "es"),  # the first we have
    (None, "en;q=0.1, fr;q=0.9", "de", "fr"),  # by quality, not order
    (None, "it, pt", "de", "de"),  # none we have: the site default
    (None, None, "es", "es"),
    (None, "", "xx", "en"),  # an unknown default: English
    ("xx", "fr;q=0", "en", "en"),  # q=0 is "not this one"
])
def test_negotiation(choice: str | None, accept: str | None, default: str, expected: str) -> None:
    assert i18n.negotiate(choice, accept, default) == expected


def test_the_pseudo_locale_is_only_offered_where_the_site_turned_it_on() -> None:
    assert i18n.negotiate(None, "en-XA", "en") == "en"
    assert i18n.negotiate("en_XA", None, "en") == "en"
    assert i18n.negotiate(None, "en-XA,en;q=0.5", "en", pseudo=True) == "en_XA"
    assert i18n.negotiate(None, None, "en_XA", pseudo=True) == "en_XA"


# Translating --------------------------------------------------------------------------------


def test_gettext_ngettext_and_pgettext_follow_the_active_locale() -> None:
    assert i18n.gettext("Sign in") == "Sign in"
    with i18n.use_locale("de"):
        assert i18n.gettext("Sign in") == "Anmelden"
        assert i18n.gettext("Hello, %(name)s", name="Ada") == "Hallo, Ada"
        assert i18n.ngettext("Please check the field marked below.", "Please check the %(num)d fields marked below.",
                             3) == "Bitte prüfen Sie die 3 unten markierten Felder."
        assert i18n.pgettext("badge", "guest") == "Gast"
        with i18n.use_locale("fr"):
            assert i18n.gettext("Sign in") == "Se connecter"
        assert i18n.current_locale() == "de"
    assert i18n.current_locale() == "en"
    with i18n.use_locale("xx"):
        assert i18n.current_locale() == "en"


def test_lazy_strings_are_translated_when_shown_not_when_defined() -> None:
    message = i18n.lazy_gettext("Not found")
    with i18n.use_locale("es"):
        assert str(message) == "No encontrado"
    with i18n.use_locale("de"):
        assert f"{message}" == "Nicht gefunden"
    assert str(message) == "Not found"


def test_pseudo_localisation_keeps_placeholders_tags_and_entities_and_lengthens() -> None:
    text = 'No challenge for %(name)s. <a href="/rooms">See all</a> &amp; {count} more %d'
    pseudo = pseudolocalize(text)
    assert is_pseudo(pseudo) and pseudo.startswith("[") and pseudo.endswith("]")
    for kept in ("%(name)s", '<a href="/rooms">', "</a>", "&amp;", "{count}", "%d"):
        assert kept in pseudo
    assert catalogs.placeholders(pseudo) == catalogs.placeholders(text)
    assert "challenge" not in pseudo
    plain = "Please check the fields marked below."
    assert len(pseudolocalize(plain)) >= len(plain) * 1.35
    with i18n.use_locale("en_XA"):
        assert i18n.gettext("Sign in") == pseudolocalize("Sign in")
        assert is_pseudo(i18n.ngettext("Please check the field marked below.",
                                       "Please check the %(num)d fields marked below.", 2))


# Catalog files ------------------------------------------------------------------------------


@pytest.fixture
def locale_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The shipped catalogs in a folder of their own, as the app's locale folder."""
    copy = tmp_path / "locale"
    shutil.copytree(catalogs.LOCALE_DIR, copy, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(catalogs, "LOCALE_DIR", copy)
    catalogs.translations.cache_clear()
    yield copy
    catalogs.translations.cache_clear()


def test_a_missing_mo_is_compiled_from_the_po_in_memory(locale_copy: Path) -> None:
    assert not list(locale_copy.glob("*/LC_MESSAGES/*.mo"))
    with i18n.use_locale("de"):
        assert i18n.gettext("Sign out") == "Abmelden"


def test_a_stale_mo_gives_way_to_its_newer_po(locale_copy: Path) -> None:
    [mo] = catalogs.compile_all(locale_copy, ["de"])
    po = mo.with_suffix(".po")
    po.write_text(po.read_text().replace('msgstr "Abmelden"', 'msgstr "Ausloggen"'))
    os.utime(mo, (1, 1))  # built before the .po changed
    with i18n.use_locale("de"):
        assert i18n.gettext("Sign out") == "Ausloggen"


def test_compiled_catalogs_are_what_the_app_reads(locale_copy: Path) -> None:
    written = catalogs.compile_all(locale_copy)
    assert sorted(p.parent.parent.name for p in written) == ["de", "es", "fr"]
    (locale_copy / "fr" / "LC_MESSAGES" / "messages.po").unlink()  # only the .mo is left
    with i18n.use_locale("fr"):
        assert i18n.gettext("Sign out") == "Se déconnecter"


# Formatting ---------------------------------------------------------------------------------


def test_dates_numbers_and_relative_times_in_the_locale_and_time_zone() -> None:
    moment = datetime(2026, 3, 5, 17, 30, tzinfo=UTC)
    with i18n.use_locale("de", "Europe/Berlin"):
        assert formatting.format_date(moment, "long") == "5. März 2026"
        assert formatting.format_datetime(moment, "short") == "05.03.26, 18:30"
        assert formatting.format_number(1234567.5) == "1.234.567,5"
        assert formatting.format_relative(moment, now=moment - timedelta(days=3)) == "in 3 Tagen"
        assert formatting.format_relative(moment - timedelta(hours=2), now=moment) == "vor 2 Stunden"
        tag = formatting.timetag(moment)
        assert 'datetime="2026-03-05T17:30:00+00:00"' in tag and "18:30" in tag
    with i18n.use_locale("fr", "America/New_York"):
        assert formatting.format_date(datetime(2026, 3, 6, 2, 0), "long") == "5 mars 2026"  # naive is UTC
        assert formatting.format_percent(0.25) == "25\xa0%"
    with i18n.use_locale("en_XA"):
        assert formatting.format_number(1234.5) == "1,234.5"  # the pseudo-locale formats as English


# Pages --------------------------------------------------------------------------------------


async def test_a_signed_out_page_follows_the_browser(client: httpx.AsyncClient) -> None:
    german = await client.get("/login", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"})
    assert german.status_code == 200
    assert '<html lang="de">' in german.text and "<h1>Anmelden</h1>" in german.text
    assert "Zum Inhalt springen" in german.text
    spanish = await client.get("/login", headers={"Accept-Language": "es-MX"})
    assert '<html lang="es">' in spanish.text and "Iniciar sesión" in spanish.text
    english = await client.get("/login")
    assert '<html lang="en">' in english.text and "<h1>Sign in</h1>" in english.text


async def test_a_signed_in_page_and_an_error_page_in_the_browsers_language(make_user, sign_in) -> None:
    user = await make_user("lang@example.com", name="Ada")
    http = await sign_in(user)
    home = await http.get("/", headers={"Accept-Language": "fr"})
    assert '<html lang="fr">' in home.text
    assert "Bonjour Ada" in home.text and "Se déconnecter" in home.text and "Challenges" in home.text
    missing = await http.get("/rooms/no-such-room-here", headers={"Accept-Language": "de"})
    assert missing.status_code == 404 and "Nicht gefunden" in missing.text


async def test_the_site_default_applies_when_the_browser_asks_for_nothing_we_have(make_settings, resources) -> None:
    app = create_app(make_settings(default_locale="es"), resources=resources)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        page = await client.get("/login", headers={"Accept-Language": "it"})
        assert '<html lang="es">' in page.text and "Iniciar sesión" in page.text
        assert "Anmelden" in (await client.get("/login", headers={"Accept-Language": "de"})).text


def test_an_unknown_default_locale_stops_the_settings(make_settings) -> None:
    with pytest.raises(SettingsError, match="INNOVATE_DEFAULT_LOCALE"):
        make_settings(default_locale="en_XA")
    assert make_settings(default_locale="en_XA", pseudo_locale=True).default_locale == "en_XA"


async def test_user_content_is_escaped_inside_translated_text(make_user, sign_in) -> None:
    user = await make_user("xss-lang@example.com", name="<b>Ada</b>")
    http = await sign_in(user)
    home = await http.get("/", headers={"Accept-Language": "de"})
    assert "Hallo, &lt;b&gt;Ada&lt;/b&gt;" in home.text


# A person's own language ---------------------------------------------------------------------


async def test_a_person_chooses_their_language_on_the_account_page(make_user, sign_in, client) -> None:
    user = await make_user("choose-lang@example.com", name="Ada")
    http = await sign_in(user)
    account = await http.get("/account", headers={"Accept-Language": "en"})
    assert 'action="/account/language"' in account.text and 'lang="de">Deutsch</option>' in account.text
    saved = await http.post("/account/language", data={"locale": "de"}, headers={"Accept-Language": "en"})
    assert saved.status_code == 303 and saved.headers["location"] == "/account?done=language"
    # Their choice, whatever the browser says; the notice is in the new language.
    after = await http.get("/account?done=language", headers={"Accept-Language": "fr,en;q=0.5"})
    assert '<html lang="de">' in after.text and "Ihre Sprache wurde gespeichert." in after.text
    assert '<option value="de" lang="de" selected>' in after.text
    assert '<html lang="de">' in (await http.get("/", headers={"Accept-Language": "es"})).text
    # Back to the browser's.
    assert (await http.post("/account/language", data={"locale": ""})).status_code == 303
    assert '<html lang="fr">' in (await http.get("/", headers={"Accept-Language": "fr"})).text
    # Someone else's page is untouched; signed out, the form sends to sign-in.
    assert '<html lang="en">' in (await client.get("/login")).text
    refused = await client.post("/account/language", data={"locale": "de"})
    assert refused.status_code in (303, 403)


async def test_a_language_not_offered_is_refused_on_the_form_in_the_readers_language(make_user, sign_in) -> None:
    user = await make_user("bad-lang@example.com")
    http = await sign_in(user)
    for wanted in ("it", "en_XA", "<script>"):
        refused = await http.post("/account/language", data={"locale": wanted}, headers={"Accept-Language": "de"})
        assert refused.status_code == 422
        assert 'id="language-form-locale-error"' in refused.text
        assert "wählen Sie eine der angebotenen Sprachen" in refused.text
        assert 'aria-invalid="true"' in refused.text
    assert '<html lang="en">' in (await http.get("/", headers={"Accept-Language": "en"})).text


# Errors -------------------------------------------------------------------------------------


async def test_api_errors_keep_code_and_fields_and_localise_the_message(make_user, sign_in) -> None:
    user = await make_user("api-lang@example.com")
    http = await sign_in(user)
    for language, message in (("de", "Inhalt der Anfrage: kein gültiges UTF-8"), ("fr", "corps de la requête : UTF-8 non valide"),
                              (None, "body: not valid UTF-8")):
        headers = {"content-type": "application/x-www-form-urlencoded", **({"Accept-Language": language} if language else {})}
        response = await http.post("/api/v1/tokens", content=b"name=%ff%fe", headers=headers)
        assert response.status_code == 400
        assert response.json() == {"error": {"code": "bad_request", "message": message,
                                             "fields": {"body": "not valid UTF-8"}}}
    missing = await http.get("/api/v1/no-such-thing", headers={"Accept-Language": "es"})
    assert missing.status_code == 404 and missing.json()["error"] == {"code": "not_found", "message": "No encontrado"}


async def test_an_api_clients_accept_language_wins_over_the_page_language(make_user, sign_in, resources) -> None:
    from innovate.accounts.language import set_language

    user = await make_user("api-choice@example.com")
    await set_language(resources, user, "de")
    http = await sign_in(user)
    url = "/api/v1/no-such-thing"
    assert (await http.get(url, headers={"Accept-Language": "fr"})).json()["error"]["message"] == "Introuvable"
    assert (await http.get(url)).json()["error"]["message"] == "Nicht gefunden"


async def test_form_errors_and_field_names_in_the_readers_language(client: httpx.AsyncClient) -> None:
    from tests.clients import form_csrf

    token = form_csrf((await client.get("/login")).text)
    # The set-password form of a link that does not exist: the error page, in German.
    gone = await client.get("/set-password/not-a-real-token", headers={"Accept-Language": "de"})
    assert gone.status_code == 404 and "Dieser Link wurde bereits verwendet oder ist abgelaufen." in gone.text
    wrong = await client.post("/login", data={"email": "nobody@example.com", "password": "x" * 12, "csrf_token": token},
                              headers={"Accept-Language": "es"})
    assert wrong.status_code == 400 and "El correo electrónico y la contraseña no coinciden." in wrong.text


def test_field_errors_are_translated_when_shown_and_english_for_programs() -> None:
    from innovate.errors import Invalid
    from innovate.inputs import FieldErrors, text_field

    errors = FieldErrors()
    errors.check(text_field, {}, "name", max_length=10)
    errors.check(text_field, {"title": "x" * 12}, "title", max_length=10)
    with pytest.raises(Invalid) as raised:
        errors.raise_if_any()
    exc = raised.value
    with i18n.use_locale("de"):
        assert exc.fields == {"name": "ist erforderlich", "title": "höchstens 10 Zeichen (es sind 12)"}
        assert exc.message == "Name: ist erforderlich; Titel: höchstens 10 Zeichen (es sind 12)"
        assert exc.english_fields == {"name": "is required", "title": "use at most 10 characters (got 12)"}
    assert exc.message == "name: is required; title: use at most 10 characters (got 12)"


# Right-to-left later ------------------------------------------------------------------------

_PHYSICAL = re.compile(r"(?<![-\w])(?:(?:margin|padding|border)-(?:left|right)[-\w]*|left|right)\s*:"
                       r"|text-align\s*:\s*(?:left|right)|float\s*:\s*(?:left|right)")


def test_our_stylesheets_use_logical_directions() -> None:
    """margin-inline-start, not margin-left: a right-to-left language can be added later
    without rewriting the CSS (vendored stylesheets are not ours to change)."""
    sheets = [p for p in (Path(catalogs.PACKAGE_DIR) / "static" / "css").glob("*.css")]
    assert sheets
    found = [f"{sheet.name}:{n}: {line.strip()}" for sheet in sheets
             for n, line in enumerate(sheet.read_text().splitlines(), 1) if _PHYSICAL.search(line)]
    assert not found, "physical directions in CSS:\n" + "\n".join(found)


async def test_a_page_shows_times_in_the_persons_time_zone_and_language(make_user, sign_in, resources) -> None:
    from innovate.notifications.service import SettingsChange, save_settings

    user = await make_user("zone-lang@example.com", name="Zoe")
    http = await sign_in(user)
    await save_settings(resources, user, SettingsChange(choices={}, time_zone="Asia/Tokyo"))
    account = await http.get("/account", headers={"Accept-Language": "de"})
    times = re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', account.text)
    assert times, "the account page shows when each sign-in was last used"
    for iso, shown in times:
        moment = datetime.fromisoformat(iso).astimezone(ZoneInfo("Asia/Tokyo"))
        assert shown == moment.strftime("%d.%m.%Y, %H:%M"), (iso, shown)


async def test_the_api_reads_and_sets_the_callers_language(make_user, sign_in) -> None:
    user = await make_user("api-locale@example.com")
    http = await sign_in(user)
    assert (await http.get("/api/v1/me")).json()["locale"] is None
    chosen = await http.put("/api/v1/me/locale", json={"locale": "es"})
    assert chosen.status_code == 200 and chosen.json()["locale"] == "es"
    assert '<html lang="es">' in (await http.get("/", headers={"Accept-Language": "de"})).text
    refused = await http.put("/api/v1/me/locale", json={"locale": "klingon"})
    assert refused.status_code == 422 and refused.json()["error"]["fields"] == {"locale": "choose one of the languages offered"}
    assert (await http.put("/api/v1/me/locale", json={"locale": None})).json()["locale"] is None
    assert (await http.get("/api/v1/me/export")).status_code == 200


def test_the_digest_is_worded_in_the_recipients_language_and_zone(make_settings) -> None:
    from innovate.mail import messages

    rooms = [{"title": "Lastenräder", "slug": "lasten", "ideas": 2, "posts": 1, "phases": ["voting"], "top": []}]
    votes = [{"title": "Lastenräder", "slug": "lasten", "closes_at": datetime(2026, 3, 5, 17, 30, tzinfo=UTC)}]
    context = {"notes": [], "votes": votes, "rooms": rooms, "public_url": "http://x", "unsubscribe_url": None,
               "title": "t", "why": "w"}
    with messages.for_recipient(make_settings(), "de", "Europe/Berlin"):
        text, html = messages.render("digest", **context)
    assert "Lastenräder: 2 neue Ideen, 1 neue Nachricht, jetzt: Abstimmung" in text
    assert "Abstimmung endet am 05.03.2026, 18:30" in text and '<html lang="de">' in html
    with messages.for_recipient(make_settings(default_locale="fr"), None, "America/New_York"):
        text, _html = messages.render("digest", **context)
    assert "2 nouvelles idées, 1 nouveau message, désormais : vote" in text and "12:30" in text


# Words docs/glossary.md rules out: "challenge" is Challenge, challenge and reto.
AVOIDED = {"de": re.compile(r"Herausforderung", re.I), "fr": re.compile(r"\bdéfis?\b", re.I),
           "es": re.compile(r"\bdesafíos?\b", re.I)}


@pytest.mark.parametrize("locale", sorted(AVOIDED))
def test_translations_keep_to_the_glossary(locale: str) -> None:
    catalog = catalogs.read_catalog(locale)
    strings = [s for m in catalog if m.id for s in (m.string if isinstance(m.string, tuple | list) else (m.string,))]
    off = [s for s in strings if s and AVOIDED[locale].search(s)]
    assert not off, f"{locale}: not the glossary's word for a challenge:\n" + "\n".join(off)


_NAMED_FIELDS = re.compile(r'(?:Invalid\.field\(\s*|\b[a-z_]+_field\([a-z_.]+, |\.add\()"([a-z_]+)"')


def test_every_field_an_error_can_name_has_a_label_in_each_language() -> None:
    """A field named by an error reads as a word in each language ("Schlagwörter: …"), not as
    its key: every name the code refuses has a label, and each label is translated."""
    from innovate.errors import FIELD_LABELS, field_message

    source = Path(i18n.__file__).parent.parent
    named = {name for path in source.rglob("*.py") if "scim" not in path.parts
             for name in _NAMED_FIELDS.findall(path.read_text())}
    assert named - set(FIELD_LABELS) == set()
    with i18n.use_locale("de"):
        assert field_message("tags", "zu viele") == "Schlagwörter: zu viele"
        untranslated = {name for name, label in FIELD_LABELS.items() if str(label) == name}
    assert untranslated == set()
