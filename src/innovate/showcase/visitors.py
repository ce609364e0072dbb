"""What every public form (a visitor's "I'm interested", a referral's "not interested")
checks before it writes: a per-IP rate, the honeypot, and plain text only.

CSRF is the app's own (``security.RequestGuardMiddleware``): the form's page starts a
session for its token, and a post without it is refused before it gets here.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from innovate.accounts.throttles import hit
from innovate.errors import Invalid
from innovate.i18n import lazy_gettext
from innovate.inputs import Input, text_field
from innovate.settings import Settings

# A field people never see (hidden by CSS, skipped by screen readers and tab order) that
# form-filling robots do fill in.
HONEYPOT = "website"


def client_ip(request: Request) -> str:
    # uvicorn has already replaced it with X-Forwarded-For from a trusted proxy (README: "Behind a proxy").
    return request.client.host if request.client else "unknown"


def check_honeypot(data: Input) -> None:
    if data.get(HONEYPOT):
        raise Invalid.field(HONEYPOT, lazy_gettext("leave this field empty"))


def plain_text(data: Input, name: str, *, max_length: int, required: bool = True, multiline: bool = False) -> str:
    """A text field of a public form: no markup at all (it is shown as text, but nobody
    gets to try)."""
    value = text_field(data, name, max_length=max_length, required=required, default="", multiline=multiline) or ""
    if "<" in value or ">" in value:
        raise Invalid.field(name, lazy_gettext("write plain text, without < or >"))
    return value


async def count_post(db: AsyncSession, settings: Settings, ip: str) -> None:
    """One public form post from ``ip`` in the caller's transaction; 429 past the hourly limit."""
    await hit(db, f"public-form:{ip}", limit=settings.public_forms_per_hour, window_seconds=3600,
              message=lazy_gettext("Too many forms sent from your network; please try again later."))
