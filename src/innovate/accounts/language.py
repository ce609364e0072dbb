"""Each person's language: the one they chose on /account, or none (their browser's)."""

from __future__ import annotations

from babel import Locale

from innovate.accounts.models import User
from innovate.errors import Invalid, NotFound
from innovate.i18n import PSEUDO, available, lazy_gettext
from innovate.resources import Resources
from innovate.writes import write

NOT_OFFERED = lazy_gettext("choose one of the languages offered")


def choices(*, pseudo: bool = False) -> list[tuple[str, str]]:
    """(locale, its name in its own language): a person finds their language without reading
    the page's ("Deutsch", not "German")."""
    named = [(locale, PSEUDO if locale == PSEUDO else Locale.parse(locale).get_display_name(locale) or locale)
             for locale in available(pseudo=pseudo)]
    return [(locale, name[:1].upper() + name[1:]) for locale, name in named]


def read_choice(raw: object, *, pseudo: bool = False) -> str | None:
    """A posted ``locale``: one we offer, or empty for "my browser's"; anything else is a 422."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or raw not in available(pseudo=pseudo):
        raise Invalid.field("locale", NOT_OFFERED)
    return raw


async def set_language(resources: Resources, user: User, locale: str | None) -> None:
    async with write(resources) as (db, _outbox):
        row = await db.get(User, user.id)
        if row is None:
            raise NotFound()
        row.locale = locale
    user.locale = locale
