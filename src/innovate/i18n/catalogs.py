"""The message catalogs: where they live, loading them, and keeping them up to date.

``src/innovate/locale/messages.pot`` is what the code marks (extracted by Babel from the
Python modules and the Jinja templates); ``locale/<lang>/LC_MESSAGES/messages.po`` are the
translations, kept in git without source locations and sorted by msgid, so that people adding
strings in different parts of the product rarely touch the same lines. The ``.mo`` files are
built (``make messages``, the setup step, the package build), never committed.

Command line (``make messages`` runs ``update`` then ``compile``)::

    python -m innovate.i18n update    # extract, refresh the .pot, add new msgids to every .po
    python -m innovate.i18n compile   # .po -> .mo next to each
    python -m innovate.i18n init xx   # start a new language
    python -m innovate.i18n check     # what the check test reports
"""

from __future__ import annotations

import functools
import io
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import NullTranslations, Translations

from innovate.i18n.pseudo import pseudolocalize

PACKAGE_DIR = Path(__file__).resolve().parent.parent
LOCALE_DIR = PACKAGE_DIR / "locale"
DOMAIN = "messages"
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"

ENGLISH = "en"
LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es")
PSEUDO = "en_XA"
TRANSLATED = tuple(locale for locale in LANGUAGES if locale != ENGLISH)

