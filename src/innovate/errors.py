"""Errors in the one shape the API promises, and the handlers that render them.

``/api/*`` answers ``{"error": {"code", "message", "fields"?}}``; pages get a friendly
HTML page with the same status. Services raise these; views never build error bodies.

Languages: an error's message and its fields' reasons may be lazy strings
(``lazy_gettext``), translated when they are read (``exc.message``, ``exc.fields``), in the
locale of whoever reads them. The API's ``message`` is in the caller's language; its ``code``
and ``fields`` (names and reasons) stay English, for programs to match on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from innovate.i18n import ENGLISH, gettext, lazy, lazy_gettext, lazy_pgettext, use_locale

log = logging.getLogger("innovate.errors")

NOT_FOUND = lazy_gettext("Not found")


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: Mapping[str, str] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self._message = message
        self._fields = dict(fields) if fields else None
        self.headers = headers or {}

    @property
    def message(self) -> str:
        """In the active locale (a lazy message is translated now)."""
        return str(self._message)

    @property
    def fields(self) -> dict[str, str] | None:
        """Each field's reason, in the active locale."""
        return {name: str(why) for name, why in self._fields.items()} if self._fields else None

    @property
    def reasons(self) -> dict[str, str]:
        """The fields' reasons as raised (lazy ones stay lazy), to pass on to another error."""
        return dict(self._fields or {})

    @property
    def english_fields(self) -> dict[str, str] | None:
        """Each field's reason in English: what the API answers, whatever the caller's language."""
        with use_locale(ENGLISH):
            return self.fields

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self._fields:
            error["fields"] = self.english_fields
        return {"error": error}


