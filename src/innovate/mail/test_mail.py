"""``innovate mail test ADDRESS``: one mail straight to the SMTP server, and the outcome."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

import aiosmtplib

from innovate.db import utcnow
from innovate.i18n import gettext as _
from innovate.mail import messages
from innovate.mail.outbox import new_message_id
from innovate.mail.sender import connect
from innovate.settings import Settings
from innovate.settings.smtp import parse_smtp_url


async def send_test_mail(settings: Settings, address: str) -> tuple[bool, str]:
    """(ok, one line): what the server answered, or why it did not."""
    server = parse_smtp_url(settings.smtp_url).safe()
    try:
        to = Address(addr_spec=address)
    except Exception:
        return False, f"not an e-mail address: {address}"
    with messages.for_recipient(settings, None):  # a CLI command: the site's language
        text, html = messages.render("test", public_url=settings.public_url)
        subject = _("Innovate test mail")
    message = EmailMessage(policy=SMTP)
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = new_message_id(settings)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    try:
        client = await connect(settings)
        try:
            refused, reply = await client.send_message(message, sender=messages.envelope_from(settings),
                                                       recipients=[address])
        finally:
            try:
                await client.quit()
            except Exception:
                client.close()
    except aiosmtplib.SMTPException as exc:
        code = getattr(exc, "code", None)
        return False, f"failed via {server}: {code + ' ' if isinstance(code, str) else f'{code} ' if code else ''}{getattr(exc, 'message', exc)}"
    except OSError as exc:
        return False, f"failed: cannot reach {server}: {exc}"
    if refused:
        return False, f"refused by {server}: {refused}"
    return True, f"sent to {address} via {server}: {reply}"
