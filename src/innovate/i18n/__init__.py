"""Languages: the active locale, gettext and friends, and choosing a locale for a person.

Marking strings (the forms the catalogs are extracted from):

- Python: ``from innovate.i18n import gettext as _, ngettext, pgettext, lazy_gettext``;
  ``_("Text %(name)s", name=x)`` formats with the keyword arguments (without any it returns
  the text as it is); ``ngettext("%(num)d voter", "%(num)d voters", n)`` always formats, with
  ``num=n`` and any keyword arguments; ``lazy_gettext`` for strings defined at import time
  (error messages as constants), translated each time they are shown.
- Templates (Jinja2's i18n extension, new style): ``{{ _("Text %(name)s", name=x) }}``,
  ``{{ ngettext("%(num)d voter", "%(num)d voters", n) }}``, ``{% trans %}...{% endtrans %}``.
  New-style strings are always %-formatted: a literal percent sign is written ``%%``.

The active locale lives in a context variable: a request's middleware sets it for the
request (:mod:`innovate.i18n.middleware`); code rendering for someone else (a mail, a live
frame) wraps the rendering in :func:`use_locale`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast
from zoneinfo import ZoneInfo

from babel.core import negotiate_locale
from babel.support import LazyProxy

from innovate.i18n.catalogs import ENGLISH, LANGUAGES, PSEUDO, translations

__all__ = [
    "ENGLISH", "LANGUAGES", "N_", "PSEUDO", "available", "current_locale", "current_zone", "formatting_locale",
    "gettext", "lazy", "lazy_gettext", "lazy_ngettext", "lazy_pgettext", "negotiate", "ngettext", "npgettext",
    "parse_accept_language", "pgettext", "translate", "use_locale", "html_lang",
]

UTC = ZoneInfo("UTC")

_locale: ContextVar[str] = ContextVar("innovate_locale", default=ENGLISH)
_zone: ContextVar[ZoneInfo] = ContextVar("innovate_zone", default=UTC)


def available(*, pseudo: bool = False) -> tuple[str, ...]:
    """The locales a person may get: the shipped languages, and the pseudo-locale where the
    site turned it on (tests only: production users never see it)."""
    return (*LANGUAGES, PSEUDO) if pseudo else LANGUAGES


def current_locale() -> str:
    return _locale.get()


def current_zone() -> ZoneInfo:
    return _zone.get()


def formatting_locale(locale: str | None = None) -> str:
    """The CLDR locale Babel formats dates and numbers with (the pseudo-locale formats as English)."""
    locale = locale or _locale.get()
    return ENGLISH if locale == PSEUDO else locale


def html_lang(locale: str | None = None) -> str:
    """The BCP 47 tag for ``<html lang>``: ``de``, ``en-XA``."""
    return (locale or _locale.get()).replace("_", "-")


@contextmanager
def use_locale(locale: str | None, time_zone: ZoneInfo | str | None = None) -> Iterator[str]:
    """Render in ``locale`` (and ``time_zone``) inside the block: a mail in its recipient's
    language, a live frame in its readers'. An unknown or empty locale is English."""
    chosen, zone = _chosen(locale, time_zone)
    locale_token = _locale.set(chosen)
    zone_token = _zone.set(zone)
    try:
        yield chosen
    finally:
        _zone.reset(zone_token)
        _locale.reset(locale_token)


def adopt_locale(locale: str | None, time_zone: ZoneInfo | str | None = None) -> str:
    """Render in ``locale`` (and ``time_zone``) for the rest of the current context: a live
    socket's task, whose context ends with the socket, without a frame held open around it."""
    chosen, zone = _chosen(locale, time_zone)
    _locale.set(chosen)
    _zone.set(zone)
    return chosen


def _chosen(locale: str | None, time_zone: ZoneInfo | str | None) -> tuple[str, ZoneInfo]:
    chosen = locale if locale in (*LANGUAGES, PSEUDO) else ENGLISH
    return chosen, _as_zone(time_zone) if time_zone is not None else _zone.get()


def _as_zone(value: ZoneInfo | str) -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        return value
    try:
        return ZoneInfo(value)
    except (ValueError, KeyError, OSError):  # an unknown name: UTC, as for someone who never set one
        return UTC


# Translating --------------------------------------------------------------------------------


# Lookups only: Jinja's new-style callables format (and escape) the variables themselves.


def translate(message: str) -> str:
    return translations(_locale.get()).gettext(message)


def N_(message: str) -> str:  # noqa: N802 (gettext's own name for it, which extraction knows)
    """Marks a text that is stored as it is (in English, e.g. why a mail was not sent) so the
    catalogs carry it; :func:`translate` words it when it is shown. Text that matches no entry
    (an SMTP server's own reply) is shown as it came."""
    return message


def translate_plural(singular: str, plural: str, num: int) -> str:
    return translations(_locale.get()).ngettext(singular, plural, num)


def translate_in_context(context: str, message: str) -> str:
    return str(translations(_locale.get()).pgettext(context, message))


def translate_plural_in_context(context: str, singular: str, plural: str, num: int) -> str:
    return translations(_locale.get()).npgettext(context, singular, plural, num)


def gettext(message: str, **variables: Any) -> str:
    text = translate(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    return translate_plural(singular, plural, num) % {"num": num, **variables}


def pgettext(context: str, message: str, **variables: Any) -> str:
    text = translate_in_context(context, message)
    return text % variables if variables else text


def npgettext(context: str, singular: str, plural: str, num: int, **variables: Any) -> str:
    return translate_plural_in_context(context, singular, plural, num) % {"num": num, **variables}


def lazy(function: Callable[[], str]) -> str:
    """``function()`` each time the string is read: text composed of translated parts."""
    return cast(str, LazyProxy(function, enable_cache=False))


def lazy_gettext(message: str, **variables: Any) -> str:
    """``message``, translated into the locale active when it is shown (``str()``, a template,
    an error body), not the one active when it was defined. Typed as ``str``: it is used as one."""
    return cast(str, LazyProxy(gettext, message, enable_cache=False, **variables))


def lazy_pgettext(context: str, message: str, **variables: Any) -> str:
    return cast(str, LazyProxy(pgettext, context, message, enable_cache=False, **variables))


def lazy_ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    return cast(str, LazyProxy(ngettext, singular, plural, num, enable_cache=False, **variables))


# Choosing -----------------------------------------------------------------------------------


def parse_accept_language(header: str) -> list[str]:
    """The tags of an ``Accept-Language`` header, most wanted first (``q=0`` and ``*`` dropped)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(choice: str | None, accept_language: str | None, default: str, *, pseudo: bool = False) -> str:
    """The locale to use: the person's own choice, else the browser's best match among ours
    (``de-AT`` is German), else the site's default, else English."""
    offered = available(pseudo=pseudo)
    if choice in offered:
        return choice
    if accept_language:
        # Babel's negotiation (Locale.negotiate's core), on BCP 47 tags: it falls back from a
        # region to its language and knows CLDR's aliases. Locale.negotiate itself would try to
        # load CLDR data for en_XA, which has none.
        tags = {locale.replace("_", "-"): locale for locale in offered}
        best = negotiate_locale(parse_accept_language(accept_language), list(tags), sep="-")
        if best is not None:
            return tags[best]
    return default if default in offered else ENGLISH
