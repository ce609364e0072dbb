"""The JSON shapes of API.md, decided per viewer: what a viewer may not see is left out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from innovate.accounts.models import User
from innovate.markdown import render
from innovate.rooms.models import Idea, Membership, Message, Room


@dataclass(frozen=True)
class Viewer:
    """Who is looking: decides hidden content, anonymous authors and hidden tallies."""

    user_id: int
    moderator: bool


def user_ref(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "name": user.name, "kind": user.kind}


def tallies_visible(room: Room, viewer: Viewer) -> bool:
    return not room.hide_tallies_until_closed or room.phase in ("closed", "archived") or viewer.moderator


def room_json(room: Room, membership: Membership | None, *, moderator: bool) -> dict[str, Any]:
    voting: dict[str, Any] = {
        "mode": room.voting_mode,
        "votes_in_open": room.votes_in_open,
        "hide_tallies_until_closed": room.hide_tallies_until_closed,
        "allow_anonymous": room.allow_anonymous,
    }
    if room.voting_mode == "budget":
        voting["budget"] = room.budget
        voting["max_per_idea"] = room.max_per_idea
    active = membership is not None and membership.state == "active"
    data: dict[str, Any] = {
        "id": room.id,
        "kind": room.kind,
        "slug": room.slug,
        "title": room.title,
        "brief": room.brief,
        "brief_html": render(room.brief),
        "cover_url": room.cover_url,
        "phase": room.phase,
        "visibility": room.visibility,
        "voting": voting,
        "locked": room.locked,
        "ideas_board": room.ideas_board,
        "grown_from_id": room.grown_from_id,
        "schedule": {
            "opens_at": _iso(room.opens_at),
            "voting_at": _iso(room.voting_at),
            "closes_at": _iso(room.closes_at),
            "archives_at": _iso(room.archives_at),
        },
        "last_seq": room.last_seq,
        "my_role": (membership.role if active else None) if membership is not None else None,
        "created_at": _iso(room.created_at),
    }
    if moderator:
        data["moderation"] = {
            "guests_until": room.guests_until,
            "premoderation": room.premoderation,
            "premoderation_first_n": room.premoderation_first_n,
            "auto_hide_reports": room.auto_hide_reports,
        }
        if room.kind == "community":
            data["orphaned_at"] = _iso(room.orphaned_at)
    if active and room.voting_mode == "budget":
        data["my_budget_left"] = max(0, (room.budget or 0) - membership.votes_spent)  # type: ignore[union-attr]
    return data


def idea_json(idea: Idea, room: Room, author: User | None, viewer: Viewer, *, my_vote: int | None = None,
              merged_into_title: str | None = None, review: dict[str, Any] | None = None) -> dict[str, Any]:
    hidden = idea.state == "hidden"
    show_author = not idea.anonymous or viewer.moderator
    data: dict[str, Any] = {
        "id": idea.id,
        "room": room.slug,
        "title": idea.title,
        "body": idea.body,
        "body_html": idea.body_html,
        "status": idea.status,
        "status_reason": idea.status_reason,
        "author": user_ref(author) if show_author else None,
        "anonymous": idea.anonymous,
        "state": idea.state,
        "locked": idea.locked,
        "merged_into": idea.merged_into_id,
        "tally": ({"up": idea.up, "down": idea.down, "score": idea.score, "voters": idea.voters}
                  if tallies_visible(room, viewer) else None),
        "messages_count": idea.messages_count,
        "my_vote": my_vote,
        "created_at": _iso(idea.created_at),
        "edited_at": _iso(idea.edited_at),
    }
    if merged_into_title is not None:
        data["merged_into_title"] = merged_into_title
    if review is not None:  # the experts' results, where the viewer may see them (rooms/reviews)
        data["review"] = review
    if hidden:
        data["hidden_reason"] = idea.hidden_reason if viewer.moderator or idea.author_id == viewer.user_id else None
        if not viewer.moderator:
            data.update(title="", body="", body_html="", author=None)
    return data


def message_json(message: Message, room: Room, author: User | None, viewer: Viewer) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": message.id,
        "room": room.slug,
        "idea_id": message.idea_id,
        "reply_to": message.reply_to_id,
        "author": user_ref(author),
        "body": message.body,
        "body_html": message.body_html,
        "state": message.state,
        "pinned": message.pinned,
        "created_at": _iso(message.created_at),
        "edited_at": _iso(message.edited_at),
    }
    own = message.author_id == viewer.user_id
    if message.state in ("hidden", "held", "rejected"):
        if viewer.moderator or own:
            data["state_reason"] = message.state_reason
        if not viewer.moderator and not (own and message.state in ("held", "rejected")):
            data.update(body="", body_html="")
    elif message.state == "deleted":
        data.update(body="", body_html="")
    return data


def member_json(membership: Membership, user: User) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "name": user.name,
        "kind": user.kind,
        "role": membership.role,
        "muted_until": _iso(membership.muted_until),
        "joined_at": _iso(membership.joined_at),
        # A guest's own end of access (null: the room's schedule ends it).
        "access_ends_at": _iso(membership.access_ends_at) if user.kind == "guest" else None,
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
