"""Reading request input (form or JSON) and validating fields with errors that name them.

Views call :func:`read_input` once and pass values through the ``*_field`` checks; every
failure is a 4xx :class:`~innovate.errors.AppError` naming the field, never a 500. A service
that reads many fields gathers their errors with :class:`FieldErrors`, so a form shows every
one of them at once instead of one per submit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ParamSpec, TypeVar
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response

from innovate.errors import BadRequest, Invalid, fields_message
from innovate.i18n import lazy_gettext, lazy_ngettext

Input = dict[str, Any]
P = ParamSpec("P")
T = TypeVar("T")

# Field errors, translated when shown (a form in the reader's language; the API's fields in English).
REQUIRED = lazy_gettext("is required")
WHOLE_NUMBER = lazy_gettext("expected a whole number")
MALFORMED_JSON = {"body": lazy_gettext("malformed JSON")}
NOT_AN_OBJECT = {"body": lazy_gettext("expected a JSON object")}
NOT_UTF8 = {"body": lazy_gettext("not valid UTF-8")}

# Row ids are 32-bit integers in PostgreSQL; nine digits always fit, so an id that could not
# be one is refused here (a 4xx naming the field) instead of by the database (a 500).
ID_DIGITS = 9


async def read_input(request: Request) -> Input:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if content_type == "application/json":
        if not body.strip():
            return {}
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise BadRequest(fields_message(MALFORMED_JSON), fields=MALFORMED_JSON) from None
        if not isinstance(parsed, dict):
            raise BadRequest(fields_message(NOT_AN_OBJECT), fields=NOT_AN_OBJECT)
        return parsed
    if content_type in ("application/x-www-form-urlencoded", ""):
        try:
            pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict")
        except UnicodeDecodeError:
            raise BadRequest(fields_message(NOT_UTF8), fields=NOT_UTF8) from None
        data: Input = {}
        for key, value in pairs:
            data[key] = value if key not in data else (data[key] if isinstance(data[key], list) else [data[key]]) + [value]
        return data
    if content_type == "multipart/form-data":
        form = await request.form()
        return {key: value for key, value in form.multi_items()}
    raise BadRequest(f"body: unsupported content type {content_type!r}", fields={"body": "unsupported content type"})


class FieldErrors:
    """The errors of every field of one input: :meth:`check` runs one field's check and keeps
    its error; :meth:`raise_if_any` raises them together as one 422 (``fields`` names each)."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def check(self, parse: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        """``parse(*args, **kwargs)``, or ``None`` when it refused a field (kept for later)."""
        try:
            return parse(*args, **kwargs)
        except Invalid as exc:
            if not exc.reasons:
                raise
            for name, why in exc.reasons.items():
                self.add(name, why)
            return None

    def add(self, name: str, why: str) -> None:
        self.fields.setdefault(name, why)

    def __contains__(self, name: str) -> bool:
        return name in self.fields

    def raise_if_any(self) -> None:
        if self.fields:
            raise Invalid(fields_message(dict(self.fields)), fields=dict(self.fields))


def _clean(value: str) -> str:
    # Normalise newlines; refuse NUL and other C0 controls that have no place in text.
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def text_field(data: Input, name: str, *, max_length: int, required: bool = True, min_length: int = 1,
               default: str | None = None, multiline: bool = False) -> str | None:
    raw = data.get(name)
    if raw is None or (isinstance(raw, str) and raw.strip() == "" and not required):
        if required:
            raise Invalid.field(name, REQUIRED)
        return default
    if not isinstance(raw, str):
        raise Invalid.field(name, lazy_gettext("expected text"))
    value = _clean(raw)
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
        raise Invalid.field(name, lazy_gettext("contains control characters"))
    if not multiline and "\n" in value:
        raise Invalid.field(name, lazy_gettext("must be a single line"))
    stripped = value.strip()
    if len(stripped) < min_length:
        raise Invalid.field(name, lazy_gettext("must not be empty") if min_length == 1 else
                            lazy_ngettext("use at least %(num)d character", "use at least %(num)d characters",
                                          min_length))
    if len(stripped) > max_length:
        raise Invalid.field(name, lazy_ngettext("use at most %(num)d character (got %(got)d)",
                                                 "use at most %(num)d characters (got %(got)d)",
                                                 max_length, got=len(stripped)))
    return stripped


def text_or_empty(data: Input, name: str) -> str:
    """The raw text of a field that is checked elsewhere (a password, a sign-in address), or
    "" when it is missing or not text."""
    value = data.get(name)
    return value if isinstance(value, str) else ""


def int_field(data: Input, name: str, *, minimum: int | None = None, maximum: int | None = None,
              required: bool = True, default: int | None = None) -> int | None:
    raw = data.get(name)
    if raw is None or raw == "":
        if required:
            raise Invalid.field(name, REQUIRED)
        return default
    if isinstance(raw, bool):
        raise Invalid.field(name, WHOLE_NUMBER)
    if isinstance(raw, str):
        try:
            raw = int(raw.strip())
        except ValueError:
            raise Invalid.field(name, WHOLE_NUMBER) from None
    if not isinstance(raw, int):
        raise Invalid.field(name, WHOLE_NUMBER)
    if minimum is not None and raw < minimum:
        raise Invalid.field(name, lazy_gettext("must be at least %(minimum)s", minimum=minimum))
    if maximum is not None and raw > maximum:
        raise Invalid.field(name, lazy_gettext("must be at most %(maximum)s", maximum=maximum))
    return raw


def id_field(data: Input, name: str, *, required: bool = True) -> int | None:
    """The id of a row (a message, an idea...) the input points at."""
    return int_field(data, name, minimum=1, maximum=10**ID_DIGITS - 1, required=required)


def bool_field(data: Input, name: str, *, default: bool = False) -> bool:
    raw = data.get(name)
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("1", "true", "on", "yes"):
        return True
    if isinstance(raw, str) and raw.lower() in ("0", "false", "off", "no", ""):
        return False
    raise Invalid.field(name, lazy_gettext("expected true or false"))


def choice_field(data: Input, name: str, choices: tuple[str, ...], *, default: str | None = None) -> str:
    raw = data.get(name, default)
    if raw is None:
        raise Invalid.field(name, lazy_gettext("is required (one of %(choices)s)", choices=", ".join(choices)))
    if raw not in choices:
        raise Invalid.field(name, lazy_gettext("expected one of %(choices)s", choices=", ".join(choices)))
    return str(raw)


def datetime_field(data: Input, name: str) -> datetime | None:
    raw = data.get(name)
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        raise Invalid.field(name, lazy_gettext("expected an ISO 8601 date-time"))
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid.field(name, lazy_gettext("expected an ISO 8601 date-time such as 2026-12-01T09:00:00Z")) from None
    if value.tzinfo is None:
        raise Invalid.field(name, lazy_gettext("include a time zone, e.g. Z or +01:00"))
    return value


class JSON(Response):
    """A JSON response encoded with orjson (datetimes as ISO 8601)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