# Python modules and Jinja templates (pages, partials, live frames, mails). The templates are
# parsed as the app's environments parse them: trimmed {% trans %} blocks, new-style gettext.
METHOD_MAP = [
    ("templates/**.html", "jinja2.ext:babel_extract"),
    ("templates/**.txt", "jinja2.ext:babel_extract"),
    ("templates/**.svg", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
_JINJA = {"extensions": "jinja2.ext.i18n,jinja2.ext.do", "trimmed": "true", "newstyle_gettext": "true", "silent": "false",
          "trim_blocks": "true", "lstrip_blocks": "true"}
OPTIONS_MAP = {"templates/**.html": _JINJA, "templates/**.txt": _JINJA, "templates/**.svg": _JINJA}
KEYWORDS: dict[str, tuple[int | tuple[int, str], ...] | None] = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
    "lazy_pgettext": ((1, "c"), 2),
    "N_": None,
}

# Fixed header dates: a catalog's header then changes only when someone means it to, so
# parallel updates of the catalogs do not conflict on it.
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_HEADER = ("# Innovate's messages. Run `make messages` after marking strings; translate the empty\n"
           "# entries using the terms in docs/glossary.md.")


# Loading ------------------------------------------------------------------------------------


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(locale: str) -> NullTranslations:
    """The catalog of ``locale``: English is the msgids themselves; the pseudo-locale is made
    from the strings the code marks; a language reads its compiled ``.mo``, or compiles its
    ``.po`` in memory when the ``.mo`` is missing or older (a checkout where nobody ran
    ``make messages`` yet still shows the translations, never stale ones)."""
    if locale == PSEUDO:
        return _pseudo_translations()
    if locale not in TRANSLATED:
        return NullTranslations()
    po = po_path(locale)
    mo = po.with_suffix(".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fp:
            return Translations(fp, domain=DOMAIN)
    if not po.exists():
        return NullTranslations()
    return Translations(io.BytesIO(_compile(read_catalog(locale))), domain=DOMAIN)


def _pseudo_translations() -> NullTranslations:
    """Every string the code marks, wrapped and lengthened: made from a fresh extraction, so it
    is never stale, and a string that is passed to gettext but cannot be extracted (a variable)
    stays plain English and shows up in the browser test."""
    catalog = Catalog(locale=ENGLISH, domain=DOMAIN)
    for message in extract():
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            singular, plural = message.id
            catalog.add((singular, plural), (pseudolocalize(singular), pseudolocalize(plural)),
                        context=message.context)
        else:
            catalog.add(message.id, pseudolocalize(message.id), context=message.context)
    return Translations(io.BytesIO(_compile(catalog)), domain=DOMAIN)


def _compile(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


# Extracting ---------------------------------------------------------------------------------


def extract(source: Path = PACKAGE_DIR) -> Catalog:
    """What the code marks, as a catalog template (msgids only, no locations)."""
    catalog = Catalog(project="Innovate", version="1", domain=DOMAIN, creation_date=_EPOCH,
                      revision_date=_EPOCH, charset="utf-8", header_comment=_HEADER)
    found = extract_from_dir(str(source), METHOD_MAP, OPTIONS_MAP, keywords=KEYWORDS, comment_tags=("Translators:",),
                             strip_comment_tags=True)
    for _filename, _lineno, message, comments, context in found:
        catalog.add(message, None, auto_comments=comments, context=context)
    return catalog


def read_catalog(locale: str) -> Catalog:
    with po_path(locale).open("rb") as fp:
        return read_po(fp, locale=locale, domain=DOMAIN)


def _write(path: Path, catalog: Catalog) -> None:
    buffer = io.BytesIO()
    # No locations, sorted by msgid, not wrapped: an entry's place in the file depends on its
    # text only, so two people adding different strings touch different lines.
    write_po(buffer, catalog, width=0, no_location=True, sort_output=True, ignore_obsolete=True,
             include_previous=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != buffer.getvalue():
        path.write_bytes(buffer.getvalue())


def update() -> list[Path]:
    """Refresh the ``.pot`` from the code and add its new msgids to every ``.po`` (empty, for a
    translator to fill); msgids the code no longer marks are dropped. No fuzzy matching: a
    guessed translation would look done."""
    template = extract()
    _write(TEMPLATE, template)
    written = [TEMPLATE]
    for locale in TRANSLATED:
        catalog = read_catalog(locale) if po_path(locale).exists() else _new_catalog(locale)
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False, update_creation_date=False)
        catalog.obsolete.clear()
        _write(po_path(locale), catalog)
        written.append(po_path(locale))
    return written


def _new_catalog(locale: str) -> Catalog:
    return Catalog(locale=locale, project="Innovate", version="1", domain=DOMAIN, creation_date=_EPOCH,
                   revision_date=_EPOCH, charset="utf-8", fuzzy=False, header_comment=_HEADER,
                   last_translator="Innovate contributors", language_team=f"{locale}, see docs/glossary.md")


def init(locale: str) -> Path:
    """Start the catalog of a new language (then add it to ``LANGUAGES``)."""
    if po_path(locale).exists():
        raise SystemExit(f"{po_path(locale)} exists already")
    catalog = _new_catalog(locale)
    catalog.update(extract(), no_fuzzy_matching=True, update_header_comment=False, update_creation_date=False)
    _write(po_path(locale), catalog)
    return po_path(locale)


def compile_all(target: Path = LOCALE_DIR, locales: Iterable[str] = TRANSLATED) -> list[Path]:
    """Each ``.po`` as a ``.mo`` under ``target`` (the package itself, or a build's copy of it)."""
    written = []
    for locale in locales:
        mo = target / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"
        mo.parent.mkdir(parents=True, exist_ok=True)
        mo.write_bytes(_compile(read_catalog(locale)))
        written.append(mo)
    return written


# Checking -----------------------------------------------------------------------------------

# printf-style (named and positional; ``%%`` is a literal percent) and str.format-style fields.
_PRINTF = re.compile(r"%(?:\((?P<name>[^)]*)\))?[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?P<type>[diouxXeEfFgGcrsa%])")
_BRACES = re.compile(r"(?<!\{)\{(?P<field>[A-Za-z_][A-Za-z0-9_]*|\d*)(?:![rsa])?(?::[^{}]*)?\}(?!\})")


def placeholders(text: str) -> list[str]:
    """The placeholders of ``text`` in a comparable form, sorted: ``%(name)s``, ``%d``, ``{count}``."""
    found = []
    for match in _PRINTF.finditer(text):
        if match.group("type") == "%":
            continue
        name = match.group("name")
        found.append(f"%({name}){match.group('type')}" if name is not None else f"%{match.group('type')}")
    found.extend("{" + match.group("field") + "}" for match in _BRACES.finditer(text))
    return sorted(found)


def _placeholder_problems(message: Message) -> list[str]:
    if isinstance(message.id, tuple | list):
        singular, plural = message.id
        forms = message.string if isinstance(message.string, tuple | list) else (message.string,)
        expected = placeholders(plural)
        allowed = set(placeholders(singular)) | set(expected)
        problems = []
        for index, form in enumerate(forms):
            got = placeholders(form or "")
            # A form may leave out the count ("one voter"), never use one the code does not pass;
            # the last form is the general plural and keeps them all.
            if not set(got) <= allowed or (index == len(forms) - 1 and sorted(set(got)) != sorted(set(expected))):
                problems.append(f"plural form {index} has {got or 'no placeholders'}, msgid_plural has {expected}")
        return problems
    got, expected = placeholders(str(message.string)), placeholders(str(message.id))
    return [] if got == expected else [f"has {got or 'no placeholders'}, msgid has {expected or 'none'}"]


def _untranslated(message: Message) -> bool:
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return message.fuzzy or not all(strings)


class _AnyValue(dict[str, int]):
    def __missing__(self, key: str) -> int:
        return 1


def _breaks_formatting(text: str) -> bool:
    """Whether ``text % variables`` fails, as it does for every new-style template string (a
    lone percent sign, a positional placeholder): a 500 on the page that shows it."""
    try:
        text % _AnyValue()
    except (ValueError, TypeError, KeyError):
        return True
    return False


def template_msgids(source: Path = PACKAGE_DIR) -> set[str]:
    """The msgids the templates mark (each is %-formatted when rendered, even without variables)."""
    found = extract_from_dir(str(source), [m for m in METHOD_MAP if m[1] != "python"], OPTIONS_MAP,
                             keywords=KEYWORDS)
    ids: set[str] = set()
    for _filename, _lineno, message, _comments, _context in found:
        ids.update(m for m in (message if isinstance(message, tuple | list) else (message,)) if m)
    return ids


def check(template: Catalog | None = None, catalogs: Mapping[str, Catalog | None] | None = None,
          formatted: set[str] | None = None) -> list[str]:
    """Every problem with the catalogs (by default: the code's strings against the shipped
    ``.po`` files), one line each: a marked string missing from a language's catalog, left
    empty or fuzzy there, or translated with other placeholders."""
    template = template if template is not None else extract()
    formatted = formatted if formatted is not None else template_msgids()
    problems = [f"{msgid!r} breaks the template's formatting: write %% for a percent sign, %(name)s for a value"
                for msgid in sorted(formatted) if _breaks_formatting(msgid)]
    if catalogs is None:
        catalogs = {locale: read_catalog(locale) if po_path(locale).exists() else None for locale in TRANSLATED}
    for locale, catalog in catalogs.items():
        if catalog is None:
            problems.append(f"{locale}: no catalog at {po_path(locale)}")
            continue
        for wanted in template:
            if not wanted.id:
                continue
            key = wanted.id[0] if isinstance(wanted.id, tuple | list) else wanted.id
            shown = f"{key!r}" + (f" (context {wanted.context!r})" if wanted.context else "")
            message = catalog.get(key, context=wanted.context)
            if message is None:
                problems.append(f"{locale}: missing {shown}")
            elif _untranslated(message):
                problems.append(f"{locale}: untranslated{' (fuzzy)' if message.fuzzy else ''} {shown}")
            elif isinstance(wanted.id, tuple | list) != isinstance(message.id, tuple | list):
                problems.append(f"{locale}: {shown} is {'plural' if isinstance(wanted.id, tuple | list) else 'singular'}"
                                " in the code but not in the catalog")
            else:
                problems.extend(f"{locale}: {shown} {problem}" for problem in _placeholder_problems(message))
                if key in formatted:
                    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
                    if any(_breaks_formatting(text or "") for text in strings):
                        problems.append(f"{locale}: {shown} breaks the template's formatting (a lone %?)")
    return problems


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "update":
        for path in update():
            print(f"updated {path.relative_to(PACKAGE_DIR.parent)}")
    elif command == "compile":
        for path in compile_all():
            print(f"compiled {path.relative_to(PACKAGE_DIR.parent)}")
    elif command == "init" and len(argv) == 2:
        print(f"created {init(argv[1]).relative_to(PACKAGE_DIR.parent)}")
    elif command == "check":
        problems = check()
        print("\n".join(problems) or "catalogs complete")
        return 1 if problems else 0
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0

