"""Who may see and do what. Pages, the JSON API and the live socket all ask here.

Rule of thumb (from Zulip): anything the caller may not see answers exactly like a thing
that does not exist (404), so access checks never leak existence.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from innovate.auth.models import User
from innovate.errors import Forbidden, NotSignedIn


def current_user(conn: HTTPConnection) -> User | None:
    return conn.scope.get("user")


def require_user(conn: HTTPConnection) -> User:
    user = current_user(conn)
    if user is None:
        raise NotSignedIn("Sign in first.")
    return user


def require_admin(conn: HTTPConnection) -> User:
    user = require_user(conn)
    if not user.is_admin:
        raise Forbidden("Only administrators may do that.")
    return user
