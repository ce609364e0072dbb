"""Every kind of room event, declared once.

A kind says what its frames load, whose own view of it differs from everyone's, whether
the sockets it concerns re-check their access, and which template renders its live HTML
for browsers (``templates/live/``; kinds that change the page alike share one). Service
functions append events by these constants (``append_event(..., MESSAGE_POSTED, ...)``),
the live feed reads the rest from here: adding a kind is one entry below.

Stored kinds are history: they get a seq, are replayed after a reconnect and listed by the
events API. The two state kinds (``tally.changed``, ``vote.mine``) are never stored: the
feed coalesces their signals and sends the current state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Loads(Enum):
    """What a frame of the kind carries besides the event's own data."""

    NOTHING = "nothing"
    MESSAGE = "message"   # data.message_id → the message, shaped for the viewer
    IDEA = "idea"         # data.idea_id → the idea (and the title of the one it merged into)
    MEMBER = "member"     # data.user_id → their membership in the room
    ROOM = "room"         # the room itself
    REPORT = "report"     # data.report_id → the report


class About(Enum):
    """Whose own view of an event differs from everyone's: they get a personal frame."""

    AUTHOR = "author"     # the author of the message or idea it shows (their Edit link, a held post)
    MEMBER = "member"     # the member a member.* event is about (their own standing)


class Category(Enum):
    """What a notification is about, as people choose how (and whether) to hear of it."""

    MENTIONS = "mentions"        # @mentions, replies to me, my held posts reviewed
    IDEAS = "ideas"              # my ideas: comments, threads I took part in, status, merges
    PHASES = "phases"            # a room I am in opened voting, closed
    INVITATIONS = "invitations"  # access to a room: added to it, made its moderator, asked to join it
    #                              (to its owners) and the answer (to the one who asked), guest access ending
    PULSES = "pulses"            # HR's short messages and questions (not about access to any room)


class Recipients(Enum):
    """Who is told about an event (``notifications/recipients.py`` has one rule per value).

    Every rule leaves out the event's actor and the content's author, and keeps only people
    who can see the room and the thing the event shows (``notifications/service.py``)."""

    MENTIONED = "mentioned"              # members @mentioned in a visible message
    REPLIED_TO = "replied_to"            # the author of the message it answers
    IDEA_AUTHOR = "idea_author"          # the author of the idea (of its thread, for messages)
    THREAD = "thread"                    # who took part in the idea's thread before
    POST_AUTHOR = "post_author"          # the author of the held post a moderator reviewed
    ROOM_MEMBERS = "room_members"        # every member, when voting opens or the room closes
    ADDED_MEMBER = "added_member"        # the member someone else added to the room
    PROMOTED_MEMBER = "promoted_member"  # the member made a moderator
    REVIEWER = "reviewer"                # the reviewer an assignment or a reminder is for (data.user_id)
    REVIEWED_AUTHORS = "reviewed_authors"  # authors of ideas with a submitted review
    ADMINS = "admins"                    # the site's administrators (members of the room or not)
    ROOM_MODERATORS = "room_moderators"  # the room's moderators (a community's owners)


@dataclass(frozen=True)
class Notify:
    """One notification an event of a kind gives: its name (the item's ``kind``), to whom,
    and under which setting. A kind lists them in order of precedence: a person who
    matches several (mentioned in a reply to them) gets the first only."""

    name: str
    to: Recipients
    category: Category


class Recheck(Enum):
    """Which sockets re-check their access (and standing) once the event is out."""

    NONE = "none"
    SUBJECT = "subject"   # the sockets of data.user_id
    ROOM = "room"         # every socket on the room


@dataclass(frozen=True)
class Kind:
    name: str
    loads: Loads = Loads.NOTHING
    about: tuple[About, ...] = ()
    recheck: Recheck = Recheck.NONE
    stored: bool = True
    # The template of a frame's live HTML (``<hx-partial>`` swaps, rendered per view), or
    # None: browsers get the seq and nothing to swap.
    html: str | None = None
    # The notifications it gives (see :class:`Notify`); ``retracts``: it takes away unread
    # notifications about the message or idea it hides or deletes.
    notify: tuple[Notify, ...] = ()
    retracts: bool = False

    def __str__(self) -> str:
        return self.name


