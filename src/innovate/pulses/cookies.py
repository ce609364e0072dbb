"""The receipt of an anonymous answer lives in the answerer's browser, never on the server: a
cookie per pulse, sent back when they change their answer (see pulses/models.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from innovate.settings import Settings

MAX_AGE = 180 * 24 * 3600


def _name(pulse_id: int) -> str:
    return f"innovate_pulse_{pulse_id}"


def receipt_from(request: Request, pulse_id: int) -> str | None:
    return request.cookies.get(_name(pulse_id)) or None


def remember_receipt(response: Response, settings: Settings, pulse_id: int, receipt: str) -> None:
    response.set_cookie(_name(pulse_id), receipt, max_age=MAX_AGE, path="/", httponly=True, samesite="lax",
                        secure=settings.https)
