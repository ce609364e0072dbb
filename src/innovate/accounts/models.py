"""People and how they prove who they are: users, identities, sessions, tokens, links, throttles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from innovate.db import Base, utcnow

USER_KINDS = ("employee", "guest")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # E-mail is contact data, never the account key: accounts are keyed by Identity.
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16), default="employee")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Site-wide right to create and run rooms (HR staff); room roles live in Membership.
    is_moderator: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_at: Mapped[datetime | None]
    # Set on the "Former member" row that stands for an erased person (people/erase.py).
    erased_at: Mapped[datetime | None]
    # SCIM provisioning (scim/): the directory's own id for the person, their name as the
    # directory splits it, and when the directory deleted them (deactivated; gone for SCIM).
    external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    given_name: Mapped[str | None] = mapped_column(String(120))
    family_name: Mapped[str | None] = mapped_column(String(120))
    scim_deleted_at: Mapped[datetime | None]
    # The language the person chose on /account (innovate.i18n.LANGUAGES); None: their browser's.
    locale: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    identities: Mapped[list[Identity]] = relationship(back_populates="user", lazy="raise")

    @property
    def is_guest(self) -> bool:
        return self.kind == "guest"

    @property
    def can_create_rooms(self) -> bool:
        return self.is_active and not self.is_guest and (self.is_admin or self.is_moderator)


class Identity(Base):
    """One (issuer, subject) pair; issuer ``local`` holds a password hash."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    secret_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="identities", lazy="raise")


class Session(Base):
    """A server-side session; the cookie holds a random id and only its hash is stored."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class AccessToken(Base):
    """A personal access token for scripts: ``Authorization: Bearer <token>``."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class OneTimeLink(Base):
    """First-run setup and set-password links: usable once, then spent by one conditional UPDATE."""

    __tablename__ = "one_time_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))  # "setup" | "set_password"
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LoginFailure(Base):
    """Failed sign-ins, counted per account and per IP for the throttle."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400))  # "email:..." or "ip:..."
    at: Mapped[datetime] = mapped_column(default=utcnow)


class RateCounter(Base):
    """Sliding-window throttle attempts (invite-link visits per IP, invites per moderator
    per day, posting rates): one row per key and instant, plus the key's lock row
    (see :mod:`innovate.auth.throttles`)."""

    __tablename__ = "rate_counters"
    __table_args__ = (UniqueConstraint("key", "window_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    window_start: Mapped[datetime] = mapped_column(index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
