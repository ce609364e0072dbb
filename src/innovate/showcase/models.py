"""The outside face: published challenge results, stories, open positions and referrals, and
the talent pool of guests who agreed to it.

Public pages read only the published rows here (``publications`` in state ``published``,
their ``publication_items``, ``stories`` in state ``published``, open ``positions``): what
they show was copied into them when it was published or consented to, never read from the
rooms at render time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from innovate.db import Base, utcnow


class Publication(Base):
    """A closed challenge's public results page, one per room."""

    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), unique=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)     # the room's slug when first published
    state: Mapped[str] = mapped_column(String(12), default="draft")  # draft | published | withdrawn
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")   # the public brief (Markdown)
    outcome: Mapped[str] = mapped_column(Text, default="")   # what came of it (Markdown)
    thanks: Mapped[str] = mapped_column(Text, default="")    # the thank-you (Markdown)
    # How many took part, counted when it was published: the thank-you names nobody by default.
    employees: Mapped[int] = mapped_column(Integer, default=0)
    guests: Mapped[int] = mapped_column(Integer, default=0)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)    # tag slugs, to show positions
    share_key: Mapped[str | None] = mapped_column(String(32))      # the drawn share image (media)
    published_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PublicationItem(Base):
    """An idea the moderator picked, as published: its text copied, its author named only
    once they agreed (``consent``: ``none`` for anonymous ideas, ``asked``, ``granted``,
    ``declined``); ``author_name`` is set only while consent is granted."""

    __tablename__ = "publication_items"
    __table_args__ = (UniqueConstraint("publication_id", "idea_id"), Index("ix_publication_items_author_id", "author_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"))
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id", ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_kind: Mapped[str] = mapped_column(String(16))   # employee | guest | anonymous
    consent: Mapped[str] = mapped_column(String(12))
    author_name: Mapped[str | None] = mapped_column(String(120))
    consent_at: Mapped[datetime | None]


class Story(Base):
    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    state: Mapped[str] = mapped_column(String(12), default="draft")  # draft | published
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")              # Markdown
    byline: Mapped[str] = mapped_column(String(120), default="")     # as the writer signs it
    cover_key: Mapped[str | None] = mapped_column(String(32))        # media key
    share_key: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoryWriter(Base):
    """Someone an administrator named to write stories."""

    __tablename__ = "story_writers"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)


class Position(Base):
    """An open position HR lists; ``key`` names it in public URLs."""

    __tablename__ = "positions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(16), unique=True)
    state: Mapped[str] = mapped_column(String(8), default="open")   # open | closed
    title: Mapped[str] = mapped_column(String(200))
    team: Mapped[str] = mapped_column(String(120), default="")
    location: Mapped[str] = mapped_column(String(120), default="")
    ats_url: Mapped[str] = mapped_column(String(500))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Referral(Base):
    """An employee's referral of someone (a guest they met, or an address) to a position.
    The referred person gets one mail; ``token_hash`` is its "not interested" link's."""

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("position_id", "referred_user_id"),
        UniqueConstraint("position_id", "email"),
        Index("ix_referrals_referrer_id", "referrer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("positions.id", ondelete="CASCADE"))
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    referred_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    email: Mapped[str | None] = mapped_column(String(320))           # referrals by address
    name: Mapped[str] = mapped_column(String(120))
    note: Mapped[str] = mapped_column(String(1000), default="")
    state: Mapped[str] = mapped_column(String(16), default="sent")   # sent | not_mailed | not_interested
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]


class PositionInterest(Base):
    """A visitor's "I'm interested" in a position, from its public page."""

    __tablename__ = "position_interests"
    __table_args__ = (Index("ix_position_interests_position_id", "position_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("positions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(320))
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TalentConsent(Base):
    """A guest's standing "open to hearing about opportunities": the consent text's version
    and when they agreed. Withdrawing deletes the row (and HR's note) at once."""

    __tablename__ = "talent_consents"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    text_version: Mapped[str] = mapped_column(String(20))
    consented_at: Mapped[datetime] = mapped_column(default=utcnow)


class TalentNote(Base):
    """HR's private note on someone in the pool."""

    __tablename__ = "talent_notes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    note: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
