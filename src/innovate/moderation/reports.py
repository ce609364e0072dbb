"""Members' reports on messages and ideas, and the moderators' queue that resolves them.

- Any member may report a message or an idea they can see, once, with a reason. Reporters
  stay private: reports and the ``report.created`` event reach moderators only.
- When a room sets ``auto_hide_reports`` = N, the N-th open report from distinct members
  hides the target at once (audited as an automatic hide, with no actor); a moderator then
  confirms (hide) or dismisses, which restores it.
- The queue groups open reports per target: who reported, how often and why. One action
  resolves every open report on that target: ``hide``, ``dismiss`` or ``mute`` (hide the
  content and mute its author).

Reports on the same target serialize on the target's row (``SELECT … FOR UPDATE``; the
write lock on SQLite), so the threshold is counted exactly once under concurrent reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit, kinds
from innovate.accounts.models import User
from innovate.db import insert_for, utcnow
from innovate.errors import Conflict, Forbidden, Invalid, NotFound
from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext, ngettext, use_locale
from innovate.inputs import Input, choice_field, id_field, int_field
from innovate.moderation import service as moderation
from innovate.resources import Resources
from innovate.rooms.access import RoomAccess, idea_in_room, message_in_room, require_moderator, room_access_by_id
from innovate.rooms.events import append_event
from innovate.rooms.models import Idea, Membership, Message, Report
from innovate.rooms.serializers import Viewer, idea_json, message_json, user_ref
from innovate.writes import Outbox, write

RESOLUTIONS = ("hide", "dismiss", "mute")
QUEUE_STATES = ("open", "closed")
DEFAULT_MUTE_MINUTES = 24 * 60


@dataclass(frozen=True)
class Filed:
    report: Report
    created: bool  # False: the caller had already reported this and it is still open
    room_slug: str


def report_json(report: Report, slug: str) -> dict[str, Any]:
    """A report as its reporter sees it (moderators see more in the queue)."""
    return {
        "id": report.id,
        "room": slug,
        "target_kind": report.target_kind,
        "target_id": report.target_id,
        "reason": report.reason,
        "state": report.state,
        "created_at": report.created_at.isoformat() if report.created_at else None,
    }


async def _target(db: AsyncSession, actor: User, kind: str, target_id: int,
                  in_room: str | None) -> tuple[RoomAccess, Message | Idea]:
    """The target as the caller may see it (in the room ``in_room`` names, if it names
    one), locked until commit."""
    if kind == "message":
        message = await message_in_room(db, actor, target_id, in_room=in_room)
        await db.execute(select(Message.id).where(Message.id == target_id).with_for_update())
        return message.access, message.message
    idea = await idea_in_room(db, actor, target_id, in_room=in_room)
    await db.execute(select(Idea.id).where(Idea.id == target_id).with_for_update())
    return idea.access, idea.idea


def _which(data: Input) -> tuple[str, int]:
    message_id = id_field(data, "message_id", required=False)
    idea_id = id_field(data, "idea_id", required=False)
    if (message_id is None) == (idea_id is None):
        raise Invalid.field("message_id", lazy_gettext("give either message_id or idea_id"))
    return ("message", message_id) if message_id is not None else ("idea", idea_id)  # type: ignore[return-value]


async def file_report(resources: Resources, actor: User, data: Input, *, in_room: str | None = None) -> Filed:
    """Report a message or an idea (``{message_id | idea_id, reason}``), of the room
    ``in_room`` names if it names one."""
    kind, target_id = _which(data)
    reason = moderation.reason_field(data, required=True) or ""
    async with write(resources) as (db, outbox):
        access, target = await _target(db, actor, kind, target_id, in_room)
        if not (access.is_member or access.can_moderate):
            raise Forbidden(lazy_gettext("Join the room to report what is posted in it."))
        if target.author_id == actor.id:
            raise Invalid.field(f"{kind}_id", lazy_gettext("that is your own post"))
        state = target.state
        if state == "hidden":
            raise Conflict(lazy_gettext("This is hidden already; the moderators have it."))
        if state != "visible":
            raise Conflict(lazy_gettext("This message cannot be reported: it is %(state)s.",
                                        state=moderation.state_label(state)) if kind == "message" else
                           lazy_gettext("This idea cannot be reported: it is %(state)s.",
                                        state=moderation.state_label(state)))
        now = utcnow()
        inserted = (await db.execute(
            insert_for(db, Report)
            .values(room_id=access.room.id, reporter_id=actor.id, target_kind=kind, target_id=target_id,
                    reason=reason, state="open", created_at=now)
            .on_conflict_do_nothing(index_elements=["reporter_id", "target_kind", "target_id"])
            .returning(Report.id)
        )).scalar_one_or_none()
        if inserted is None:
            existing = (await db.execute(select(Report).where(
                Report.reporter_id == actor.id, Report.target_kind == kind, Report.target_id == target_id))).scalar_one()
            if existing.state != "open":
                raise Conflict(lazy_gettext("You reported this before, and a moderator has dealt with it."))
            return Filed(existing, created=False, room_slug=access.room.slug)
        report = (await db.execute(select(Report).where(Report.id == inserted))).scalar_one()
        await append_event(db, outbox, access.room.id, kinds.REPORT_CREATED,
                           {"report_id": report.id, "target_kind": kind, "target_id": target_id},
                           audience="moderators", actor_id=actor.id)
        await _auto_hide(db, outbox, access, kind, target, resources.settings.default_locale)
    return Filed(report, created=True, room_slug=access.room.slug)


async def _auto_hide(db: AsyncSession, outbox: Outbox, access: RoomAccess, kind: str, target: Message | Idea,
                     site_locale: str) -> None:
    threshold = access.room.auto_hide_reports
    if not threshold:
        return
    reporters = (await db.execute(select(Report.reporter_id).where(
        Report.room_id == access.room.id, Report.target_kind == kind, Report.target_id == target.id,
        Report.state == "open"))).scalars().all()
    count = len(set(reporters))
    if count < threshold:
        return
    # The reason is stored and shown to everyone in the room, like one a moderator types: it
    # is written in the site's language, not in that of whoever happened to file the report.
    with use_locale(site_locale):
        reason = ngettext("Hidden automatically: reported by %(num)d member; a moderator will review it.",
                          "Hidden automatically: reported by %(num)d members; a moderator will review it.", count)
    if isinstance(target, Message):
        await moderation.hide_message_in(db, outbox, target, reason, None, automatic=True)
    else:
        await moderation.hide_idea_in(db, outbox, target, reason, None, automatic=True)


# The queue ------------------------------------------------------------------------------------


async def report_queue(db: AsyncSession, access: RoomAccess, *, state: str = "open",
                       limit: int = 200) -> list[dict[str, Any]]:
    """Reports grouped per target, most reported first: who reported, how often and why,
    and the target as a moderator sees it. ``state``: open, or closed (recently handled)."""
    require_moderator(access)
    if state not in QUEUE_STATES:
        raise Invalid.field("state", lazy_gettext("expected one of %(choices)s", choices=", ".join(QUEUE_STATES)))

    stmt = (select(Report, User).outerjoin(User, User.id == Report.reporter_id)
            .where(Report.room_id == access.room.id))
    if state == "open":
        stmt = stmt.where(Report.state == "open").order_by(Report.id)
    else:
        stmt = stmt.where(Report.state != "open").order_by(Report.resolved_at.desc(), Report.id.desc()).limit(500)
    groups: dict[tuple[str, int], dict[str, Any]] = {}
    for report, reporter in (await db.execute(stmt)).all():
        key = (report.target_kind, report.target_id)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {"target_kind": report.target_kind, "target_id": report.target_id,
                                   "count": 0, "reports": [], "first_at": report.created_at.isoformat(),
                                   "last_at": report.created_at.isoformat(), "report_id": report.id}
        group["count"] += 1
        group["reports"].append({"id": report.id, "reporter": user_ref(reporter), "reason": report.reason,
                                 "state": report.state, "resolution": report.resolution,
                                 "created_at": report.created_at.isoformat()})
        group["first_at"] = min(group["first_at"], report.created_at.isoformat())
        group["last_at"] = max(group["last_at"], report.created_at.isoformat())
    items = sorted(groups.values(), key=lambda g: (g["count"], g["last_at"]), reverse=True)[:limit]
    await _attach_targets(db, access, items)
    return items


async def _attach_targets(db: AsyncSession, access: RoomAccess, items: list[dict[str, Any]]) -> None:
    viewer = Viewer(user_id=access.user.id, moderator=True)
    message_ids = [g["target_id"] for g in items if g["target_kind"] == "message"]
    idea_ids = [g["target_id"] for g in items if g["target_kind"] == "idea"]
    messages = {m.id: m for m in (await db.execute(
        select(Message).where(Message.id.in_(message_ids)))).scalars()} if message_ids else {}
    ideas = {i.id: i for i in (await db.execute(select(Idea).where(Idea.id.in_(idea_ids)))).scalars()} if idea_ids else {}
    targets: list[Message | Idea] = [*messages.values(), *ideas.values()]
    author_ids = {t.author_id for t in targets if t.author_id}
    authors = {u.id: u for u in (await db.execute(select(User).where(User.id.in_(author_ids)))).scalars()}
    muted = dict((await db.execute(select(Membership.user_id, Membership.muted_until).where(
        Membership.room_id == access.room.id, Membership.user_id.in_(author_ids)))).all()) if author_ids else {}
    now = utcnow()
    for group in items:
        if group["target_kind"] == "message":
            message = messages.get(group["target_id"])
            target = message_json(message, access.room, authors.get(message.author_id or 0), viewer) if message else None
            author_id = message.author_id if message else None
        else:
            idea = ideas.get(group["target_id"])
            target = idea_json(idea, access.room, authors.get(idea.author_id or 0), viewer) if idea else None
            author_id = idea.author_id if idea else None
        group["target"] = target
        until = muted.get(author_id or 0)
        group["author_muted_until"] = until.isoformat() if until is not None and until > now else None


async def open_report_count(db: AsyncSession, room_id: int) -> int:
    """Distinct reported targets awaiting a moderator."""
    rows = await db.execute(select(Report.target_kind, Report.target_id).where(
        Report.room_id == room_id, Report.state == "open").distinct())
    return len(rows.all())


# Resolving ------------------------------------------------------------------------------------


async def resolve(resources: Resources, actor: User, report_id: int, data: Input) -> dict[str, Any]:
    """Resolve every open report on the target of ``report_id`` in one action:
    ``hide`` it, ``dismiss`` the reports (restoring an automatic hide), or ``mute`` its
    author (for ``minutes``, default a day) and hide it. Answers ``{action, report_ids,
    target_kind, target_id}``."""
    action = choice_field(data, "action", RESOLUTIONS)
    reason = moderation.reason_field(data, required=False)
    minutes = int_field(data, "minutes", minimum=1, maximum=moderation.MAX_MUTE_MINUTES, required=False,
                        default=DEFAULT_MUTE_MINUTES) or DEFAULT_MUTE_MINUTES
    async with write(resources) as (db, outbox):
        report = await db.get(Report, report_id)
        if report is None:
            raise NotFound(lazy_gettext("No such report."))
        access = await room_access_by_id(db, actor, report.room_id)
        if not access.can_moderate:
            # Reports exist for moderators only: to anyone else there is nothing here.
            raise NotFound(lazy_gettext("No such report."))
        moderation.check_writable(access.room)
        if report.state != "open":
            raise Conflict(lazy_gettext("This report was already handled."))
        kind, target_id = report.target_kind, report.target_id
        target = await _locked_target(db, kind, target_id)
        if action in ("hide", "mute") and target is not None and target.state in ("visible", "hidden"):
            with use_locale(resources.settings.default_locale):  # stored and shown to all, as above
                hide_reason = reason or _("Hidden by a moderator after members reported it.")
            if isinstance(target, Message):
                await moderation.hide_message_in(db, outbox, target, hide_reason, actor.id)
            else:
                await moderation.hide_idea_in(db, outbox, target, hide_reason, actor.id)
        if action == "mute":
            await _mute_author(db, outbox, access, target, minutes, reason)
        if action == "dismiss" and target is not None and target.state == "hidden" \
                and await moderation.last_hide_was_automatic(db, report.room_id, kind, target_id):
            if isinstance(target, Message):
                await moderation.restore_message_in(db, outbox, target, reason or "Reports dismissed.", actor.id)
            else:
                await moderation.restore_idea_in(db, outbox, target, reason or "Reports dismissed.", actor.id)

        closed = await moderation.close_reports(db, outbox, report.room_id, kind, target_id, action, actor.id)
        await audit.record(db, actor.id, audit.REPORT_RESOLVED, room_id=report.room_id, target_kind=kind, target_id=target_id,
                    reason=reason, data={"action": action, "reports": closed,
                                         **({"minutes": minutes} if action == "mute" else {})})
    return {"action": action, "report_ids": closed, "target_kind": kind, "target_id": target_id}


async def _locked_target(db: AsyncSession, kind: str, target_id: int) -> Message | Idea | None:
    if kind == "message":
        return (await db.execute(select(Message).where(Message.id == target_id).with_for_update()
                                 .execution_options(populate_existing=True))).scalar_one_or_none()
    return (await db.execute(select(Idea).where(Idea.id == target_id).with_for_update()
                             .execution_options(populate_existing=True))).scalar_one_or_none()


async def _mute_author(db: AsyncSession, outbox: Outbox, access: RoomAccess, target: Message | Idea | None,
                       minutes: int, reason: str | None) -> None:
    if target is None or target.author_id is None:
        raise Conflict(lazy_gettext("The author is unknown; hide the post instead."))
    try:
        member = await moderation.member_target(db, access, target.author_id)
    except NotFound:
        raise Conflict(lazy_gettext("The author is not a member of this room any more; hide the post instead.")) from None
    await moderation.mute_in(db, outbox, access, member, utcnow() + timedelta(minutes=minutes), reason)