# A field's name as a person reads it, where an error names a field that has no input of its
# own (a form's alert, the error page, the API's message). The English label is the field's
# name, so English messages read as they always did ("name: is required").
FIELD_LABELS: dict[str, str] = {
    "access_days": lazy_pgettext("field", "access_days"),
    "access_ends_at": lazy_pgettext("field", "access_ends_at"),
    "action": lazy_pgettext("field", "action"),
    "actor": lazy_pgettext("field", "actor"),
    "after": lazy_pgettext("field", "after"),
    "agree": lazy_pgettext("field", "agree"),
    "all": lazy_pgettext("field", "all"),
    "allow_anonymous": lazy_pgettext("field", "allow_anonymous"),
    "allow_comment": lazy_pgettext("field", "allow_comment"),
    "anonymous": lazy_pgettext("field", "anonymous"),
    "archived": lazy_pgettext("field", "archived"),
    "ats_url": lazy_pgettext("field", "ats_url"),
    "audience": lazy_pgettext("field", "audience"),
    "auto": lazy_pgettext("field", "auto"),
    "auto_hide_reports": lazy_pgettext("field", "auto_hide_reports"),
    "before": lazy_pgettext("field", "before"),
    "body": lazy_pgettext("field", "body"),
    "brief": lazy_pgettext("field", "brief"),
    "budget": lazy_pgettext("field", "budget"),
    "byline": lazy_pgettext("field", "byline"),
    "categories": lazy_pgettext("field", "categories"),
    "choices": lazy_pgettext("field", "choices"),
    "clear_bounce": lazy_pgettext("field", "clear_bounce"),
    "closes_at": lazy_pgettext("field", "closes_at"),
    "comment": lazy_pgettext("field", "comment"),
    "communities": lazy_pgettext("field", "communities"),
    "confirm": lazy_pgettext("field", "confirm"),
    "consent": lazy_pgettext("field", "consent"),
    "cover_alt": lazy_pgettext("field", "cover_alt"),
    "cover_url": lazy_pgettext("field", "cover_url"),
    "criteria": lazy_pgettext("field", "criteria"),
    "csv": lazy_pgettext("field", "csv"),
    "curator": lazy_pgettext("field", "curator"),
    "cursor": lazy_pgettext("field", "cursor"),
    "deadline_at": lazy_pgettext("field", "deadline_at"),
    "deadline_phase": lazy_pgettext("field", "deadline_phase"),
    "decision": lazy_pgettext("field", "decision"),
    "delete_content": lazy_pgettext("field", "delete_content"),
    "description": lazy_pgettext("field", "description"),
    "details": lazy_pgettext("field", "details"),
    "domain": lazy_pgettext("field", "domain"),
    "dry_run": lazy_pgettext("field", "dry_run"),
    "email": lazy_pgettext("field", "email"),
    "emails": lazy_pgettext("field", "emails"),
    "end_access": lazy_pgettext("field", "end_access"),
    "exclude_same_domain": lazy_pgettext("field", "exclude_same_domain"),
    "expires_in_hours": lazy_pgettext("field", "expires_in_hours"),
    "extend_days": lazy_pgettext("field", "extend_days"),
    "file": lazy_pgettext("field", "file"),
    "follow": lazy_pgettext("field", "follow"),
    "grown_from": lazy_pgettext("field", "grown_from"),
    "guests_until": lazy_pgettext("field", "guests_until"),
    "hide_tallies_until_closed": lazy_pgettext("field", "hide_tallies_until_closed"),
    "id": lazy_pgettext("field", "id"),
    "idea_id": lazy_pgettext("field", "idea_id"),
    "ideas_board": lazy_pgettext("field", "ideas_board"),
    "ids": lazy_pgettext("field", "ids"),
    "into": lazy_pgettext("field", "into"),
    "is_admin": lazy_pgettext("field", "is_admin"),
    "is_moderator": lazy_pgettext("field", "is_moderator"),
    "items": lazy_pgettext("field", "items"),
    "kind": lazy_pgettext("field", "kind"),
    "limit": lazy_pgettext("field", "limit"),
    "locale": lazy_pgettext("field", "locale"),
    "location": lazy_pgettext("field", "location"),
    "locked": lazy_pgettext("field", "locked"),
    "max_per_idea": lazy_pgettext("field", "max_per_idea"),
    "max_uses": lazy_pgettext("field", "max_uses"),
    "message": lazy_pgettext("field", "message"),
    "message_id": lazy_pgettext("field", "message_id"),
    "minutes": lazy_pgettext("field", "minutes"),
    "mute_minutes": lazy_pgettext("field", "mute_minutes"),
    "muted_until": lazy_pgettext("field", "muted_until"),
    "name": lazy_pgettext("field", "name"),
    "note": lazy_pgettext("field", "note"),
    "on": lazy_pgettext("field", "on"),
    "open": lazy_pgettext("field", "open"),
    "opens_at": lazy_pgettext("field", "opens_at"),
    "pairs": lazy_pgettext("field", "pairs"),
    "password": lazy_pgettext("field", "password"),
    "password_confirm": lazy_pgettext("field", "password_confirm"),
    "per_idea": lazy_pgettext("field", "per_idea"),
    "personas": lazy_pgettext("field", "personas"),
    "phase": lazy_pgettext("field", "phase"),
    "picture_alt": lazy_pgettext("field", "picture_alt"),
    "portrait": lazy_pgettext("field", "portrait"),
    "premoderation": lazy_pgettext("field", "premoderation"),
    "premoderation_first_n": lazy_pgettext("field", "premoderation_first_n"),
    "published": lazy_pgettext("field", "published"),
    "q": lazy_pgettext("field", "q"),
    "question": lazy_pgettext("field", "question"),
    "question_kind": lazy_pgettext("field", "question_kind"),
    "reason": lazy_pgettext("field", "reason"),
    "recommendation": lazy_pgettext("field", "recommendation"),
    "reply_to": lazy_pgettext("field", "reply_to"),
    "results_to_audience": lazy_pgettext("field", "results_to_audience"),
    "reviewer_id": lazy_pgettext("field", "reviewer_id"),
    "role": lazy_pgettext("field", "role"),
    "room": lazy_pgettext("field", "room"),
    "rooms": lazy_pgettext("field", "rooms"),
    "send": lazy_pgettext("field", "send"),
    "slug": lazy_pgettext("field", "slug"),
    "sort": lazy_pgettext("field", "sort"),
    "state": lazy_pgettext("field", "state"),
    "status": lazy_pgettext("field", "status"),
    "submit": lazy_pgettext("field", "submit"),
    "summary": lazy_pgettext("field", "summary"),
    "tags": lazy_pgettext("field", "tags"),
    "target": lazy_pgettext("field", "target"),
    "team": lazy_pgettext("field", "team"),
    "time_zone": lazy_pgettext("field", "time_zone"),
    "title": lazy_pgettext("field", "title"),
    "unread": lazy_pgettext("field", "unread"),
    "until": lazy_pgettext("field", "until"),
    "user_id": lazy_pgettext("field", "user_id"),
    "value": lazy_pgettext("field", "value"),
    "version": lazy_pgettext("field", "version"),
    "visibility": lazy_pgettext("field", "visibility"),
    "votes_in_open": lazy_pgettext("field", "votes_in_open"),
    "voting_at": lazy_pgettext("field", "voting_at"),
    "voting_mode": lazy_pgettext("field", "voting_mode"),
}


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


