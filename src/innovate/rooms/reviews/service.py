"""The write path of the review stage's set-up and end: criteria, settings, reviewers,
moderating review comments, and releasing the results (assignments: assignments.py;
scorecards: scorecard.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit, kinds
from innovate.accounts.models import User
from innovate.db import insert_for, utcnow
from innovate.errors import Conflict, Invalid, NotFound
from innovate.i18n import gettext as _
from innovate.i18n.formatting import format_number
from innovate.inputs import Input, bool_field, choice_field, datetime_field, id_field, text_field
from innovate.resources import Resources
from innovate.rooms import rules
from innovate.rooms.access import RoomAccess, require_moderator, room_access, room_access_by_id
from innovate.rooms.events import append_event
from innovate.rooms.models import Membership, Room
from innovate.rooms.reviews.models import (
    DEADLINE_PHASES,
    SCALES,
    Assignment,
    Criterion,
    Review,
    Reviewer,
    ReviewSettings,
)
from innovate.rooms.reviews.queries import criteria_of, scales_locked
from innovate.writes import write

MAX_CRITERIA = 12
NAME_MAX, GUIDE_MAX, LABEL_MAX = 80, 500, 40
WEIGHT_MAX = 100.0


async def moderated_room(db: AsyncSession, actor: User, slug: str) -> RoomAccess:
    access = await room_access(db, actor, slug)
    require_moderator(access)
    if access.room.phase == "archived":
        raise Conflict(_("The room is archived: it is read-only."))
    return access


async def settings_for_update(db: AsyncSession, room_id: int) -> ReviewSettings:
    """The room's settings row, created if missing and locked until commit (an upsert: two
    moderators at once must not both insert it)."""
    await db.execute(insert_for(db, ReviewSettings).values(
        room_id=room_id, peers_see_reviews=False, reviewers_anonymous=True, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["room_id"]))
    row = await db.get(ReviewSettings, room_id, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


# Criteria -------------------------------------------------------------------------------------


def _weight(item: Input, where: str) -> float:
    raw = item.get("weight", 1)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise Invalid.field(f"{where}.weight", _("expected a number"))
    if not 0 < raw <= WEIGHT_MAX:
        raise Invalid.field(f"{where}.weight", _("must be more than 0 and at most %(max)s", max=format_number(WEIGHT_MAX)))
    return float(raw)


def check_criteria(data: Input) -> list[dict[str, Any]]:
    """``{"criteria": [{id?, name, guide?, weight?, scale, low_label?, high_label?}, ...]}``,
    every error naming its place (``criteria.2.scale``)."""
    items = data.get("criteria")
    if not isinstance(items, list):
        raise Invalid.field("criteria", _("expected a list of criteria"))
    if len(items) > MAX_CRITERIA:
        raise Invalid.field("criteria", _("use at most %(max)s criteria", max=MAX_CRITERIA))
    checked: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        where = f"criteria.{index}"
        if not isinstance(item, dict):
            raise Invalid.field(where, _("expected an object"))
        scale = item.get("scale", 5)
        if isinstance(scale, str) and scale.isdigit():
            scale = int(scale)
        if scale not in SCALES or isinstance(scale, bool):
            raise Invalid.field(f"{where}.scale", _("expected 5 (marks 1-5) or 10 (marks 1-10)"))
        checked.append({
            "id": id_field(item, "id", required=False) if "id" in item else None,
            "name": _text(item, where, "name", max_length=NAME_MAX),
            "guide": _text(item, where, "guide", max_length=GUIDE_MAX, required=False, multiline=True) or "",
            "weight": _weight(item, where),
            "scale": scale,
            "low_label": _text(item, where, "low_label", max_length=LABEL_MAX, required=False) or "",
            "high_label": _text(item, where, "high_label", max_length=LABEL_MAX, required=False) or "",
        })
    names = [c["name"].lower() for c in checked]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise Invalid.field(f"criteria.{index}.name", _("two criteria have this name"))
    return checked


def _text(item: Input, where: str, name: str, **rules: Any) -> str | None:
    """A text field of one criterion, its error named by the criterion's place."""
    try:
        return text_field(item, name, **rules)
    except Invalid as exc:
        raise Invalid.field(f"{where}.{name}", (exc.fields or {}).get(name, exc.message)) from None


