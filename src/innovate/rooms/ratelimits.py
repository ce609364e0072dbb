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
from innovate.i18n import gettext as _
from innovate.i18n import ngettext
from innovate.markdown import MENTION
from innovate.rooms.access import RoomAccess
from innovate.settings import Settings

# Bare addresses count as much as Markdown links: both are what link spam is made of.
LINK = re.compile(r"(?i)(?<![\w.-])(?:https?://|www\.|mailto:)\S")


@dataclass(frozen=True)
class Rate:
    action: str
    window_seconds: int
    member_setting: str
    guest_setting: str

    def limit(self, settings: Settings, guest: bool) -> int:
        return int(getattr(settings, self.guest_setting if guest else self.member_setting))


POSTS = Rate("post", 60, "posts_per_minute", "guest_posts_per_minute")
IDEAS = Rate("idea", 3600, "ideas_per_hour", "guest_ideas_per_hour")
VOTES = Rate("vote", 60, "votes_per_minute", "guest_votes_per_minute")


def exempt(access: RoomAccess) -> bool:
    return access.can_moderate


def _wait_text(seconds: int) -> str:
    if seconds < 90:
        return ngettext("Try again in %(num)d second.", "Try again in %(num)d seconds.", seconds)
    return ngettext("Try again in %(num)d minute.", "Try again in %(num)d minutes.", (seconds + 59) // 60)


def _slow_down(action: str, limit: int) -> str:
    """The rate refused, addressed to the one who hit it (guests and members each read their own limit)."""
    if action == "post":
        return ngettext("Slow down a little: you may send at most %(num)d message a minute in a room.",
                        "Slow down a little: you may send at most %(num)d messages a minute in a room.", limit)
    if action == "idea":
        return ngettext("Slow down a little: you may submit at most %(num)d idea an hour in a room.",
                        "Slow down a little: you may submit at most %(num)d ideas an hour in a room.", limit)
    return ngettext("Slow down a little: you may cast at most %(num)d vote a minute in a room.",
                    "Slow down a little: you may cast at most %(num)d votes a minute in a room.", limit)


@dataclass(frozen=True)
class Count:
    """One ``rate.action`` by the caller in a room, to be counted against ``limit``."""

    rate: Rate
    key: str
    limit: int
    guest: bool

    def refused(self, retry_after: int) -> TooMany:
        return TooMany(f"{_slow_down(self.rate.action, self.limit)} {_wait_text(retry_after)}", retry_after)


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
    max_links = settings.guest_links_per_post if guest else settings.links_per_post
    links = links_in(text)
    if links > max_links:
        raise Invalid.field(field, _too_many_links(links, max_links, guest))
    if not mentions:
        return
    max_mentions = settings.guest_mentions_per_post if guest else settings.mentions_per_post
    named = mentions_in(text)
    if named > max_mentions:
        raise Invalid.field(field, _too_many_mentions(named, max_mentions, guest))


def _too_many_links(links: int, allowed: int, guest: bool) -> str:
    """One sentence per audience and count: each language words the rule its own way."""
    found = ngettext("has %(num)d link;", "has %(num)d links;", links)
    rules = {
        (True, True): lambda: _("guests may include no links per post"),
        (True, False): lambda: _("members may include no links per post"),
        (False, True): lambda: ngettext("guests may include at most %(num)d link per post",
                                        "guests may include at most %(num)d links per post", allowed),
        (False, False): lambda: ngettext("members may include at most %(num)d link per post",
                                         "members may include at most %(num)d links per post", allowed),
    }
    return f"{found} {rules[allowed == 0, guest]()}"


def _too_many_mentions(named: int, allowed: int, guest: bool) -> str:
    found = ngettext("mentions %(num)d person;", "mentions %(num)d people;", named)
    if allowed == 0:
        return f"{found} " + (_("guests may mention no one per post") if guest else _("members may mention no one per post"))
    rule = (ngettext("guests may mention at most %(num)d person per post",
                     "guests may mention at most %(num)d people per post", allowed) if guest else
            ngettext("members may mention at most %(num)d person per post",
                     "members may mention at most %(num)d people per post", allowed))
    return f"{found} {rule}"
