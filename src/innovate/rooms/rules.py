"""What each phase allows, and the text limits. Services ask here before writing."""

from __future__ import annotations

from innovate.errors import Conflict
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


def check_phase_move(current: str, target: str) -> None:
    if current == target:
        raise Conflict(f"The room is already in phase {target}.")
    if current == "archived":
        raise Conflict("An archived room cannot change phase.")
    if ORDER.index(target) < ORDER.index(current) and (current, target) not in BACKWARD:
        raise Conflict(f"The phase cannot go back from {current} to {target}.")


def _not_locked(access: RoomAccess) -> None:
    if access.room.locked and not access.can_moderate:
        raise Conflict("The room is locked: it is read-only for now.")


def check_can_submit_idea(access: RoomAccess) -> None:
    _not_locked(access)
    if not access.room.ideas_board:
        raise Conflict("This community has no ideas board.")
    if access.room.phase != "open":
        raise Conflict(f"Ideas can be submitted while the room is open (it is {access.room.phase}).")


def check_can_edit_idea(room: Room) -> None:
    if room.phase != "open":
        raise Conflict("Ideas can be edited only until voting starts.")


def check_can_vote(access: RoomAccess) -> None:
    _not_locked(access)
    room = access.room
    if room.phase == "voting" or (room.phase == "open" and room.votes_in_open):
        return
    if room.phase == "open":
        raise Conflict("Voting starts when the room enters the voting phase.")
    raise Conflict(f"Voting is not possible while the room is {room.phase}.")


def check_can_post(access: RoomAccess) -> None:
    _not_locked(access)
    room = access.room
    if room.phase in ("closed", "archived"):
        raise Conflict(f"The discussion is read-only: the room is {room.phase}.")
    if room.phase == "draft" and not access.can_moderate:
        raise Conflict("The room has not opened yet.")
