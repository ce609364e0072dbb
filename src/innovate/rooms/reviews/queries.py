"""Read side of reviews, each shaped for the viewer: criteria, the reviewer's queue, an idea's
reviews (blind until one's own is in, nothing for authors before release), per-idea results,
the moderators' progress and the crowd-against-experts comparison."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.rooms.access import RoomAccess
from innovate.rooms.models import Idea, Room
from innovate.rooms.reviews import stats
from innovate.rooms.reviews.models import RECOMMENDATIONS, Assignment, Criterion, Review, Reviewer, ReviewSettings
from innovate.rooms.serializers import Viewer, idea_json, user_ref

# How many ideas the comparison lists as the ones the crowd and the experts disagree on most.
DISAGREEMENTS_SHOWN = 5


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def settings_of(db: AsyncSession, room_id: int) -> ReviewSettings:
    """The room's review settings; the defaults when it has none yet (not added to the session)."""
    found = await db.get(ReviewSettings, room_id)
    return found if found is not None else ReviewSettings(room_id=room_id, peers_see_reviews=False,
                                                          reviewers_anonymous=True)


def deadline_of(settings: ReviewSettings, room: Room) -> datetime | None:
    """A date of its own, or the scheduled start of the phase the deadline names."""
    if settings.deadline_at is not None:
        return settings.deadline_at
    return {"voting": room.voting_at, "closed": room.closes_at, "archived": room.archives_at}.get(
        settings.deadline_phase or "")


def settings_json(settings: ReviewSettings, room: Room) -> dict[str, Any]:
    return {
        "deadline_at": _iso(settings.deadline_at),
        "deadline_phase": settings.deadline_phase,
        "deadline": _iso(deadline_of(settings, room)),
        "peers_see_reviews": bool(settings.peers_see_reviews),
        "reviewers_anonymous": bool(settings.reviewers_anonymous),
        "released_at": _iso(settings.released_at),
    }


async def criteria_of(db: AsyncSession, room_id: int) -> list[Criterion]:
    return list((await db.execute(select(Criterion).where(Criterion.room_id == room_id)
                                  .order_by(Criterion.position, Criterion.id))).scalars())


def criterion_json(c: Criterion) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "guide": c.guide, "weight": c.weight, "scale": c.scale,
            "low_label": c.low_label, "high_label": c.high_label}


async def scales_locked(db: AsyncSession, room_id: int) -> bool:
    """Once a review is submitted, the criteria keep their scales and weights."""
    return bool((await db.execute(select(exists().where(Review.room_id == room_id, Review.state == "submitted"))))
                .scalar())


async def criteria_json(db: AsyncSession, room: Room) -> dict[str, Any]:
    return {"items": [criterion_json(c) for c in await criteria_of(db, room.id)],
            "locked": await scales_locked(db, room.id)}


async def is_reviewer(db: AsyncSession, room_id: int, user_id: int) -> bool:
    return (await db.execute(select(Reviewer.id).where(Reviewer.room_id == room_id, Reviewer.user_id == user_id))
            ).first() is not None


async def is_assigned(db: AsyncSession, idea_id: int, user_id: int) -> bool:
    return (await db.execute(select(Assignment.id).where(Assignment.idea_id == idea_id,
                                                         Assignment.reviewer_id == user_id))).first() is not None


async def pending_count(db: AsyncSession, room_id: int, user_id: int) -> int:
    """Ideas assigned to the reviewer in the room that their submitted review does not cover."""
    submitted = select(Review.idea_id).where(Review.reviewer_id == user_id, Review.room_id == room_id,
                                             Review.state == "submitted")
    return int((await db.execute(select(func.count()).select_from(Assignment).where(
        Assignment.room_id == room_id, Assignment.reviewer_id == user_id,
        Assignment.idea_id.notin_(submitted)))).scalar_one())


async def authors_of_reviewed(db: AsyncSession, room_id: int) -> set[int]:
    """Authors of the room's ideas that have a submitted review (told when results are out)."""
    rows = await db.execute(select(Idea.author_id).join(Review, Review.idea_id == Idea.id).where(
        Review.room_id == room_id, Review.state == "submitted", Idea.author_id.is_not(None)).distinct())
    return {a for a in rows.scalars() if a is not None}


