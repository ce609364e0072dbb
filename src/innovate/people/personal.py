"""A person's data in one JSON document (GDPR articles 15 and 20), streamed.

Every record about the person: their profile, identities (issuer and subject, never a
secret), sessions and access tokens (when and from where, never the token), memberships,
messages, ideas, votes, reports they made, notifications and their settings, interests, and
the audit entries by or about them. Long lists are read in batches by keyset paging, each
batch in its own short session, so a long history streams in bounded memory and no
connection is held while a slow client drains the body. Every table that holds personal
data belongs here and in :mod:`innovate.people.erase`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import IO, Any

import orjson
from sqlalchemy import and_, or_, select, text
from sqlalchemy.sql import Select

from innovate.accounts.models import AccessToken, Identity, Session, User
from innovate.audit import AuditEntry, current_action
from innovate.db import utcnow
from innovate.notifications.models import Notification, NotificationSettings
from innovate.resources import Resources
from innovate.rooms.models import Idea, JoinRequest, Membership, Message, Report, Room, Vote

BATCH = 1000
FORMAT = "innovate.personal-data/1"
# The tags a person follows. Named in SQL: the insights package (which owns these tables) uses
# moderation, which uses this package, so importing its models here would close a cycle.
_INTERESTS = text("SELECT tags.label FROM user_interests JOIN tags ON tags.id = user_interests.tag_id "
                  "WHERE user_interests.user_id = :user_id ORDER BY tags.label")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def profile_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id, "email": user.email, "name": user.name, "kind": user.kind, "is_admin": user.is_admin,
        "is_moderator": user.is_moderator, "is_active": user.is_active, "created_at": _iso(user.created_at),
        "deactivated_at": _iso(user.deactivated_at), "external_id": user.external_id,
        "given_name": user.given_name, "family_name": user.family_name, "locale": user.locale,
    }


Shape = Callable[[Any], dict[str, Any]]


def _identity(row: Identity) -> dict[str, Any]:
    return {"issuer": row.issuer, "subject": row.subject, "email": row.email, "email_verified": row.email_verified,
            "password": row.secret_hash is not None, "created_at": _iso(row.created_at),
            "last_used_at": _iso(row.last_used_at)}


def _session(row: Session) -> dict[str, Any]:
    return {"created_at": _iso(row.created_at), "expires_at": _iso(row.expires_at),
            "revoked_at": _iso(row.revoked_at), "ip": row.ip, "user_agent": row.user_agent}


def _token(row: AccessToken) -> dict[str, Any]:
    return {"name": row.name, "prefix": row.prefix, "created_at": _iso(row.created_at),
            "last_used_at": _iso(row.last_used_at), "expires_at": _iso(row.expires_at),
            "revoked_at": _iso(row.revoked_at)}


def _membership(row: Any) -> dict[str, Any]:
    membership, slug = row
    return {"room": slug, "role": membership.role, "state": membership.state,
            "joined_at": _iso(membership.joined_at), "left_at": _iso(membership.left_at),
            "muted_until": _iso(membership.muted_until), "access_ends_at": _iso(membership.access_ends_at)}


def _message(row: Any) -> dict[str, Any]:
    message, slug = row
    return {"id": message.id, "room": slug, "idea_id": message.idea_id, "reply_to": message.reply_to_id,
            "body": message.body, "state": message.state, "created_at": _iso(message.created_at),
            "edited_at": _iso(message.edited_at)}


def _idea(row: Any) -> dict[str, Any]:
    idea, slug = row
    return {"id": idea.id, "room": slug, "title": idea.title, "body": idea.body, "anonymous": idea.anonymous,
            "status": idea.status, "state": idea.state, "created_at": _iso(idea.created_at),
            "edited_at": _iso(idea.edited_at)}


def _vote(row: Any) -> dict[str, Any]:
    vote, slug = row
    return {"room": slug, "idea_id": vote.idea_id, "value": vote.value, "created_at": _iso(vote.created_at),
            "updated_at": _iso(vote.updated_at)}


def _report(row: Any) -> dict[str, Any]:
    report, slug = row
    return {"id": report.id, "room": slug, "target_kind": report.target_kind, "target_id": report.target_id,
            "reason": report.reason, "state": report.state, "created_at": _iso(report.created_at)}


def _join_request(row: Any) -> dict[str, Any]:
    request, slug = row
    return {"id": request.id, "room": slug, "state": request.state, "message": request.message,
            "reason": request.reason, "created_at": _iso(request.created_at), "decided_at": _iso(request.decided_at)}


def _notification(row: Notification) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "category": row.category, "title": row.title, "path": row.path,
            "count": row.count, "data": row.data, "created_at": _iso(row.created_at),
            "read_at": _iso(row.read_at)}


def _audit(row: AuditEntry) -> dict[str, Any]:
    return {"id": row.id, "at": _iso(row.at), "room_id": row.room_id, "actor_id": row.actor_id,
            "action": current_action(row.action), "target_kind": row.target_kind, "target_id": row.target_id,
            "reason": row.reason, "data": row.data}


def _settings(row: NotificationSettings) -> dict[str, Any]:
    return {"categories": {c: getattr(row, c) for c in ("mentions", "ideas", "phases", "invitations", "pulses")},
            "time_zone": row.time_zone, "bouncing_address": row.bouncing_address}


def _sections(user_id: int) -> list[tuple[str, Any, Any, Shape]]:
    """(name, statement, the id column it pages by, shape) for every list in the document."""
    about = or_(AuditEntry.actor_id == user_id, and_(AuditEntry.target_kind == "user", AuditEntry.target_id == user_id))
    return [
        ("identities", select(Identity).where(Identity.user_id == user_id), Identity.id, _identity),
        ("sessions", select(Session).where(Session.user_id == user_id), Session.id, _session),
        ("access_tokens", select(AccessToken).where(AccessToken.user_id == user_id), AccessToken.id, _token),
        ("memberships", select(Membership, Room.slug).join(Room, Room.id == Membership.room_id)
         .where(Membership.user_id == user_id), Membership.id, _membership),
        ("messages", select(Message, Room.slug).join(Room, Room.id == Message.room_id)
         .where(Message.author_id == user_id), Message.id, _message),
        ("ideas", select(Idea, Room.slug).join(Room, Room.id == Idea.room_id)
         .where(Idea.author_id == user_id), Idea.id, _idea),
        ("votes", select(Vote, Room.slug).join(Room, Room.id == Vote.room_id)
         .where(Vote.user_id == user_id), Vote.id, _vote),
        ("reports", select(Report, Room.slug).join(Room, Room.id == Report.room_id)
         .where(Report.reporter_id == user_id), Report.id, _report),
        ("join_requests", select(JoinRequest, Room.slug).join(Room, Room.id == JoinRequest.room_id)
         .where(JoinRequest.user_id == user_id), JoinRequest.id, _join_request),
        ("notifications", select(Notification).where(Notification.user_id == user_id), Notification.id,
         _notification),
        ("audit", select(AuditEntry).where(about), AuditEntry.id, _audit),
    ]


async def _rows(resources: Resources, statement: Select[Any], key: Any) -> AsyncIterator[list[Any]]:
    last = 0
    while True:
        async with resources.db() as db:
            result = await db.execute(statement.where(key > last).order_by(key).limit(BATCH))
            rows = list(result.all())
        if not rows:
            return
        yield rows
        last = rows[-1][0].id
        if len(rows) < BATCH:
            return


async def personal_data(resources: Resources, user_id: int) -> AsyncIterator[bytes]:
    """The document, piece by piece: ``{"format", "exported_at", "person", ..., "audit": [...]}``
    with one item per line."""
    async with resources.db() as db:
        user = await db.get(User, user_id)
        if user is None:
            return
        settings = await db.get(NotificationSettings, user_id)
        interests = list((await db.execute(_INTERESTS, {"user_id": user_id})).scalars())
    head = {"format": FORMAT, "exported_at": utcnow().isoformat(), "person": profile_json(user),
            "notification_settings": _settings(settings) if settings is not None else None, "interests": interests}
    yield orjson.dumps(head)[:-1]
    for name, statement, key, shape in _sections(user_id):
        yield b',\n"' + name.encode() + b'": ['
        separator = b"\n"
        async for rows in _rows(resources, statement, key):
            for row in rows:
                item = shape(row[0] if len(row) == 1 else row)
                yield separator + orjson.dumps(item)
                separator = b",\n"
        yield b"\n]"
    yield b"}\n"


async def write_personal_data(resources: Resources, user_id: int, handle: IO[bytes]) -> None:
    async for chunk in personal_data(resources, user_id):
        handle.write(chunk)