def field_message(name: str, why: str) -> str:
    """``Name: is required``, in the active locale."""
    return gettext("%(field)s: %(why)s", field=field_label(name), why=str(why))


def fields_message(fields: Mapping[str, str]) -> str:
    """Every field's problem in one line (lazy: translated when it is read)."""
    return lazy(lambda: "; ".join(field_message(name, why) for name, why in fields.items()))


class Invalid(AppError):
    status = 422
    code = "invalid"

    @classmethod
    def field(cls, name: str, why: str) -> Invalid:
        return cls(fields_message({name: why}), fields={name: why})


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class NotSignedIn(AppError):
    status = 401
    code = "not_signed_in"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"

    def __init__(self, message: str = NOT_FOUND, **kwargs: Any):
        super().__init__(message, **kwargs)


class Gone(AppError):
    """A public page that was taken down (unpublished): not coming back at this address."""

    status = 410
    code = "gone"


class Conflict(AppError):
    status = 409
    code = "conflict"


class TooMany(AppError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


def wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api/"):
        return True
    return "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get("accept", "")


def error_response(request: Request, status: int, code: str, message: str, fields: Mapping[str, str] | None = None,
                   headers: Mapping[str, str] | None = None) -> Response:
    if wants_json(request):
        body: dict[str, Any] = {"code": code, "message": str(message)}
        if fields:
            with use_locale(ENGLISH):  # names and reasons stay English: programs match on them
                body["fields"] = {name: str(why) for name, why in fields.items()}
        return JSONResponse({"error": body}, status_code=status, headers=headers)
    templates = getattr(request.app.state, "templates", None)
    if templates is None:
        return HTMLResponse(f"<h1>{status}</h1>", status_code=status, headers=headers)
    response = templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "code": code, "message": message, "fields": fields or {}},
        status_code=status,
        headers=headers,
    )
    return response


async def app_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    # The fields as raised (lazy reasons): the API answers them in English, a page in the reader's language.
    return error_response(request, exc.status, exc.code, exc.message, exc.reasons, exc.headers)


_HTTP_CODES = {
    400: ("bad_request", lazy_gettext("The request could not be understood.")),
    401: ("not_signed_in", lazy_gettext("Sign in first.")),
    403: ("forbidden", lazy_gettext("You may not do that.")),
    404: ("not_found", lazy_gettext("Not found")),
    405: ("method_not_allowed", lazy_gettext("That method is not allowed here.")),
    413: ("too_large", lazy_gettext("The request is too large.")),
}


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code, message = _HTTP_CODES.get(exc.status_code, ("error", exc.detail or "Error"))
    return error_response(request, exc.status_code, code, message, headers=exc.headers)


async def server_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(request, 500, "server_error", gettext("Something went wrong on our side; it has been logged."))
