"""The write path of a scorecard: a reviewer's draft or submitted review of one idea.

One row per (idea, reviewer), written by a single upsert: parallel submits of the same
review leave one review holding the last write, and the results, computed from the rows,
stay consistent. Comments go through the room's moderation like messages: the link limits,
and a guest's comments wait for a moderator where the room pre-moderates guests' posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from innovate import audit, kinds
from innovate.accounts.models import User
from innovate.db import insert_for, utcnow
from innovate.errors import Conflict, Forbidden, Invalid
from innovate.i18n import gettext as _
from innovate.inputs import Input, bool_field, choice_field, text_field
from innovate.resources import Resources
from innovate.rooms import ratelimits
from innovate.rooms.access import RoomAccess, idea_in_room
from innovate.rooms.events import append_event
from innovate.rooms.models import Idea
from innovate.rooms.reviews import stats
from innovate.rooms.reviews.models import RECOMMENDATIONS, Criterion, Review
from innovate.rooms.reviews.queries import criteria_of, is_assigned, settings_of
from innovate.writes import write

COMMENT_MAX = 2_000
SUMMARY_MAX = 5_000


@dataclass(frozen=True)
class Scorecard:
    scores: dict[str, int]
    comments: dict[str, str]
    summary: str
    recommendation: str | None
    submit: bool


def _by_criterion(data: Input, name: str) -> dict[str, Any]:
    raw = data.get(name, {})
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise Invalid.field(name, 'expected an object keyed by criterion id, such as {"12": 4}')
    return raw


def check_scorecard(data: Input, criteria: list[Criterion]) -> Scorecard:
    by_id = {str(c.id): c for c in criteria}
    scores: dict[str, int] = {}
    for key, value in _by_criterion(data, "scores").items():
        criterion = by_id.get(str(key))
        if criterion is None:
            raise Invalid.field(f"scores.{key}", _("no such criterion in this room"))
        if value is None or value == "":
            continue
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= criterion.scale:
            raise Invalid.field(f"scores.{key}", _("expected a whole number from 1 to %(max)s", max=criterion.scale))
        scores[str(key)] = value
    comments: dict[str, str] = {}
    for key, value in _by_criterion(data, "comments").items():
        if str(key) not in by_id:
            raise Invalid.field(f"comments.{key}", _("no such criterion in this room"))
        name = f"comments.{key}"
        text = text_field({name: value}, name, max_length=COMMENT_MAX, required=False, multiline=True)
        if text:
            comments[str(key)] = text
    summary = text_field(data, "summary", max_length=SUMMARY_MAX, required=False, multiline=True) or ""
    recommendation = (choice_field(data, "recommendation", RECOMMENDATIONS)
                      if data.get("recommendation") not in (None, "") else None)
    submit = bool_field(data, "submit")
    if submit:
        for c in criteria:
            if str(c.id) not in scores:
                raise Invalid.field(f"scores.{c.id}", _("give %(criterion)s a mark to submit", criterion=c.name))
        if recommendation is None:
            raise Invalid.field("recommendation", _("choose one of %(choices)s to submit", choices=", ".join(RECOMMENDATIONS)))
    return Scorecard(scores, comments, summary, recommendation, submit)


def _comments_held(access: RoomAccess) -> bool:
    """The room's pre-moderation of guests applies to their review comments too."""
    room, user, membership = access.room, access.user, access.membership
    if not user.is_guest or room.premoderation == "off" or access.can_moderate:
        return False
    if room.premoderation == "all":
        return True
    return membership is not None and membership.approved_posts < room.premoderation_first_n


@dataclass(frozen=True)
class Saved:
    access: RoomAccess
    idea: Idea
    review: Review


async def save_review(resources: Resources, actor: User, idea_id: int, data: Input, *,
                      in_room: str | None = None) -> Saved:
    async with write(resources) as (db, outbox):
        found = await idea_in_room(db, actor, idea_id, in_room=in_room)
        access, idea = found.access, found.idea
        if not access.is_member or not await is_assigned(db, idea.id, actor.id):
            if idea.author_id == actor.id:
                raise Forbidden(_("You cannot review your own idea."))
            raise Forbidden(_("This idea is not assigned to you for review."))
        if access.room.phase == "archived":
            raise Conflict(_("The room is archived: it is read-only."))
        if (await settings_of(db, access.room.id)).released_at is not None:
            raise Conflict(_("The results are released: reviews are final."))
        criteria = await criteria_of(db, access.room.id)
        if not criteria:
            raise Conflict(_("This room has no review criteria yet."))
        card = check_scorecard(data, criteria)
        text = "\n".join([card.summary, *card.comments.values()])
        ratelimits.check_content(resources.settings, access, text, field="summary", mentions=False)
        current = (await db.execute(select(Review.state, Review.comments_state).where(
            Review.idea_id == idea.id, Review.reviewer_id == actor.id))).first()
        if current is not None and current.state == "submitted" and not card.submit:
            raise Conflict(_("This review is submitted: send it again with submit to change it."))
        now = utcnow()
        weighted = (stats.weighted_score({int(k): v for k, v in card.scores.items()},
                                         {c.id: stats.Scale(c.weight, c.scale) for c in criteria})
                    if card.submit else None)
        comments_state = "visible"
        if current is not None and current.comments_state == "hidden":
            comments_state = "hidden"  # a moderator's decision stands
        elif card.submit and (card.comments or card.summary) and _comments_held(access):
            comments_state = "held"
        values = {"scores": card.scores, "comments": card.comments, "summary": card.summary,
                  "recommendation": card.recommendation, "state": "submitted" if card.submit else "draft",
                  "weighted": weighted, "comments_state": comments_state, "updated_at": now,
                  "submitted_at": now if card.submit else None}
        statement = insert_for(db, Review).values(room_id=access.room.id, idea_id=idea.id, reviewer_id=actor.id,
                                                  **values)
        statement = statement.on_conflict_do_update(index_elements=["idea_id", "reviewer_id"], set_=values)
        await db.execute(statement)
        review = (await db.execute(select(Review).where(Review.idea_id == idea.id, Review.reviewer_id == actor.id)
                                   .execution_options(populate_existing=True))).scalar_one()
        if card.submit:
            await append_event(db, outbox, access.room.id, kinds.REVIEW_SUBMITTED,
                               {"idea_id": idea.id, "user_id": actor.id, "review_id": review.id},
                               audience=f"user:{actor.id}", actor_id=actor.id)
            await audit.record(db, actor.id, audit.REVIEW_SUBMITTED, room_id=access.room.id, target_kind="review",
                               target_id=review.id, data={"idea_id": idea.id, "weighted": weighted})
    return Saved(access, idea, review)
