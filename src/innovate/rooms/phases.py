"""What a room's phase (and lock) lets a viewer do right now, in words, and what comes next.

The phase rules come from rooms/rules.py (the same checks the services enforce); the
viewer's standing (member, muted) is added on top. ``None`` means "allowed". Pages and
live fragments both render from these, so they never drift from the services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from innovate.db import utcnow
from innovate.errors import Conflict
from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext, pgettext
from innovate.i18n.formatting import format_datetime
from innovate.rooms import rules
from innovate.rooms.access import RoomAccess

NEEDS = ("post", "submit", "vote")
PHASE_NAMES = rules.PHASE_NAMES
phase_name = rules.phase_name

PHASE_MOVES: dict[str, list[tuple[str, str, str]]] = {
    "draft": [("open", lazy_gettext("Open the room"), "next")],
    "open": [("voting", lazy_gettext("Start voting"), "next"), ("closed", lazy_gettext("Close the room"), "skip")],
    "voting": [("closed", lazy_gettext("Close voting"), "next"), ("open", lazy_gettext("Back to collecting ideas"), "back")],
    "closed": [("archived", lazy_gettext("Archive"), "next"), ("voting", lazy_gettext("Reopen voting"), "back")],
    "archived": [],
}

# Which scheduled time ends each phase, and what comes then.
NEXT_STEP = {"draft": (("opens_at", "open"),), "open": (("voting_at", "voting"), ("closes_at", "closed")),
             "voting": (("closes_at", "closed"),), "closed": (("archives_at", "archived"),)}


def phase_blocks(room: dict[str, Any], moderator: bool) -> dict[str, str | None]:
    """Why the phase (and lock) stops posting, submitting or voting, per need; None = allowed.

    Asks rules.py, the checks the services run, with a stand-in for RoomAccess that holds
    only what those checks read, so pages and live fragments never drift from the services.
    """
    stand_in = SimpleNamespace(
        room=SimpleNamespace(phase=room["phase"], locked=room["locked"], votes_in_open=room["voting"]["votes_in_open"],
                             ideas_board=room.get("ideas_board", True)),
        can_moderate=moderator,
    )
    checks = {"post": rules.check_can_post, "submit": rules.check_can_submit_idea, "vote": rules.check_can_vote}
    blocks: dict[str, str | None] = {}
    for need, check in checks.items():
        try:
            check(stand_in)  # type: ignore[arg-type]
            blocks[need] = None
        except Conflict as exc:
            blocks[need] = exc.message
    return blocks


@dataclass(frozen=True)
class Standing:
    member: bool
    muted_until: str | None
    can_join: bool

    @classmethod
    def of(cls, access: RoomAccess) -> Standing:
        muted = access.membership.muted_until if access.is_muted else None  # type: ignore[union-attr]
        return cls(member=access.is_member, muted_until=muted.isoformat() if muted else None, can_join=access.can_join)


def blocked_for(room: dict[str, Any], moderator: bool, standing: Standing) -> dict[str, str | None]:
    """Phase reasons first (the most useful to read), then membership, then a mute."""
    blocks = phase_blocks(room, moderator)
    if not standing.member:
        reason = _("Join this challenge to take part.") if standing.can_join else _("Only members of this room take part.")
    elif standing.muted_until:
        reason = _("You are muted until %(when)s.", when=format_datetime(standing.muted_until))
    else:
        reason = None
    return {need: blocks[need] or reason for need in NEEDS}


def next_step(room: dict[str, Any], now: datetime | None = None) -> dict[str, str] | None:
    """The next scheduled phase change: {phase, at, remaining}, or None."""
    now = now or utcnow()
    for name, phase in NEXT_STEP.get(room["phase"], ()):
        at = room["schedule"].get(name)
        if at:
            return {"phase": phase, "at": at, "remaining": remaining_text(datetime.fromisoformat(at) - now)}
    return None


def remaining_text(delta: Any) -> str:
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return _("any moment now")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = max(1, rest // 60) if not days and not hours else rest // 60
    # Short units, as a countdown shows them ("in 2 d 5 h"); room.js takes over in the browser.
    parts = [pgettext("duration", "%(num)d d", num=days)] if days else []
    if hours or days:
        parts.append(pgettext("duration", "%(num)d h", num=hours))
    if not days:
        parts.append(pgettext("duration", "%(num)d min", num=minutes))
    return _("in %(time)s", time=" ".join(parts))


def phase_moves(room: dict[str, Any]) -> list[tuple[str, str, str]]:
    if room.get("kind") == "community":
        return []  # no phases; administrators archive from their communities list
    return PHASE_MOVES.get(room["phase"], [])