async def save_criteria(resources: Resources, actor: User, slug: str, data: Input) -> Room:
    """Replace the room's criteria. Once a review is submitted only the wording may change:
    the same criteria, with their scales and weights, or the submitted scores would change
    meaning."""
    wanted = check_criteria(data)
    async with write(resources) as (db, outbox):
        access = await moderated_room(db, actor, slug)
        room = access.room
        await settings_for_update(db, room.id)  # one criteria change at a time per room
        current = {c.id: c for c in await criteria_of(db, room.id)}
        for index, item in enumerate(wanted):
            if item["id"] is not None and item["id"] not in current:
                raise Invalid.field(f"criteria.{index}.id", _("no such criterion in this room"))
        if await scales_locked(db, room.id):
            _check_wording_only(wanted, current)
        keep = {item["id"] for item in wanted if item["id"] is not None}
        gone = set(current) - keep
        if gone:
            await db.execute(delete(Criterion).where(Criterion.id.in_(gone)))
        for position, item in enumerate(wanted):
            fields = {k: v for k, v in item.items() if k != "id"}
            if item["id"] is None:
                db.add(Criterion(room_id=room.id, position=position, **fields))
            else:
                criterion = current[item["id"]]
                for key, value in fields.items():
                    setattr(criterion, key, value)
                criterion.position = position
        await db.flush()
        await audit.record(db, actor.id, audit.REVIEW_CRITERIA_CHANGED, room_id=room.id, target_kind="room",
                           target_id=room.id, data={"criteria": [i["name"] for i in wanted], "removed": len(gone)})
    return room


def _check_wording_only(wanted: list[dict[str, Any]], current: dict[int, Criterion]) -> None:
    if {item["id"] for item in wanted} != set(current) or len(wanted) != len(current):
        raise Conflict(_("criteria: reviews were submitted, so criteria can no longer be added or removed"),
                       fields={"criteria": _("reviews were submitted: only names, guides and labels may change")})
    for index, item in enumerate(wanted):
        before = current[item["id"]]
        for key in ("scale", "weight"):
            if item[key] != getattr(before, key):
                fixed = _("fixed once reviews were submitted")
                raise Conflict(f"criteria.{index}.{key}: {fixed}", fields={f"criteria.{index}.{key}": fixed})


# Settings -------------------------------------------------------------------------------------


async def save_settings(resources: Resources, actor: User, slug: str, data: Input) -> Room:
    """Any of ``deadline_at`` (ISO 8601, or null), ``deadline_phase`` (voting, closed,
    archived, or null), ``peers_see_reviews`` and ``reviewers_anonymous``."""
    deadline_at = datetime_field(data, "deadline_at") if "deadline_at" in data else None
    phase = (choice_field(data, "deadline_phase", DEADLINE_PHASES)
             if data.get("deadline_phase") not in (None, "") else None)
    async with write(resources) as (db, outbox):
        access = await moderated_room(db, actor, slug)
        row = await settings_for_update(db, access.room.id)
        changed: dict[str, Any] = {}
        if "deadline_at" in data:
            row.deadline_at = deadline_at
            changed["deadline_at"] = deadline_at.isoformat() if deadline_at else None
        if "deadline_phase" in data:
            row.deadline_phase = phase
            changed["deadline_phase"] = phase
        for name in ("peers_see_reviews", "reviewers_anonymous"):
            if name in data:
                value = bool_field(data, name)
                setattr(row, name, value)
                changed[name] = value
        row.updated_at = utcnow()
        await db.flush()
        await audit.record(db, actor.id, audit.REVIEW_SETTINGS_CHANGED, room_id=access.room.id, target_kind="room",
                           target_id=access.room.id, data=changed)
    return access.room


# Reviewers ------------------------------------------------------------------------------------


async def add_reviewer(resources: Resources, actor: User, slug: str, data: Input) -> User:
    """Make a member of the room (a guest, the expected case, or an employee) a reviewer."""
    user_id = id_field(data, "user_id")
    async with write(resources) as (db, outbox):
        access = await moderated_room(db, actor, slug)
        found = (await db.execute(select(User).join(Membership, Membership.user_id == User.id).where(
            Membership.room_id == access.room.id, Membership.user_id == user_id, Membership.state == "active",
            User.is_active.is_(True)))).scalar_one_or_none()
        if found is None:
            raise Invalid.field("user_id", _("not a member of this room"))
        await db.execute(insert_for(db, Reviewer).values(
            room_id=access.room.id, user_id=found.id, added_by_id=actor.id, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["room_id", "user_id"]))
        await audit.record(db, actor.id, audit.REVIEWER_ADDED, room_id=access.room.id, target_kind="user",
                           target_id=found.id)
    return found


