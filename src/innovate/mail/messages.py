"""What a mail says: short plain text plus simple HTML, rendered from ``templates/mail/``,
and the RFC 5322 message the sender hands to the server."""

from __future__ import annotations

from contextlib import AbstractContextManager
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from innovate.db import utcnow
from innovate.i18n import negotiate, use_locale
from innovate.i18n.jinja import install as install_i18n
from innovate.mail.models import OutboxMail
from innovate.settings import TEMPLATES_DIR, Settings


@lru_cache(maxsize=1)
def _env() -> Environment:
    # Its own environment: mails are rendered outside any request. HTML is escaped; the
    # plain-text templates turn escaping off themselves.
    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)),
                      autoescape=select_autoescape(enabled_extensions=("html",), default=False),
                      trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n", "jinja2.ext.do"])
    install_i18n(env)
    return env


def render(name: str, **context: Any) -> tuple[str, str]:
    """(text, html) of ``mail/{name}.txt`` and ``mail/{name}.html``, in the active locale: the
    caller renders (and writes the subject) inside :func:`for_recipient`."""
    env = _env()
    text = env.get_template(f"mail/{name}.txt").render(**context).strip() + "\n"
    html = env.get_template(f"mail/{name}.html").render(**context).strip() + "\n"
    return text, html


def for_recipient(settings: Settings, locale: str | None, time_zone: ZoneInfo | str | None = None
                  ) -> AbstractContextManager[str]:
    """Write a mail in its recipient's language (their choice on /account; the site's default
    for someone who has none or no account yet) and time zone, never in the language of whoever
    caused it: mails are queued inside the actor's request."""
    return use_locale(negotiate(locale, None, settings.default_locale, pseudo=settings.pseudo_locale), time_zone)


def build(settings: Settings, mail: OutboxMail) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = settings.mail_from
    message["To"] = Address(addr_spec=mail.to_address)
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at or utcnow())
    message["Message-ID"] = mail.message_id
    if mail.purpose != "invite":
        # RFC 3834: no auto-replies (out-of-office) to a notification.
        message["Auto-Submitted"] = "auto-generated"
    if mail.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(mail.body_text)
    message.add_alternative(mail.body_html, subtype="html")
    return message


def envelope_from(settings: Settings) -> str:
    return parseaddr(settings.mail_from)[1]