# Results ------------------------------------------------------------------------------------


async def summaries(db: AsyncSession, room_id: int, idea_ids: list[int] | None = None) -> dict[int, dict[str, Any]]:
    """Per idea with at least one assignment: ``{mean, spread, min, max, disagreement,
    submitted, assigned, recommendations}`` from the submitted reviews."""
    assigned_q = select(Assignment.idea_id, func.count()).where(Assignment.room_id == room_id)
    reviews_q = select(Review.idea_id, Review.weighted, Review.recommendation).where(
        Review.room_id == room_id, Review.state == "submitted")
    if idea_ids is not None:
        if not idea_ids:
            return {}
        assigned_q = assigned_q.where(Assignment.idea_id.in_(idea_ids))
        reviews_q = reviews_q.where(Review.idea_id.in_(idea_ids))
    assigned = {i: int(n) for i, n in (await db.execute(assigned_q.group_by(Assignment.idea_id))).all()}
    scores: dict[int, list[float]] = defaultdict(list)
    advice: dict[int, Counter[str]] = defaultdict(Counter)
    for idea_id, weighted, recommendation in (await db.execute(reviews_q)).all():
        if weighted is not None:
            scores[idea_id].append(float(weighted))
        if recommendation:
            advice[idea_id][recommendation] += 1
    out = {}
    for idea_id in set(assigned) | set(scores):
        values = scores.get(idea_id, [])
        spread = stats.spread(values)
        out[idea_id] = {
            "mean": stats.mean(values),
            "spread": spread.sd if spread else None,
            "min": spread.low if spread else None,
            "max": spread.high if spread else None,
            "disagreement": spread.disagreement if spread else False,
            "submitted": len(values),
            "assigned": assigned.get(idea_id, 0),
            "recommendations": {r: advice[idea_id][r] for r in RECOMMENDATIONS},
        }
    return out


def results_visible(access: RoomAccess, settings: ReviewSettings) -> bool:
    """Moderators always; everyone in the room once the moderators released the results."""
    return access.can_moderate or settings.released_at is not None


async def results_visible_to(db: AsyncSession, access: RoomAccess) -> bool:
    return results_visible(access, await settings_of(db, access.room.id))


