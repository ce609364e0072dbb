"""What the moderation pages show: the queue page and its parts (held posts, reports,
members, counters), and a page of the audit log with its filter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from innovate.accounts.models import User
from innovate.errors import Forbidden, Invalid
from innovate.i18n import lazy_gettext, ngettext
from innovate.moderation import auditlog, reports
from innovate.moderation import service as moderation
from innovate.rooms.access import RoomAccess, require_moderator
from innovate.rooms.context import room_base
from innovate.rooms.discussion.queries import pinned_json
from innovate.rooms.queries import list_members, room_id_of, viewer_for
from innovate.rooms.serializers import message_json

MUTE_CHOICES = (15, 60, 24 * 60, 7 * 24 * 60, 30 * 24 * 60)  # minutes
AUDIT_PAGE = 50
AUDIT_FILTERS = ("action", "actor", "target", "since", "until", "room")


def mute_label(minutes: int) -> str:
    """``1 week``, ``30 days``, ``15 minutes``: a mute's length in the largest whole unit."""
    if minutes % (7 * 24 * 60) == 0:
        return ngettext("%(num)d week", "%(num)d weeks", minutes // (7 * 24 * 60))
    if minutes % (24 * 60) == 0:
        return ngettext("%(num)d day", "%(num)d days", minutes // (24 * 60))
    if minutes % 60 == 0:
        return ngettext("%(num)d hour", "%(num)d hours", minutes // 60)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


async def moderated_room(db: AsyncSession, user: User, slug: str) -> tuple[RoomAccess, dict[str, Any]]:
    """The room's context, for its moderators (403 for anyone else who may see the room)."""
    access, context = await room_base(db, user, slug)
    if not access.can_moderate:
        raise Forbidden(lazy_gettext("Only this room's moderators may see this."))
    return access, context


async def queue_context(db: AsyncSession, user: User, slug: str) -> dict[str, Any]:
    """The queue page: held posts, reported content, the members and their tools."""
    access, context = await room_base(db, user, slug)
    require_moderator(access)
    viewer = viewer_for(access)
    held = [message_json(m, access.room, author, viewer) for m, author in await moderation.held_messages(db, access)]
    groups = await reports.report_queue(db, access)
    context.update({"held": held, "report_groups": groups, "members": await list_members(db, access),
                    "mute_choices": MUTE_CHOICES, "counts": {"held": len(held), "reports": len(groups)}})
    return context


async def counts_context(db: AsyncSession, user: User, slug: str) -> dict[str, Any]:
    """The moderators' counters: posts awaiting review, reported targets."""
    access, context = await room_base(db, user, slug)
    require_moderator(access)
    context["counts"] = {"held": await moderation.held_count(db, access.room.id),
                         "reports": await reports.open_report_count(db, access.room.id)}
    return context


async def pinned_context(db: AsyncSession, user: User, slug: str) -> dict[str, Any]:
    """The room's pinned messages (everyone in the room sees them)."""
    access, context = await room_base(db, user, slug)
    context["pinned"] = await pinned_json(db, access)
    return context


# The audit log ----------------------------------------------------------------------------


def audit_filter(params: Mapping[str, str], room_id: int | None) -> tuple[auditlog.AuditFilter, str | None]:
    """The filter, or an empty one and the problem to show next to the form."""
    try:
        return auditlog.parse_filter(params, room_id=room_id), None
    except Invalid as exc:
        return auditlog.AuditFilter(room_id=room_id), exc.message


async def site_room_id(db: AsyncSession, params: Mapping[str, str]) -> int | None:
    """The room the site-wide log is narrowed to (``?room=slug``), if any."""
    slug = params.get("room", "").strip()
    if not slug:
        return None
    room_id = await room_id_of(db, slug)
    if room_id is None:
        raise Invalid.field("room", lazy_gettext("no such room"))
    return room_id


async def audit_context(db: AsyncSession, flt: auditlog.AuditFilter, room_id: int | None, params: Mapping[str, str],
                        before: int | None) -> dict[str, Any]:
    """A page of the log (``room_id``: one room's, else the site's), with the filter's choices."""
    items, next_before = await auditlog.page(db, flt, before=before, limit=AUDIT_PAGE)
    query = {k: v for k in AUDIT_FILTERS if (v := params.get(k, ""))}
    return {
        "entries": items,
        "filters": {k: params.get(k, "") for k in AUDIT_FILTERS},
        "actions": await auditlog.actions(db, room_id),
        "actors": await auditlog.actors(db, room_id),
        "next_query": urlencode({**query, "before": next_before}) if next_before else None,
        "csv_query": urlencode(query),
    }
