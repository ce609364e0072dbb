"""The i18n of a Jinja environment: gettext callables (new style), the formatting filters, and
the page's language tag. Pages, live frames and mails all install it."""

from __future__ import annotations

from jinja2 import Environment

from innovate.i18n import (
    current_locale,
    html_lang,
    translate,
    translate_in_context,
    translate_plural,
    translate_plural_in_context,
)
from innovate.i18n.formatting import FILTERS


def install(env: Environment) -> None:
    """``env`` must have been built with ``extensions=["jinja2.ext.i18n"]``."""
    # New style: {{ _("Hello %(name)s", name=x) }} formats inside the call and escapes x. The
    # callables read the active locale each time, so one shared environment serves every language.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        translate, translate_plural, newstyle=True, pgettext=translate_in_context,
        npgettext=translate_plural_in_context)
    # {% trans %} blocks are whitespace-normalised, as the extraction reads them.
    env.policies["ext.i18n.trimmed"] = True
    env.filters.update(FILTERS)
    env.globals["current_locale"] = current_locale
    env.globals["html_lang"] = html_lang