async def visible_summaries(db: AsyncSession, access: RoomAccess, idea_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The ``review`` part of the idea shape, for the ideas whose results the viewer may see."""
    if not idea_ids or not results_visible(access, await settings_of(db, access.room.id)):
        return {}
    return await summaries(db, access.room.id, idea_ids)


async def expert_order(db: AsyncSession, room_id: int) -> dict[int, float]:
    """The mean expert score of each reviewed idea (the board's "expert" sort)."""
    rows = await db.execute(select(Review.idea_id, func.avg(Review.weighted)).where(
        Review.room_id == room_id, Review.state == "submitted").group_by(Review.idea_id))
    return {i: float(m) for i, m in rows.all() if m is not None}


# An idea's reviews, as the viewer may see them --------------------------------------------------


def _review_json(review: Review, reviewer: User | None, criteria: list[Criterion], *, named: bool,
                 comments: bool, own: bool) -> dict[str, Any]:
    ids = {str(c.id) for c in criteria}
    data: dict[str, Any] = {
        "id": review.id,
        "idea_id": review.idea_id,
        "reviewer": user_ref(reviewer) if named else None,
        "mine": own,
        "state": review.state,
        "scores": {k: v for k, v in (review.scores or {}).items() if k in ids},
        "weighted": review.weighted,
        "recommendation": review.recommendation,
        "comments": {k: v for k, v in (review.comments or {}).items() if k in ids} if comments else {},
        "summary": review.summary if comments else "",
        "comments_state": review.comments_state,
        "submitted_at": _iso(review.submitted_at),
        "updated_at": _iso(review.updated_at),
    }
    if own or named and comments:
        data["comments_reason"] = review.comments_reason
    return data


async def idea_reviews(db: AsyncSession, access: RoomAccess, idea: Idea) -> dict[str, Any]:
    """``{"items": [Review], "results": summary | null, "released"}`` as the viewer may see them:

    - moderators: every review (drafts too), with names and every comment;
    - an assigned reviewer: their own; the others' submitted ones only after submitting their
      own and only if the room lets peers see them (names only when reviewers are not anonymous);
    - everyone else (the author first): nothing before release; after it, the submitted
      reviews with their visible comments, named only when reviewers are not anonymous.
    """
    room, viewer = access.room, access.user
    settings = await settings_of(db, room.id)
    criteria = await criteria_of(db, room.id)
    rows = (await db.execute(select(Review, User).outerjoin(User, User.id == Review.reviewer_id)
                             .where(Review.idea_id == idea.id).order_by(Review.id))).all()
    released = settings.released_at is not None
    named_to_others = not settings.reviewers_anonymous
    items: list[dict[str, Any]] = []
    if access.can_moderate:
        items = [_review_json(r, u, criteria, named=True, comments=True, own=r.reviewer_id == viewer.id)
                 for r, u in rows]
    else:
        mine = next((r for r, _ in rows if r.reviewer_id == viewer.id), None)
        assigned = await is_assigned(db, idea.id, viewer.id)
        peers_open = (assigned and mine is not None and mine.state == "submitted"
                      and bool(settings.peers_see_reviews))
        for review, user in rows:
            if review.reviewer_id == viewer.id:
                items.append(_review_json(review, user, criteria, named=True, comments=True, own=True))
            elif review.state == "submitted" and (peers_open or released):
                items.append(_review_json(review, user, criteria, named=named_to_others,
                                          comments=review.comments_state == "visible", own=False))
    results = None
    if results_visible(access, settings):
        results = (await summaries(db, room.id, [idea.id])).get(idea.id)
    return {"items": items, "results": results, "released": released}


# The reviewer's queue -------------------------------------------------------------------------


async def reviewer_rooms(db: AsyncSession, user: User) -> list[int]:
    """The rooms where ``user`` is on the review panel (access is checked by the caller)."""
    return list((await db.execute(select(Reviewer.room_id).where(Reviewer.user_id == user.id)
                                  .order_by(Reviewer.room_id))).scalars())


async def queue(db: AsyncSession, access: RoomAccess) -> dict[str, Any]:
    """The caller's assigned ideas in one room (shaped as they may see them: an anonymous
    idea stays anonymous), each with the state of their review, plus progress and deadline."""
    room, user = access.room, access.user
    rows = (await db.execute(
        select(Idea, Review).join(Assignment, Assignment.idea_id == Idea.id)
        .outerjoin(Review, (Review.idea_id == Idea.id) & (Review.reviewer_id == user.id))
        .where(Assignment.reviewer_id == user.id, Assignment.room_id == room.id)
        .order_by(Assignment.id))).all()
    author_ids = {i.author_id for i, _ in rows if i.author_id and not i.anonymous}
    authors = {u.id: u for u in (await db.execute(select(User).where(User.id.in_(author_ids)))).scalars()} \
        if author_ids else {}
    viewer = Viewer(user_id=user.id, moderator=access.can_moderate)
    items = [{"idea": idea_json(i, room, authors.get(i.author_id or 0), viewer),
              "review": None if r is None else {"id": r.id, "state": r.state, "submitted_at": _iso(r.submitted_at),
                                                 "updated_at": _iso(r.updated_at)}}
             for i, r in rows]
    settings = await settings_of(db, room.id)
    return {
        "room": {"slug": room.slug, "title": room.title},
        "deadline": _iso(deadline_of(settings, room)),
        "released": settings.released_at is not None,
        "assigned": len(items),
        "submitted": sum(1 for item in items if item["review"] and item["review"]["state"] == "submitted"),
        "items": items,
    }


# The moderators' progress and results ---------------------------------------------------------


async def progress(db: AsyncSession, room: Room) -> dict[str, Any]:
    """Reviews in against reviews assigned, per reviewer and in all."""
    reviewers = (await db.execute(select(Reviewer, User).join(User, User.id == Reviewer.user_id)
                                  .where(Reviewer.room_id == room.id).order_by(User.name, User.id))).all()
    assigned = dict((await db.execute(select(Assignment.reviewer_id, func.count()).where(
        Assignment.room_id == room.id).group_by(Assignment.reviewer_id))).all())
    states: dict[int, Counter[str]] = defaultdict(Counter)
    for reviewer_id, state in (await db.execute(select(Review.reviewer_id, Review.state).join(
            Assignment, (Assignment.idea_id == Review.idea_id) & (Assignment.reviewer_id == Review.reviewer_id))
            .where(Review.room_id == room.id))).all():
        states[reviewer_id][state] += 1
    per_reviewer = [{
        "reviewer": user_ref(user), "email_domain": (user.email or "").rpartition("@")[2] or None,
        "assigned": int(assigned.get(user.id, 0)), "submitted": states[user.id]["submitted"],
        "drafts": states[user.id]["draft"],
    } for _, user in reviewers]
    return {
        "reviewers": per_reviewer,
        "assigned": sum(int(n) for n in assigned.values()),
        "submitted": sum(c["submitted"] for c in states.values()),
    }


async def held_comments(db: AsyncSession, room: Room) -> list[dict[str, Any]]:
    """Submitted reviews whose comments wait for a moderator (the room pre-moderates guests)."""
    rows = (await db.execute(select(Review, User, Idea.title).join(Idea, Idea.id == Review.idea_id)
                             .outerjoin(User, User.id == Review.reviewer_id)
                             .where(Review.room_id == room.id, Review.comments_state == "held")
                             .order_by(Review.updated_at, Review.id))).all()
    criteria = await criteria_of(db, room.id)
    return [{**_review_json(review, user, criteria, named=True, comments=True, own=False), "idea_title": title}
            for review, user, title in rows]


async def results(db: AsyncSession, room: Room) -> list[dict[str, Any]]:
    """Every idea with assignments and its summary, best expert score first."""
    found = await summaries(db, room.id)
    ideas = {i.id: i for i in (await db.execute(select(Idea).where(Idea.id.in_(list(found))))).scalars()} if found else {}
    ordered = sorted(ideas.values(), key=lambda i: (found[i.id]["mean"] is None, -(found[i.id]["mean"] or 0), i.id))
    return [{"idea": {"id": i.id, "title": i.title, "status": i.status, "anonymous": i.anonymous},
             "review": found[i.id]} for i in ordered]


async def comparison(db: AsyncSession, room: Room) -> dict[str, Any]:
    """The crowd's ranking (the board's Top order) and the experts' (mean score) over the
    ideas both have ranked, their Spearman correlation, and the widest rank gaps."""
    means = await expert_order(db, room.id)
    if not means:
        return {"ideas": [], "spearman": None, "disagreements": []}
    ideas = list((await db.execute(select(Idea).where(Idea.id.in_(list(means)), Idea.status != "merged")
                                   .order_by(Idea.id))).scalars())
    crowd_ranks = stats.ranks([i.rank_top for i in ideas])
    expert_ranks = stats.ranks([means[i.id] for i in ideas])
    rows: list[dict[str, Any]] = [{"idea": {"id": i.id, "title": i.title}, "crowd_score": i.rank_top, "crowd_rank": c,
             "expert_score": round(means[i.id], 2), "expert_rank": e, "gap": abs(c - e)}
            for i, c, e in zip(ideas, crowd_ranks, expert_ranks, strict=True)]
    rho = stats.spearman([i.rank_top for i in ideas], [means[i.id] for i in ideas])
    rows.sort(key=lambda r: (r["expert_rank"], r["idea"]["id"]))
    widest = sorted((r for r in rows if r["gap"] > 0), key=lambda r: (-r["gap"], r["idea"]["id"]))
    return {"ideas": rows, "spearman": rho, "disagreements": widest[:DISAGREEMENTS_SHOWN]}


async def insights(db: AsyncSession, room: Room) -> dict[str, Any] | None:
    """The review stage for the insights dashboard and the results report: reviews in against
    assigned, the ideas by expert score, the agreement with the crowd. None without reviews."""
    done = await progress(db, room)
    if not done["assigned"]:
        return None
    compared = await comparison(db, room)
    settings = await settings_of(db, room.id)
    return {"assigned": done["assigned"], "submitted": done["submitted"], "reviewers": len(done["reviewers"]),
            "released": settings.released_at is not None, "ideas": await results(db, room),
            "spearman": compared["spearman"], "disagreements": compared["disagreements"]}