async def remove_reviewer(resources: Resources, actor: User, slug: str, user_id: int) -> None:
    """The reviewer leaves the panel with the ideas they have not reviewed yet; their
    submitted reviews stay in the results."""
    async with write(resources) as (db, outbox):
        access = await moderated_room(db, actor, slug)
        room_id = access.room.id
        gone = await db.execute(delete(Reviewer).where(Reviewer.room_id == room_id, Reviewer.user_id == user_id)
                                .returning(Reviewer.id))
        if gone.first() is None:
            raise NotFound(_("No such reviewer."))
        submitted = select(Review.idea_id).where(Review.reviewer_id == user_id, Review.room_id == room_id,
                                                 Review.state == "submitted")
        await db.execute(delete(Review).where(Review.reviewer_id == user_id, Review.room_id == room_id,
                                              Review.state == "draft"))
        await db.execute(delete(Assignment).where(Assignment.room_id == room_id, Assignment.reviewer_id == user_id,
                                                  Assignment.idea_id.notin_(submitted)))
        await append_event(db, outbox, room_id, kinds.REVIEW_UNASSIGNED, {"user_id": user_id},
                           audience=f"user:{user_id}", actor_id=actor.id)
        await audit.record(db, actor.id, audit.REVIEWER_REMOVED, room_id=room_id, target_kind="user",
                           target_id=user_id)


# Release and moderation -----------------------------------------------------------------------


async def release(resources: Resources, actor: User, slug: str) -> Room:
    """Authors (and the room) see the results from now on."""
    async with write(resources) as (db, outbox):
        access = await moderated_room(db, actor, slug)
        row = await settings_for_update(db, access.room.id)
        if row.released_at is not None:
            raise Conflict(_("The results are already released."))
        row.released_at = row.updated_at = utcnow()
        await db.flush()
        await append_event(db, outbox, access.room.id, kinds.REVIEW_RELEASED, {}, actor_id=actor.id)
        await audit.record(db, actor.id, audit.REVIEW_RELEASED, room_id=access.room.id, target_kind="room",
                           target_id=access.room.id)
    return access.room


MODERATION = {"hide": ("hidden", audit.REVIEW_COMMENTS_HIDDEN), "restore": ("visible", audit.REVIEW_COMMENTS_RESTORED),
              "approve": ("visible", audit.REVIEW_COMMENTS_APPROVED)}


async def moderate_comments(resources: Resources, actor: User, review_id: int, data: Input, *,
                            in_room: str | None = None) -> Review:
    """Hide a review's comments, restore them, or approve held ones (the scores stay)."""
    action = choice_field(data, "action", tuple(MODERATION))
    reason = text_field(data, "reason", max_length=rules.REASON_MAX, required=action == "hide", multiline=True)
    async with write(resources) as (db, outbox):
        review = await db.get(Review, review_id, with_for_update=True)
        if review is None:
            raise NotFound(_("No such review."))
        access = await room_access_by_id(db, actor, review.room_id)
        if not access.can_moderate or (in_room is not None and access.room.slug != in_room):
            raise NotFound(_("No such review."))
        state, action_name = MODERATION[action]
        expected = {"hide": ("visible", "held"), "restore": ("hidden",), "approve": ("held",)}[action]
        if review.comments_state not in expected:
            raise Conflict(_("These comments are already hidden.") if action == "hide"
                           else _("Only hidden comments can be restored.") if action == "restore"
                           else _("Only comments that await approval can be approved."))
        review.comments_state, review.comments_reason = state, reason if action == "hide" else None
        await db.flush()
        await append_event(db, outbox, review.room_id, kinds.REVIEW_MODERATED,
                           {"idea_id": review.idea_id, "user_id": review.reviewer_id, "review_id": review.id,
                            "comments_state": state}, audience=f"user:{review.reviewer_id}", actor_id=actor.id)
        await audit.record(db, actor.id, action_name, room_id=review.room_id, target_kind="review",
                           target_id=review.id, reason=reason)
    return review
