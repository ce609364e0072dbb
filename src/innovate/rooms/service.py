"""The write path for rooms: create, change settings and phase, join and leave.

Each function checks access, writes rows and the room Event in one transaction, and the
events are published after commit (see rooms/events.py).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit, kinds
from innovate.accounts.models import User
from innovate.db import affected, utcnow
from innovate.errors import Conflict, Forbidden, Invalid, NotFound
from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext, ngettext
from innovate.inputs import (
    FieldErrors,
    Input,
    bool_field,
    choice_field,
    datetime_field,
    int_field,
    text_field,
)
from innovate.resources import Resources
from innovate.rooms import rules
from innovate.rooms.access import (
    RoomAccess,
    guest_access_over,
    require_moderator,
    room_access,
)
from innovate.rooms.events import append_event
from innovate.rooms.guests import guests_lost_room
from innovate.rooms.memberships import add_member
from innovate.rooms.models import (
    COMMUNITY_VISIBILITIES,
    PHASES,
    PREMODERATION,
    ROOM_KINDS,
    VISIBILITIES,
    VOTING_MODES,
    Membership,
    Room,
    Vote,
)
from innovate.rooms.owners import flag_ownerless
from innovate.writes import EVERY_ITEM, Outbox, access_changed, state_changed, write

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,62}[a-z0-9])$")
RESERVED_SLUGS = {"new", "api", "live", "admin", "static"}
SCHEDULE_FIELDS = ("opens_at", "voting_at", "closes_at", "archives_at")


def _slug(data: Input) -> str:
    slug = (text_field(data, "slug", max_length=rules.SLUG_MAX) or "").lower()
    if not SLUG_RE.match(slug) or "--" in slug:
        raise Invalid.field("slug", _("use 3-64 lowercase letters, digits and single hyphens, e.g. green-logistics"))
    if slug in RESERVED_SLUGS:
        raise Invalid.field("slug", _("is reserved; choose another"))
    return slug


def _voting_rules(data: Input, current: Room | None, errors: FieldErrors) -> dict[str, Any]:
    mode = errors.check(choice_field, data, "voting_mode", VOTING_MODES,
                        default=current.voting_mode if current else "updown")
    values: dict[str, Any] = {"voting_mode": mode, "budget": None, "max_per_idea": None}
    if mode == "budget":
        budget = errors.check(int_field, data, "budget", minimum=1, maximum=100,
                              required=current is None or current.budget is None,
                              default=current.budget if current else None)
        max_per_idea = errors.check(int_field, data, "max_per_idea", minimum=1, maximum=100, required=False,
                                    default=(current.max_per_idea if current and current.max_per_idea else budget))
        if max_per_idea is not None and budget is not None and max_per_idea > budget:
            errors.add("max_per_idea", _("cannot be larger than the budget"))
        values.update(budget=budget, max_per_idea=max_per_idea)
    return values


# How the schedule's errors speak of the other dates (the API names the field in ``fields``).
SCHEDULE_WORDS = {"opens_at": lazy_gettext("must be after the opening"),
                  "voting_at": lazy_gettext("must be after the start of voting"),
                  "closes_at": lazy_gettext("must be after the close"),
                  "archives_at": lazy_gettext("must be after archiving")}


def _schedule(data: Input, current: Room | None, errors: FieldErrors) -> dict[str, datetime | None]:
    values = {name: (errors.check(datetime_field, data, name) if name in data else getattr(current, name, None))
              for name in SCHEDULE_FIELDS}
    times = [(name, values[name]) for name in SCHEDULE_FIELDS if values[name] is not None]
    for (first, a), (second, b) in pairwise(times):
        if a >= b:  # type: ignore[operator]
            errors.add(second, str(SCHEDULE_WORDS[first]))
    return values


# What another domain writes with a room, in the transaction that creates or changes it (a
# community's tags): it runs after the room's own writes, and a failure undoes them all.
InTransaction = Callable[[AsyncSession, Outbox, Room], Awaitable[None]]


async def create_room(resources: Resources, actor: User, data: Input, *, errors: FieldErrors | None = None,
                      then: InTransaction | None = None) -> Room:
    """A challenge (moderators and admins) or, with ``kind: community``, a community: any
    active employee, no approval, as its first owner (moderator). For a community, ``errors``
    are the caller's own fields' errors (refused together with the room's) and ``then`` its
    writes in the same transaction."""
    if choice_field(data, "kind", ROOM_KINDS, default="challenge") == "community":
        return await _create_community(resources, actor, data, errors or FieldErrors(), then)
    if not actor.can_create_rooms:
        raise Forbidden(_("Only moderators and administrators may create challenge rooms."))
    errors = FieldErrors()
    values: dict[str, Any] = {
        "slug": errors.check(_slug, data),
        "title": errors.check(text_field, data, "title", max_length=rules.TITLE_MAX),
        "brief": errors.check(text_field, data, "brief", max_length=rules.BRIEF_MAX, required=False, default="",
                              multiline=True),
        "cover_url": errors.check(_cover_url, data),
        "visibility": errors.check(choice_field, data, "visibility", VISIBILITIES, default="employees"),
        "votes_in_open": errors.check(bool_field, data, "votes_in_open", default=True),
        "hide_tallies_until_closed": errors.check(bool_field, data, "hide_tallies_until_closed"),
        "allow_anonymous": errors.check(bool_field, data, "allow_anonymous"),
        "guests_until": errors.check(choice_field, data, "guests_until", ("closed", "archived"), default="archived"),
        "premoderation": errors.check(choice_field, data, "premoderation", PREMODERATION, default="off"),
        **_voting_rules(data, None, errors),
        **_schedule(data, None, errors),
    }
    phase = errors.check(choice_field, data, "phase", ("draft", "open"), default="draft")
    grown_from = errors.check(_grown_from_slug, data)
    errors.raise_if_any()
    assert phase is not None  # no error was kept, so the check answered
    return await _insert_room(resources, actor, values, phase, grown_from=grown_from)


def _grown_from_slug(data: Input) -> str | None:
    slug = text_field(data, "grown_from", max_length=rules.SLUG_MAX, required=False)
    return slug.lower() if slug else None


async def _create_community(resources: Resources, actor: User, data: Input, errors: FieldErrors,
                            then: InTransaction | None) -> Room:
    if not actor.is_active or actor.is_guest:
        raise Forbidden(_("Guests cannot create communities."))
    for name in ("phase", *SCHEDULE_FIELDS):
        if data.get(name) not in (None, ""):
            errors.add(name, _("a community has no phases"))
    values: dict[str, Any] = {
        "kind": "community",
        "slug": errors.check(_slug, data),
        "title": errors.check(text_field, data, "title", max_length=rules.TITLE_MAX),
        "brief": errors.check(text_field, data, "brief", max_length=rules.BRIEF_MAX, required=False, default="",
                              multiline=True),
        "cover_url": errors.check(_cover_url, data),
        "visibility": errors.check(choice_field, data, "visibility", COMMUNITY_VISIBILITIES, default="employees"),
        "ideas_board": errors.check(bool_field, data, "ideas_board", default=True),
        "allow_anonymous": errors.check(bool_field, data, "allow_anonymous"),
        "votes_in_open": True,
        "guests_until": "archived",
    }
    errors.raise_if_any()
    return await _insert_room(resources, actor, values, "open", limit=resources.settings.communities_per_employee,
                              then=then)


async def _insert_room(resources: Resources, actor: User, values: dict[str, Any], phase: str, *,
                       limit: int | None = None, grown_from: str | None = None,
                       then: InTransaction | None = None) -> Room:
    try:
        async with write(resources) as (db, outbox):
            if limit is not None and not actor.is_admin:
                # The actor's row lock serialises their creations: two at once cannot both pass.
                await db.execute(select(User.id).where(User.id == actor.id).with_for_update())
                owned = (await db.execute(select(func.count()).select_from(Room).where(
                    Room.kind == "community", Room.created_by_id == actor.id, Room.phase != "archived"))).scalar_one()
                if owned >= limit:
                    raise Conflict(ngettext("You already own %(num)d community, as many communities as one person may start here; "
                                            "archive it or ask an administrator.",
                                            "You already own %(num)d communities, the most one person may start "
                                            "here; archive one or ask an administrator.", owned))
            if grown_from is not None:
                values["grown_from_id"] = await _community_id(db, actor, grown_from)
            room = Room(**values, phase=phase, created_by_id=actor.id)
            db.add(room)
            await db.flush()
            await add_member(db, outbox, room, actor, role="moderator")
            await audit.record(db, actor.id, audit.ROOM_CREATED, room_id=room.id, target_kind="room", target_id=room.id,
                        data={"slug": room.slug, "phase": phase, "kind": room.kind})
            if then is not None:
                await then(db, outbox, room)
    except IntegrityError:
        raise Conflict(_("The address /rooms/%(slug)s is taken.", slug=values["slug"]),
                       fields={"slug": _("already taken")}) from None
    return room


async def _community_id(db: Any, actor: User, slug: str) -> int:
    """The community a new challenge grows out of: one the actor can see."""
    try:
        access = await room_access(db, actor, slug)
    except NotFound:
        raise Invalid.field("grown_from", _("no such community")) from None
    if access.room.kind != "community":
        raise Invalid.field("grown_from", _("no such community"))
    return access.room.id


def _cover_url(data: Input) -> str | None:
    url = text_field(data, "cover_url", max_length=500, required=False)
    if url and not url.startswith(("https://", "/static/")):
        raise Invalid.field("cover_url", _("use an https:// image address"))
    return url


async def update_room(resources: Resources, actor: User, slug: str, data: Input, *,
                      errors: FieldErrors | None = None, then: InTransaction | None = None) -> RoomAccess:
    """PATCH a room: brief and settings, voting rules, schedule, lock, and phase. The answer
    is the room as the change left it, with the caller's standing in it. ``errors`` and
    ``then``: the caller's own fields, as for :func:`create_room`."""
    async with write(resources) as (db, outbox):
        access = await room_access(db, actor, slug)
        require_moderator(access)
        room = access.room
        errors = errors or FieldErrors()
        changed: dict[str, Any] = {}
        if "title" in data:
            changed["title"] = errors.check(text_field, data, "title", max_length=rules.TITLE_MAX)
        if "brief" in data:
            changed["brief"] = errors.check(text_field, data, "brief", max_length=rules.BRIEF_MAX, required=False,
                                            default="", multiline=True)
        if "cover_url" in data:
            changed["cover_url"] = errors.check(_cover_url, data)
        if "visibility" in data:
            changed["visibility"] = errors.check(choice_field, data, "visibility",
                                                 COMMUNITY_VISIBILITIES if room.kind == "community" else VISIBILITIES)
        for flag in ("votes_in_open", "hide_tallies_until_closed", "allow_anonymous"):
            if flag in data:
                changed[flag] = errors.check(bool_field, data, flag)
        if room.kind == "community":
            _check_community_change(access, data)
            if "ideas_board" in data:
                changed["ideas_board"] = errors.check(bool_field, data, "ideas_board")
        if "guests_until" in data:
            changed["guests_until"] = errors.check(choice_field, data, "guests_until", ("closed", "archived"))
        if "premoderation" in data:
            changed["premoderation"] = errors.check(choice_field, data, "premoderation", PREMODERATION)
        if "premoderation_first_n" in data:
            changed["premoderation_first_n"] = errors.check(int_field, data, "premoderation_first_n", minimum=1,
                                                            maximum=100)
        if "auto_hide_reports" in data:
            changed["auto_hide_reports"] = errors.check(int_field, data, "auto_hide_reports", minimum=1, maximum=1000,
                                                        required=False)
        rules_values = (_voting_rules(data, room, errors) if any(k in data for k in ("voting_mode", "budget", "max_per_idea"))
                        else {})
        if any(k in data for k in SCHEDULE_FIELDS):
            changed.update(_schedule(data, room, errors))
        errors.raise_if_any()
        if any(rules_values[k] != getattr(room, k) for k in rules_values):
            has_votes = (await db.execute(select(exists().where(Vote.room_id == room.id)))).scalar()
            if has_votes:
                raise Conflict(_("Voting rules cannot change once votes have been cast."))
            changed.update(rules_values)
        changed = {k: v for k, v in changed.items() if getattr(room, k) != v}
        if changed:
            for key, value in changed.items():
                setattr(room, key, value)
            room.updated_at = utcnow()
            await db.flush()
            await append_event(db, outbox, room.id, kinds.ROOM_UPDATED, {"fields": sorted(changed)}, actor_id=actor.id)
            if changed.get("hide_tallies_until_closed") is False:
                _reveal_tallies(outbox, room)
            await audit.record(db, actor.id, audit.ROOM_UPDATED, room_id=room.id, target_kind="room", target_id=room.id,
                        data={"fields": sorted(changed)})
        if "locked" in data:
            await _set_lock(db, outbox, access, bool_field(data, "locked"), actor)
        if "phase" in data:
            target = choice_field(data, "phase", PHASES)
            if target != room.phase:
                await _move_phase(db, outbox, room, target, actor.id)
        if then is not None:
            await then(db, outbox, room)
    await _end_guest_access_if_over(resources, room)
    return access


def _check_community_change(access: RoomAccess, data: Input) -> None:
    """A community has no phases and no schedule: it is open until an administrator archives
    it (or brings it back)."""
    for name in SCHEDULE_FIELDS:
        if data.get(name) not in (None, ""):
            raise Invalid.field(name, _("a community has no phases"))
    if "phase" in data and data["phase"] != access.room.phase:
        target = choice_field(data, "phase", ("open", "archived"))
        if not access.user.is_admin:
            raise Forbidden(_("Only administrators may archive a community.") if target == "archived"
                            else _("Only administrators may reopen a community."))


async def _set_lock(db: Any, outbox: Any, access: RoomAccess, locked: bool, actor: User) -> None:
    room = access.room
    if room.locked == locked:
        return
    room.locked = locked
    await db.flush()
    await append_event(db, outbox, room.id, kinds.ROOM_LOCKED, {"locked": locked}, actor_id=actor.id)
    await audit.record(db, actor.id, audit.ROOM_LOCKED if locked else audit.ROOM_UNLOCKED, room_id=room.id, target_kind="room",
                target_id=room.id)


async def _move_phase(db: Any, outbox: Any, room: Room, target: str, actor_id: int | None) -> None:
    if room.kind != "community":  # an administrator may bring an archived community back
        rules.check_phase_move(room.phase, target)
    previous = room.phase
    # Conditional on the phase we read, so a scheduler in another process cannot apply twice.
    result = await db.execute(
        update(Room).where(Room.id == room.id, Room.phase == previous).values(phase=target, updated_at=utcnow())
    )
    if affected(result) == 0:
        raise Conflict(_("The phase changed meanwhile; reload and try again."))
    room.phase = target
    if room.kind == "community" and target == "archived" and room.orphaned_at is not None:
        room.orphaned_at = None  # archiving settles the flag
        await db.flush()
    await append_event(db, outbox, room.id, kinds.ROOM_PHASE_CHANGED, {"from": previous, "to": target}, actor_id=actor_id)
    await audit.record(db, actor_id, audit.ROOM_PHASE_CHANGED, room_id=room.id, target_kind="room", target_id=room.id,
                data={"from": previous, "to": target, "scheduled": actor_id is None})
    if room.kind == "community" and target == "open":
        await flag_ownerless(db, outbox, [room.id])  # brought back without an owner
    if target in ("closed", "archived"):
        # Guests may lose access now; open sockets re-check (see realtime/hub.py).
        access_changed(outbox, room_id=room.id)
    if room.hide_tallies_until_closed and target == "closed":
        _reveal_tallies(outbox, room)


def _reveal_tallies(outbox: Any, room: Room) -> None:
    """A secret ballot's results, the moment they may be seen: every open page gets every
    tally at once (members' pages show "hidden" until then)."""
    state_changed(outbox, room.id, kinds.TALLY_CHANGED, EVERY_ITEM)


async def _end_guest_access_if_over(resources: Resources, room: Room) -> None:
    """After commit: guests whose last room this was lose their sessions and sockets."""
    if guest_access_over(room):
        await guests_lost_room(resources, room.id)


async def change_phase(resources: Resources, actor: User, slug: str, target: str) -> Room:
    return (await update_room(resources, actor, slug, {"phase": target})).room


async def apply_due_phases(resources: Resources) -> list[tuple[str, str]]:
    """Move rooms whose scheduled time has come; returns (slug, new phase) pairs."""
    now = utcnow()
    moves: list[tuple[str, str]] = []
    async with resources.db() as db:
        rooms = list((await db.execute(select(Room).where(Room.phase != "archived"))).scalars())
    for room in rooms:
        target = _due_phase(room, now)
        if target is None:
            continue
        try:
            async with write(resources) as (db, outbox):
                fresh = await db.get(Room, room.id, populate_existing=True)
                if fresh is None or _due_phase(fresh, now) != target:
                    continue
                await _move_phase(db, outbox, fresh, target, None)
            await _end_guest_access_if_over(resources, fresh)
            moves.append((room.slug, target))
        except Conflict:
            continue  # another process moved it first
    return moves


def _due_phase(room: Room, now: datetime) -> str | None:
    steps = [("draft", "opens_at", "open"), ("open", "voting_at", "voting"), ("voting", "closes_at", "closed"),
             ("open", "closes_at", "closed"), ("closed", "archives_at", "archived")]
    for phase, field, target in steps:
        when = getattr(room, field)
        if room.phase == phase and when is not None and when <= now:
            return target
    return None


async def join_room(resources: Resources, actor: User, slug: str) -> RoomAccess:
    """Join the room; the answer is the room with the caller's membership in it."""
    async with write(resources) as (db, outbox):
        access = await room_access(db, actor, slug)
        if access.is_member:
            return access
        if not access.can_join:
            if access.membership is not None and access.membership.state == "removed":
                raise Forbidden(_("A moderator removed you from this room."))
            raise Conflict(_("This room is not open for joining.") if actor.kind == "employee"
                           else _("Guests join through an invite link."))
        membership = await add_member(db, outbox, access.room, actor)
    return RoomAccess(access.room, actor, membership)


async def leave_room(resources: Resources, actor: User, slug: str) -> None:
    async with write(resources) as (db, outbox):
        access = await room_access(db, actor, slug)
        membership = access.membership
        if membership is None or not access.is_member:
            raise Conflict(_("You are not a member of this room."))
        result = await db.execute(
            update(Membership)
            .where(Membership.id == membership.id, Membership.state == "active")
            .values(state="left", left_at=utcnow())
        )
        if affected(result):
            await append_event(db, outbox, access.room.id, kinds.MEMBER_LEFT, {"user_id": actor.id}, actor_id=actor.id)
            access_changed(outbox, room_id=access.room.id, user_id=actor.id)
            if membership.role == "moderator":
                await flag_ownerless(db, outbox, [access.room.id])
