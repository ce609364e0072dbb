"""The append-only audit trail of moderators' and administrators' actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from innovate.db import Base, utcnow

# Every audit action, by name. Where an action is also a room event, it has the event
# kind's name: one vocabulary for the timeline and the audit trail.
ROOM_CREATED = "room.created"
ROOM_UPDATED = "room.updated"
ROOM_LOCKED = "room.locked"
ROOM_UNLOCKED = "room.unlocked"
ROOM_PHASE_CHANGED = "room.phase_changed"
ROOM_TAGS_CHANGED = "room.tags_changed"
IDEA_STATUS_CHANGED = "idea.status_changed"
IDEA_MERGED = "idea.merged"
IDEA_HIDDEN = "idea.hidden"
IDEA_RESTORED = "idea.restored"
IDEA_LOCKED = "idea.locked"
IDEA_UNLOCKED = "idea.unlocked"
MESSAGE_HIDDEN = "message.hidden"
MESSAGE_RESTORED = "message.restored"
MESSAGE_APPROVED = "message.approved"
MESSAGE_REJECTED = "message.rejected"
MESSAGE_DELETED = "message.deleted"
MESSAGE_PINNED = "message.pinned"
MESSAGE_UNPINNED = "message.unpinned"
MEMBER_MUTED = "member.muted"
MEMBER_UNMUTED = "member.unmuted"
MEMBER_REMOVED = "member.removed"
MEMBER_ROLE_CHANGED = "member.role_changed"
MEMBER_ACCESS_ENDED = "member.access_ended"
MEMBER_ACCESS_CHANGED = "member.access_changed"
REPORT_RESOLVED = "report.resolved"
INVITE_CREATED = "invite.created"
INVITE_REVOKED = "invite.revoked"
INVITE_REDEEMED = "invite.redeemed"
PUBLICATION_SAVED = "publication.saved"
PUBLICATION_PUBLISHED = "publication.published"
PUBLICATION_WITHDRAWN = "publication.withdrawn"
STORY_WRITER_NAMED = "story.writer_named"
STORY_WRITER_REMOVED = "story.writer_removed"
STORY_PUBLISHED = "story.published"
STORY_UNPUBLISHED = "story.unpublished"
POSITION_SAVED = "position.saved"
TALENT_NOTE_SAVED = "talent.note_saved"
TALENT_EXPORTED = "talent.exported"
IDENTITY_LINKED = "identity.linked"
IDENTITY_UNLINKED = "identity.unlinked"
USER_CREATED = "user.created"
USER_DEACTIVATED = "user.deactivated"
USER_REACTIVATED = "user.reactivated"
REVIEW_CRITERIA_CHANGED = "review.criteria_changed"
REVIEW_SETTINGS_CHANGED = "review.settings_changed"
REVIEWER_ADDED = "review.reviewer_added"
REVIEWER_REMOVED = "review.reviewer_removed"
REVIEW_ASSIGNED = "review.assigned"
REVIEW_SUBMITTED = "review.submitted"
REVIEW_RELEASED = "review.released"
REVIEW_COMMENTS_HIDDEN = "review.comments_hidden"
REVIEW_COMMENTS_RESTORED = "review.comments_restored"
REVIEW_COMMENTS_APPROVED = "review.comments_approved"
COMMUNITY_ORPHANED = "community.orphaned"
COMMUNITY_HANDED_OVER = "community.handed_over"
JOIN_REQUEST_APPROVED = "join_request.approved"
JOIN_REQUEST_DECLINED = "join_request.declined"
USER_CURATOR_CHANGED = "user.curator_changed"
PERSONA_CREATED = "persona.created"
PERSONA_UPDATED = "persona.updated"
PULSE_SENT = "pulse.sent"
PULSE_CLOSED = "pulse.closed"
USER_ERASED = "user.erased"
USER_INVITED = "user.invited"
USER_ROLE_CHANGED = "user.role_changed"
INVITATION_RESENT = "invitation.resent"
INVITATION_REVOKED = "invitation.revoked"
USER_EXPORTED = "user.exported"
USER_UPDATED = "user.updated"
SCIM_TOKEN_CREATED = "scim_token.created"
SCIM_TOKEN_REVOKED = "scim_token.revoked"

# Entries written before the vocabulary was one keep their stored names; reading and
# filtering treat them as the current ones (the trail itself is never rewritten).
LEGACY_ACTIONS = {
    "room.create": ROOM_CREATED, "room.update": ROOM_UPDATED, "room.lock": ROOM_LOCKED,
    "room.unlock": ROOM_UNLOCKED, "room.phase": ROOM_PHASE_CHANGED, "room.tags": ROOM_TAGS_CHANGED,
    "idea.status": IDEA_STATUS_CHANGED, "idea.merge": IDEA_MERGED, "idea.hide": IDEA_HIDDEN,
    "idea.restore": IDEA_RESTORED, "idea.lock": IDEA_LOCKED, "idea.unlock": IDEA_UNLOCKED,
    "message.hide": MESSAGE_HIDDEN, "message.restore": MESSAGE_RESTORED, "message.approve": MESSAGE_APPROVED,
    "message.reject": MESSAGE_REJECTED, "message.delete": MESSAGE_DELETED, "message.pin": MESSAGE_PINNED,
    "message.unpin": MESSAGE_UNPINNED, "member.mute": MEMBER_MUTED, "member.unmute": MEMBER_UNMUTED,
    "member.remove": MEMBER_REMOVED, "member.role": MEMBER_ROLE_CHANGED, "report.resolve": REPORT_RESOLVED,
}


def current_action(stored: str) -> str:
    """An entry's action in today's vocabulary."""
    return LEGACY_ACTIONS.get(stored, stored)


def stored_actions(action: str) -> tuple[str, ...]:
    """Every stored spelling of ``action`` (for filters)."""
    return (action, *(old for old, new in LEGACY_ACTIONS.items() if new == action))


class AuditEntry(Base):
    """Append-only: the application inserts entries and never updates or deletes them."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_room_at", "room_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


async def record(
    db: AsyncSession,
    actor_id: int | None,
    action: str,
    *,
    room_id: int | None = None,
    target_kind: str | None = None,
    target_id: int | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    db.add(AuditEntry(
        room_id=room_id, actor_id=actor_id, action=action, target_kind=target_kind,
        target_id=target_id, reason=reason, data=data or {},
    ))