def _message(name: str, **more: Any) -> Kind:
    return Kind(name, loads=Loads.MESSAGE, about=(About.AUTHOR,), **more)


def _idea(name: str, **more: Any) -> Kind:
    return Kind(name, loads=Loads.IDEA, about=(About.AUTHOR,), **more)


def _member(name: str, **more: Any) -> Kind:
    return Kind(name, loads=Loads.MEMBER, about=(About.MEMBER,), recheck=Recheck.SUBJECT, **more)

# A visible message tells, in this order: whom it @mentions, whom it answers, the author of
# the idea it discusses, and who took part in that idea's thread before.
_DISCUSSION = (
    Notify("mention", Recipients.MENTIONED, Category.MENTIONS),
    Notify("reply", Recipients.REPLIED_TO, Category.MENTIONS),
    Notify("idea_comment", Recipients.IDEA_AUTHOR, Category.IDEAS),
    Notify("thread_comment", Recipients.THREAD, Category.IDEAS),
)

MESSAGE_POSTED = _message("message.posted", html="live/message_posted.html", notify=_DISCUSSION)
MESSAGE_EDITED = _message("message.edited", html="live/message_changed.html")
MESSAGE_DELETED = _message("message.deleted", html="live/message_changed.html", retracts=True)
MESSAGE_HIDDEN = _message("message.hidden", html="live/message_changed.html", retracts=True)
MESSAGE_RESTORED = _message("message.restored", html="live/message_back.html")
MESSAGE_APPROVED = _message("message.approved", html="live/message_back.html",
                        notify=(Notify("post_approved", Recipients.POST_AUTHOR, Category.MENTIONS), *_DISCUSSION))
MESSAGE_REJECTED = _message("message.rejected", html="live/message_changed.html",
                        notify=(Notify("post_declined", Recipients.POST_AUTHOR, Category.MENTIONS),))
MESSAGE_PINNED = _message("message.pinned", html="live/message_pinned.html")

IDEA_SUBMITTED = _idea("idea.submitted", html="live/idea_submitted.html")
IDEA_EDITED = _idea("idea.edited", html="live/idea_changed.html")
IDEA_STATUS_CHANGED = _idea("idea.status_changed", html="live/idea_changed.html",
                           notify=(Notify("idea_status", Recipients.IDEA_AUTHOR, Category.IDEAS),))
IDEA_MERGED = _idea("idea.merged", html="live/idea_changed.html",
                   notify=(Notify("idea_merged", Recipients.IDEA_AUTHOR, Category.IDEAS),))
IDEA_HIDDEN = _idea("idea.hidden", html="live/idea_changed.html", retracts=True)
IDEA_RESTORED = _idea("idea.restored", html="live/idea_changed.html")
IDEA_LOCKED = _idea("idea.locked", html="live/idea_changed.html")

ROOM_UPDATED = Kind("room.updated", loads=Loads.ROOM, recheck=Recheck.ROOM, html="live/room_changed.html")
ROOM_PHASE_CHANGED = Kind("room.phase_changed", loads=Loads.ROOM, recheck=Recheck.ROOM,
                          html="live/room_changed.html",
                          notify=(Notify("phase", Recipients.ROOM_MEMBERS, Category.PHASES),))
ROOM_LOCKED = Kind("room.locked", loads=Loads.ROOM, html="live/room_changed.html")

MEMBER_JOINED = _member("member.joined", html="live/member_joined.html",
                     notify=(Notify("added_to_room", Recipients.ADDED_MEMBER, Category.INVITATIONS),))
MEMBER_LEFT = _member("member.left", html="live/member_gone.html")
MEMBER_REMOVED = _member("member.removed", html="live/member_gone.html")
# A guest's access to the room ran out (their end date passed, or a moderator ended it now).
MEMBER_ACCESS_ENDED = _member("member.access_ended", html="live/member_gone.html")
# A moderator moved a guest's end date (extended it, or set one).
MEMBER_ACCESS_CHANGED = _member("member.access_changed", html="live/member_changed.html")
MEMBER_MUTED = _member("member.muted", html="live/member_changed.html")
MEMBER_UNMUTED = _member("member.unmuted", html="live/member_changed.html")
MEMBER_UPDATED = _member("member.updated", html="live/member_changed.html",
                      notify=(Notify("made_moderator", Recipients.PROMOTED_MEMBER, Category.INVITATIONS),))

