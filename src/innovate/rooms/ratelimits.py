"""Spam and abuse limits per member and room: how fast one may post, submit ideas and vote,
and how many links and @mentions one post may carry.

Rates are sliding-window counts in the database (:mod:`innovate.auth.throttles`), counted
inside the action's own transaction: every app process shares them, and an action that
fails for another reason does not use up the member's allowance. Guests get the stricter
``INNOVATE_GUEST_*`` limits; room moderators and admins are not limited.

Going over a rate is a 429 with ``Retry-After``. Too many links or mentions is a 422 that
names the field: waiting would not help, editing the post does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.throttles import hit
from innovate.errors import Invalid, TooMany
from innovate.markdown import MENTION
from innovate.rooms.access import RoomAccess
from innovate.settings import Settings

# Bare addresses count as much as Markdown links: both are what link spam is made of.
LINK = re.compile(r"(?i)(?<![\w.-])(?:https?://|www\.|mailto:)\S")


@dataclass(frozen=True)
class Rate:
    action: str
    noun: str
    period: str
    window_seconds: int
    member_setting: str
    guest_setting: str

    def limit(self, settings: Settings, guest: bool) -> int:
        return int(getattr(settings, self.guest_setting if guest else self.member_setting))


POSTS = Rate("post", "messages", "a minute", 60, "posts_per_minute", "guest_posts_per_minute")
IDEAS = Rate("idea", "ideas", "an hour", 3600, "ideas_per_hour", "guest_ideas_per_hour")
VOTES = Rate("vote", "votes", "a minute", 60, "votes_per_minute", "guest_votes_per_minute")


def exempt(access: RoomAccess) -> bool:
    return access.can_moderate


def _wait_text(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minutes"


@dataclass(frozen=True)
class Count:
    """One ``rate.action`` by the caller in a room, to be counted against ``limit``."""

    rate: Rate
    key: str
    limit: int
    guest: bool

    def refused(self, retry_after: int) -> TooMany:
        who = "guests" if self.guest else "members"
        return TooMany(
            f"Slow down a little: {who} may send at most {self.limit} {self.rate.noun} {self.rate.period} in a room. "
            f"Try again in {_wait_text(retry_after)}.",
            retry_after,
        )


def counted(settings: Settings, access: RoomAccess, rate: Rate) -> Count | None:
    """What one ``rate.action`` by the caller counts against; None for those not limited."""
    if exempt(access):
        return None
    guest = access.user.is_guest
    return Count(rate, f"{rate.action}:{access.room.id}:{access.user.id}", rate.limit(settings, guest), guest)


async def count(db: AsyncSession, settings: Settings, access: RoomAccess, rate: Rate) -> None:
    """Count one ``rate.action`` by the caller in this room; 429 once over the limit."""
    attempt = counted(settings, access, rate)
    if attempt is None:
        return
    try:
        await hit(db, attempt.key, limit=attempt.limit, window_seconds=rate.window_seconds, message="")
    except TooMany as exc:
        raise attempt.refused(exc.retry_after) from None


def links_in(text: str) -> int:
    return len(LINK.findall(text))


def mentions_in(text: str) -> int:
    return len({m.group(1).lower() for m in MENTION.finditer(text)})


def check_content(settings: Settings, access: RoomAccess, text: str, *, field: str = "body",
                  mentions: bool = True) -> None:
    """Refuse a post with more links (or distinct @mentions) than the caller may include."""
    if exempt(access):
        return
    guest = access.user.is_guest
    who = "guests" if guest else "members"
    max_links = settings.guest_links_per_post if guest else settings.links_per_post
    links = links_in(text)
    if links > max_links:
        allowed = "no links" if max_links == 0 else f"at most {max_links} link{'s' if max_links != 1 else ''}"
        raise Invalid.field(field, f"has {links} links; {who} may include {allowed} per post")
    if not mentions:
        return
    max_mentions = settings.guest_mentions_per_post if guest else settings.mentions_per_post
    named = mentions_in(text)
    if named > max_mentions:
        allowed = "no one" if max_mentions == 0 else f"at most {max_mentions} people"
        raise Invalid.field(field, f"mentions {named} people; {who} may mention {allowed} per post")
