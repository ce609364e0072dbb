"""``INNOVATE_SMTP_URL``: where mail goes, how the connection is secured, and who signs in.

- ``smtp://host[:25]``: plain SMTP (a relay on the same host or network);
- ``smtp+starttls://host[:587]``: upgraded with STARTTLS, which must succeed;
- ``smtps://host[:465]``: TLS from the first byte;

each with an optional ``user:password@`` (percent-encoded). The password is never logged:
:meth:`SmtpConfig.safe` is the form for messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class SmtpUrlError(ValueError):
    """The URL cannot be used; the message says why, without the password."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # "none" | "starttls" | "tls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a log line

    def safe(self) -> str:
        scheme = {"none": "smtp", "starttls": "smtp+starttls", "tls": "smtps"}[self.security]
        who = f"{self.username}@" if self.username else ""
        return f"{scheme}://{who}{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpConfig:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise SmtpUrlError("expected smtp://host:port, smtp+starttls://host:port or smtps://host:port") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise SmtpUrlError("expected a URL starting with smtp://, smtp+starttls:// or smtps://")
    if not parts.hostname:
        raise SmtpUrlError("the URL names no host (smtp://mail.example.com:25)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SmtpUrlError("expected nothing after host:port")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise SmtpUrlError("a password needs a user name (smtp://user:password@host)")
    security = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "tls"}[scheme]
    return SmtpConfig(host=parts.hostname, port=port or SCHEMES[scheme], security=security, username=username,
                      password=password)
