"""Templates: one Jinja2 environment (autoescape on) shared by pages and live fragments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from innovate.security import csrf_token
from innovate.settings import TEMPLATES_DIR


def _request_context(request: Request) -> dict[str, Any]:
    return {
        "user": request.scope.get("user"),
        "csp_nonce": request.scope.get("csp_nonce", ""),
        "csrf_token": lambda: csrf_token(request.scope),
        "settings": request.app.state.resources.settings,
    }


def _isotime(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def _timetag(value: datetime | None) -> Markup:
    """A <time> element; the page's script rewrites it in the reader's local time zone."""
    if value is None:
        return Markup("")
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), value.strftime("%Y-%m-%d %H:%M UTC"))


def create_templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
    )
    env.filters["isotime"] = _isotime
    env.filters["timetag"] = _timetag
    return Jinja2Templates(env=env, context_processors=[_request_context])


def partial(target: str, swap: str, html: str) -> str:
    """One out-of-band change: ``html`` goes to ``target`` (a CSS selector) with ``swap``."""
    return f'<hx-partial hx-target="{escape(target)}" hx-swap="{escape(swap)}">{html}</hx-partial>'
