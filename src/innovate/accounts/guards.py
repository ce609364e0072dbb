"""Who is calling: the signed-in user of a request or socket, and the site-wide roles."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from innovate.accounts.models import User
from innovate.errors import Forbidden, NotSignedIn
from innovate.i18n import lazy_gettext

ADMINS_ONLY = lazy_gettext("Only administrators may do that.")



def current_user(conn: HTTPConnection) -> User | None:
    return conn.scope.get("user")


def require_user(conn: HTTPConnection) -> User:
    user = current_user(conn)
    if user is None:
        raise NotSignedIn(lazy_gettext("Sign in first."))
    return user


def require_admin(conn: HTTPConnection) -> User:
    user = require_user(conn)
    if not user.is_admin:
        raise Forbidden(ADMINS_ONLY)
    return user
