"""Challenge rooms and what happens in them: members, ideas, votes, messages, the timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from innovate.db import Base, utcnow

# A challenge runs through phases; a community is a standing place to talk (always open,
# until an administrator archives it), created by any employee without approval.
ROOM_KINDS = ("challenge", "community")
PHASES = ("draft", "open", "voting", "closed", "archived")
VISIBILITIES = ("employees", "invite-only")
# A community may also be open "by request": listed for every employee, who asks to join and
# is let in by its owners (communities/requests.py).
COMMUNITY_VISIBILITIES = ("employees", "by-request", "invite-only")
VOTING_MODES = ("updown", "approve", "budget")
ROLES = ("moderator", "member")
IDEA_STATUSES = ("submitted", "under_review", "shortlisted", "selected", "rejected", "merged")
MESSAGE_STATES = ("visible", "hidden", "deleted", "held", "rejected")
PREMODERATION = ("off", "first_n", "all")


class Room(Base):
    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="challenge", server_default="challenge", index=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    brief: Mapped[str] = mapped_column(Text, default="")
    cover_url: Mapped[str | None] = mapped_column(String(500))
    visibility: Mapped[str] = mapped_column(String(16), default="employees")
    phase: Mapped[str] = mapped_column(String(16), default="draft")
    # Voting rules.
    voting_mode: Mapped[str] = mapped_column(String(16), default="updown")
    budget: Mapped[int | None] = mapped_column(Integer)
    max_per_idea: Mapped[int | None] = mapped_column(Integer)
    votes_in_open: Mapped[bool] = mapped_column(Boolean, default=True)
    hide_tallies_until_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    # A community may go without its ideas board (challenges always have one).
    ideas_board: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Set when a community's last owner left or was deactivated: admins see it in their list
    # until they hand it to a new owner or archive it.
    orphaned_at: Mapped[datetime | None]
    # The community a challenge grew out of ("Turn this into a challenge").
    grown_from_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"))
    # Moderation rules.
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    guests_until: Mapped[str] = mapped_column(String(16), default="archived")  # "closed" | "archived"
    premoderation: Mapped[str] = mapped_column(String(16), default="off")
    premoderation_first_n: Mapped[int] = mapped_column(Integer, default=3)
    auto_hide_reports: Mapped[int | None] = mapped_column(Integer)
    # Scheduled phase changes (applied by the scheduler when due).
    opens_at: Mapped[datetime | None]
    voting_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    archives_at: Mapped[datetime | None]
    # The room's timeline counter: bumped by one conditional UPDATE per event.
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
    # "active" | "removed" | "left" | "expired" (a guest whose access ran out: a new invite brings them back)
    state: Mapped[str] = mapped_column(String(16), default="active")
    muted_until: Mapped[datetime | None]
    # Budget-mode dots already spent; guarded by a conditional UPDATE.
    votes_spent: Mapped[int] = mapped_column(Integer, default=0)
    approved_posts: Mapped[int] = mapped_column(Integer, default=0)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    left_at: Mapped[datetime | None]
    # A guest's own end of access (None: the room's schedule alone ends it); see
    # rooms.access.guest_access_ends_at.
    access_ends_at: Mapped[datetime | None] = mapped_column(index=True)

    __table_args__ = (
        UniqueConstraint("room_id", "user_id"),
        CheckConstraint("votes_spent >= 0", name="votes_spent_non_negative"),
    )


class Idea(Base):
    __tablename__ = "ideas"
    __table_args__ = (Index("ix_ideas_room_created", "room_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    status_reason: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default="visible")  # "visible" | "hidden"
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Denormalised tallies, changed only by atomic increments in the vote service.
    up: Mapped[int] = mapped_column(Integer, default=0)
    down: Mapped[int] = mapped_column(Integer, default=0)
    voters: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[int] = mapped_column(Integer, default=0)
    rank_top: Mapped[float] = mapped_column(Float, default=0.0)
    messages_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]


class Vote(Base):
    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("idea_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    value: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_room_idea_id", "room_id", "idea_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id", ondelete="SET NULL"))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="visible")
    state_reason: Mapped[str | None] = mapped_column(Text)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]


class Event(Base):
    """One entry of a room's timeline; ``seq`` is strictly increasing per room."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("room_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(40))
    # Who may receive it: "all" members, "moderators", or "user:<id>" plus moderators.
    audience: Mapped[str] = mapped_column(String(32), default="all")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("reporter_id", "target_kind", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    target_kind: Mapped[str] = mapped_column(String(16))  # "message" | "idea"
    target_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="open")  # "open" | "resolved" | "dismissed"
    resolution: Mapped[str | None] = mapped_column(String(32))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# A request to join a community open by request (communities/requests.py): its state is
# "pending" until someone acts: "approved" or "declined" by a moderator, "withdrawn" by the
# requester, "closed" when nobody needs to act any more (the community was archived, or the
# person came in by an invite).
_PENDING = text("state = 'pending'")


class JoinRequest(Base):
    """One request; the history stays (a declined request starts the cool-down, the audit log
    names the decision), and at most one is pending per person and community. Beside the
    memberships it may lead to (people/ exports and erases it with them)."""

    __tablename__ = "join_requests"
    __table_args__ = (
        # The race between two clicks (or two tabs) ends here: the second insert fails.
        Index("uq_join_requests_pending", "room_id", "user_id", unique=True,
              sqlite_where=_PENDING, postgresql_where=_PENDING),
        Index("ix_join_requests_room_state", "room_id", "state", "created_at"),
        Index("ix_join_requests_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    message: Mapped[str] = mapped_column(Text, default="")
    # A decline's reason, which the requester is told.
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