# Only the idea's author sees it (audience ``user:N``): the moderator would like to name them
# on the public results page. Their answer is not an event: it changes the public page only.
PUBLICATION_CONSENT_REQUESTED = _idea("publication.consent_requested",
                                      notify=(Notify("publication_consent", Recipients.IDEA_AUTHOR, Category.IDEAS),))

# A community whose last owner left or was deactivated: the administrators are told, and
# its moderators' view (admins see it) gets the flag.
COMMUNITY_ORPHANED = Kind("community.orphaned", loads=Loads.ROOM, html="live/room_changed.html",
                          notify=(Notify("community_orphaned", Recipients.ADMINS, Category.INVITATIONS),))

# Joining a community that is open by request. Only its moderators see these events
# (audience "moderators"): their request queue and its count follow live. The owners are told
# of new requests (one item per community: "3 people ask to join"); the person who asked is
# told of the answer by the service itself (they are no member yet, so no room rule reaches
# them).
JOIN_REQUESTED = Kind("join_request.created", html="live/join_request.html",
                      notify=(Notify("join_request", Recipients.ROOM_MODERATORS, Category.INVITATIONS),))
JOIN_REQUEST_WITHDRAWN = Kind("join_request.withdrawn", html="live/join_request.html")
JOIN_REQUEST_APPROVED = Kind("join_request.approved", html="live/join_request.html")
JOIN_REQUEST_DECLINED = Kind("join_request.declined", html="live/join_request.html")

REPORT_CREATED = Kind("report.created", loads=Loads.REPORT, html="live/report.html")
REPORT_RESOLVED = Kind("report.resolved", html="live/report.html")

# Reviews. Assignments and submissions go to the reviewer and the moderators (audience
# "user:<reviewer>"): the reviewer's queue and the moderators' progress follow them live.
REVIEW_ASSIGNED = Kind("review.assigned", html="live/review_progress.html",
                       notify=(Notify("review_assigned", Recipients.REVIEWER, Category.INVITATIONS),))
REVIEW_UNASSIGNED = Kind("review.unassigned", html="live/review_progress.html")
REVIEW_SUBMITTED = Kind("review.submitted", html="live/review_progress.html")
REVIEW_MODERATED = Kind("review.moderated", html="live/review_progress.html")
REVIEW_RELEASED = Kind("review.released", html="live/review_progress.html",
                       notify=(Notify("review_results", Recipients.REVIEWED_AUTHORS, Category.IDEAS),))
# The scheduler's reminder two days before the deadline, one per reviewer with ideas left.
REVIEW_REMINDER = Kind("review.reminder",
                       notify=(Notify("review_due", Recipients.REVIEWER, Category.INVITATIONS),))

# State, not history: coalesced signals, sent as the current values.
TALLY_CHANGED = Kind("tally.changed", stored=False, html="live/tally_changed.html")
VOTE_MINE = Kind("vote.mine", stored=False, html="live/vote_mine.html")
# To one person's sockets, in any room or none: their unread notifications (the bell).
# To one person's sockets: a pulse reached them (their home page lists it), and a pulse they
# sent has a new answer (its results page follows); the pages fetch what changed.
PULSE_SENT = Kind("pulse.sent", stored=False)
# To the sockets of one who asked to join a community: the owners answered (the directory
# card or the about page fetches its request part again).
JOIN_REQUEST_ANSWERED = Kind("join_request.answered", stored=False)
PULSE_RESULTS = Kind("pulse.results", stored=False)
NOTIFICATIONS_UNREAD = Kind("notifications.unread", stored=False, html="live/notifications.unread.html")

KINDS: dict[str, Kind] = {k.name: k for k in globals().values() if isinstance(k, Kind)}


def kind_named(name: str) -> Kind | None:
    return KINDS.get(name)
