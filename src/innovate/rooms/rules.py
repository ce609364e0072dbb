"""What each phase allows, and the text limits. Services ask here before writing."""

from __future__ import annotations

from innovate.errors import Conflict
from innovate.i18n import gettext as _
from innovate.i18n import lazy_pgettext
from innovate.rooms.access import RoomAccess
from innovate.rooms.models import Room

SLUG_MAX = 64
TITLE_MAX = 200
BRIEF_MAX = 20_000
IDEA_TITLE_MAX = 200
IDEA_BODY_MAX = 10_000
MESSAGE_MAX = 5_000
REASON_MAX = 1_000

# Forward moves are always allowed; these backward steps undo a premature move.
BACKWARD = {("voting", "open"), ("closed", "voting")}
ORDER = ("draft", "open", "voting", "closed", "archived")

# A phase's name inside a sentence ("The room is now voting."), in the reader's language.
PHASE_NAMES = {"draft": lazy_pgettext("phase, in a sentence", "draft"),
               "open": lazy_pgettext("phase, in a sentence", "open for ideas"),
               "voting": lazy_pgettext("phase, in a sentence", "voting"),
               "closed": lazy_pgettext("phase, in a sentence", "closed"),
               "archived": lazy_pgettext("phase, in a sentence", "archived")}


# A phase's label, as the phase steps and menus show it ("Open for ideas").
PHASE_LABELS = {"draft": lazy_pgettext("phase", "Draft"), "open": lazy_pgettext("phase", "Open for ideas"),
                "voting": lazy_pgettext("phase", "Voting"), "closed": lazy_pgettext("phase", "Closed"),
                "archived": lazy_pgettext("phase", "Archived")}


def phase_name(phase: str) -> str:
    return str(PHASE_NAMES.get(phase, phase))


def phase_label(phase: str) -> str:
    return str(PHASE_LABELS.get(phase, phase))


def check_phase_move(current: str, target: str) -> None:
    if current == target:
        raise Conflict(_("The room is already in phase “%(phase)s”.", phase=phase_label(target)))
    if current == "archived":
        raise Conflict(_("An archived room cannot change phase."))
    if ORDER.index(target) < ORDER.index(current) and (current, target) not in BACKWARD:
        raise Conflict(_("The phase cannot go back from “%(current)s” to “%(target)s”.", current=phase_label(current),
                         target=phase_label(target)))


def _not_locked(access: RoomAccess) -> None:
    if access.room.locked and not access.can_moderate:
        raise Conflict(_("The room is locked: it is read-only for now."))


def check_can_submit_idea(access: RoomAccess) -> None:
    _not_locked(access)
    if not access.room.ideas_board:
        raise Conflict(_("This community has no ideas board."))
    if access.room.phase != "open":
        raise Conflict(_("Ideas can be submitted while the room is open (it is %(phase)s).",
                         phase=phase_name(access.room.phase)))


def check_can_edit_idea(room: Room) -> None:
    if room.phase != "open":
        raise Conflict(_("Ideas can be edited only until voting starts."))


def check_can_vote(access: RoomAccess) -> None:
    _not_locked(access)
    room = access.room
    if room.phase == "voting" or (room.phase == "open" and room.votes_in_open):
        return
    if room.phase == "open":
        raise Conflict(_("Voting starts when the room enters the voting phase."))
    raise Conflict(_("Voting is not possible while the room is %(phase)s.", phase=phase_name(room.phase)))


def check_can_post(access: RoomAccess) -> None:
    _not_locked(access)
    room = access.room
    if room.phase in ("closed", "archived"):
        raise Conflict(_("The discussion is read-only: the room is %(phase)s.", phase=phase_name(room.phase)))
    if room.phase == "draft" and not access.can_moderate:
        raise Conflict(_("The room has not opened yet."))
