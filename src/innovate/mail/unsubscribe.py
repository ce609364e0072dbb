"""Unsubscribe links: a signed, expiring token that switches one category off for one person,
without a sign-in (RFC 8058 one-click). It names the person and the category and nothing
else; it is signed with a key derived from the app's secret and works for 90 days."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from innovate.notifications.preferences import CATEGORIES

LIFETIME_SECONDS = 90 * 24 * 3600
DIGEST = "digest"  # a digest's link: every category that goes to the digest is switched off
SCOPES = (*CATEGORIES, DIGEST)


@dataclass(frozen=True)
class Unsubscribe:
    user_id: int
    category: str
    expires: int


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"innovate.mail.unsubscribe", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def make_token(secret: str, user_id: int, category: str, *, now: float | None = None) -> str:
    if category not in SCOPES:
        raise ValueError(f"unknown category {category}")
    expires = int((now or time.time()) + LIFETIME_SECONDS)
    payload = f"{user_id}.{category}.{expires}"
    signature = hmac.new(_key(secret), payload.encode(), hashlib.sha256).digest()[:18]
    return f"{_b64(payload.encode())}.{_b64(signature)}"


def read_token(secret: str, token: str, *, now: float | None = None) -> Unsubscribe | None:
    """The token's content if it is ours, untampered and not expired; else None."""
    if not token or len(token) > 200 or token.count(".") != 1:
        return None
    body, signature = token.split(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (ValueError, UnicodeDecodeError):
        return None
    expected = hmac.new(_key(secret), payload.encode(), hashlib.sha256).digest()[:18]
    if not hmac.compare_digest(expected, given):
        return None
    try:
        user, category, expires = payload.split(".")
        found = Unsubscribe(int(user), category, int(expires))
    except ValueError:
        return None
    if found.category not in SCOPES or found.expires < (now or time.time()):
        return None
    return found


def unsubscribe_url(public_url: str, secret: str, user_id: int, category: str) -> str:
    return f"{public_url}/mail/unsubscribe/{make_token(secret, user_id, category)}"
