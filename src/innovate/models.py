"""Every mapped class, imported in one place so metadata is complete (Alembic, tests)."""

from innovate.accounts.models import (
    AccessToken,
    Identity,
    LoginFailure,
    OneTimeLink,
    RateCounter,
    Session,
    User,
)
from innovate.audit import AuditEntry
from innovate.auth.models import GuestSignup, Invite, InviteRedemption
from innovate.db import Base
from innovate.insights.models import RoomTag, Tag, UserInterest
from innovate.mail.models import OutboxMail
from innovate.media.models import Media, MediaRendition
from innovate.notifications.models import Notification, NotificationSettings
from innovate.personas.models import Curator, Persona, PersonaFollow, PersonaRoom, PersonaTag
from innovate.pulses.models import Pulse, PulseAnswer, PulseParticipation, PulseTarget
from innovate.rooms.models import Event, Idea, JoinRequest, Membership, Message, Report, Room, Vote
from innovate.rooms.reviews.models import Assignment, Criterion, Review, Reviewer, ReviewSettings
from innovate.scim.models import ScimToken
from innovate.showcase.models import (
    Position,
    PositionInterest,
    Publication,
    PublicationItem,
    Referral,
    Story,
    StoryWriter,
    TalentConsent,
    TalentNote,
)

__all__ = [
    "Pulse",
    "PulseAnswer",
    "PulseParticipation",
    "PulseTarget",
    "Curator",
    "Persona",
    "PersonaFollow",
    "PersonaRoom",
    "PersonaTag",
    "AccessToken",
    "Assignment",
    "AuditEntry",
    "Base",
    "Criterion",
    "Event",
    "GuestSignup",
    "Identity",
    "Idea",
    "Invite",
    "JoinRequest",
    "InviteRedemption",
    "LoginFailure",
    "Media",
    "MediaRendition",
    "Membership",
    "Message",
    "Notification",
    "NotificationSettings",
    "OneTimeLink",
    "OutboxMail",
    "Position",
    "PositionInterest",
    "Publication",
    "PublicationItem",
    "RateCounter",
    "Referral",
    "Report",
    "Review",
    "ReviewSettings",
    "Reviewer",
    "Room",
    "RoomTag",
    "ScimToken",
    "Session",
    "Story",
    "StoryWriter",
    "Tag",
    "TalentConsent",
    "TalentNote",
    "User",
    "UserInterest",
    "Vote",
]
