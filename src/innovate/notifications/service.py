"""The write path of notifications: written from a transaction's events before it commits,
marked read, and the notices of guest access ending.

:func:`install` registers :func:`write_notifications` as a hook of every write transaction
(``Resources.before_commit``): for each event appended in it, the kind's ``notify`` entries
(``kinds.py``) name who is told and under which setting, and the rows are written in the
same transaction, so a notification exists exactly when its cause committed. Later events
on one thread add to the unread item's count. After commit, each person whose unread count
changed gets a ``notifications.unread`` frame on their live sockets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from sqlalchemy import case, delete, exists, func, select, tuple_, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import kinds, metrics
from innovate.accounts.models import User
from innovate.db import PerDialect, insert_for, utcnow
from innovate.errors import Invalid
from innovate.i18n import lazy_gettext
from innovate.inputs import FieldErrors
from innovate.kinds import Category, Notify, Recipients
from innovate.notifications import preferences
from innovate.notifications.models import Notification
from innovate.notifications.recipients import RULES, Subject, eligible, load_subject
from innovate.resources import Resources
from innovate.rooms.access import guest_access_ends_at, guest_access_over
from innovate.rooms.models import Membership, Room
from innovate.settings import Settings
from innovate.writes import Appended, Outbox, to_user, write

ACCESS_NOTICE_DAYS = 3
# Rules whose notification is about a post: its author is the one who did it.
DISCUSSION = (Recipients.MENTIONED, Recipients.REPLIED_TO, Recipients.IDEA_AUTHOR, Recipients.THREAD)


def install(resources: Resources) -> None:
    """Write notifications in every write transaction of these resources (once)."""
    if not any(getattr(h, "notifications_hook", False) for h in resources.before_commit):
        hook = partial(write_notifications, resources.settings)
        hook.notifications_hook = True  # type: ignore[attr-defined]
        resources.before_commit.append(hook)


# Rows ----------------------------------------------------------------------------------------


def _place(room: Room, s: Subject, notify: Notify) -> tuple[str, str, str, str]:
    """(thread key, title, page path, anchor) of what a notification points at."""
    base = f"/rooms/{room.slug}"
    name = notify.name
    if name == "publication_consent" and s.idea is not None:  # answered on the author's own page
        return f"{name}:idea:{s.idea.id}", s.idea.title, "/me/publications", f"item-idea-{s.idea.id}"
    if s.message is not None and name not in ("post_approved", "post_declined"):
        where = f"idea:{s.idea.id}" if s.idea is not None else f"room:{room.id}"
        path = f"{base}/ideas/{s.idea.id}" if s.idea is not None else base
        title = s.idea.title if s.idea is not None else room.title
        return f"{name}:{where}", title, path, f"message-{s.message.id}"
    if s.message is not None:
        path = f"{base}/ideas/{s.idea.id}" if s.idea is not None else base
        title = s.idea.title if s.idea is not None else room.title
        return f"{name}:message:{s.message.id}", title, path, f"message-{s.message.id}"
    if name == "join_request":  # one item per community, however many ask: its queue answers them
        return f"{name}:room:{room.id}", room.title, f"{base}/requests", ""
    if name == "community_orphaned":
        return f"{name}:room:{room.id}", room.title, "/admin/communities", f"community-{room.slug}"
    if s.idea is not None:
        return f"{name}:idea:{s.idea.id}", s.idea.title, f"{base}/ideas/{s.idea.id}", ""
    if name in ("review_assigned", "review_due"):
        return f"{name}:room:{room.id}", room.title, f"{base}/reviews/queue", ""
    return f"{name}:room:{room.id}", room.title, base, ""


def _data(s: Subject, notify: Notify) -> dict[str, Any]:
    """What the subject line needs beyond the title; never a post's text."""
    if notify.name == "idea_status":
        return {"status": s.data.get("status"), "reason": s.idea.status_reason if s.idea else None}
    if notify.name == "idea_merged":
        return {"into_title": s.into.title if s.into else None}
    if notify.name == "post_declined":
        return {"reason": s.message.state_reason if s.message else None}
    if notify.name in ("review_assigned", "review_due"):
        return {"pending": s.data.get("pending"), "deadline": s.data.get("deadline")}
    if notify.name == "join_request":
        return {"pending": s.data.get("pending")}
    if notify.name == "phase":
        return {"phase": s.data.get("to"), "closes_at": s.room.closes_at.isoformat() if s.room.closes_at else None}
    return {}


@dataclass
class Batch:
    """The rows one transaction writes, merged per (person, thread): a unique index may be
    touched once per statement."""

    rows: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    retracted: set[int] = field(default_factory=set)

    def add(self, row: dict[str, Any]) -> None:
        key = (row["user_id"], row["thread"])
        previous = self.rows.get(key)
        if previous is not None:
            row["count"] = previous["count"] + 1
        self.rows[key] = row


def _upsert(dialect: Any) -> Any:
    table = Notification.__table__
    insert = dialect.insert(table)
    new = insert.excluded
    pending = table.c.mail_state == "pending"
    return insert.on_conflict_do_update(
        index_elements=[table.c.user_id, table.c.thread],
        index_where=table.c.read_at.is_(None),
        set_={
            "count": table.c.count + new.count, "updated_at": new.updated_at, "actor_id": new.actor_id,
            "message_id": new.message_id, "idea_id": new.idea_id, "title": new.title, "path": new.path,
            "anchor": new.anchor, "data": new.data,
            # A mail already waiting keeps its time (ten replies make one mail); a thread that
            # was mailed before starts a new wait.
            "mail_state": case((pending, table.c.mail_state), else_=new.mail_state),
            "mail_due_at": case((pending, table.c.mail_due_at), else_=new.mail_due_at),
        },
    )


UPSERT = PerDialect(_upsert)


async def write_notifications(settings: Settings, db: AsyncSession, outbox: Outbox) -> None:
    """The before-commit hook: the notifications and retractions of ``outbox.events``."""
    batch = Batch()
    now = utcnow()
    for event in outbox.events:
        kind = kinds.kind_named(event.kind)
        if kind is None or not (kind.notify or kind.retracts):
            continue
        if kind.retracts:
            await _retract(db, event, batch)
        if kind.notify:
            await _notify(db, settings, event, kind.notify, batch, now)
    changed = set(batch.retracted)
    if batch.rows:
        changed |= await _store(db, list(batch.rows.values()))
    if changed:
        for user_id, unread in (await unread_counts(db, changed)).items():
            to_user(outbox, user_id, unread_frame(unread))


async def _notify(db: AsyncSession, settings: Settings, event: Appended, entries: tuple[Notify, ...], batch: Batch,
                  now: datetime) -> None:
    s = await load_subject(db, event)
    if s is None:
        return
    # Never about one's own doing: not the actor's; and what a post says is its author's.
    author = s.message.author_id if s.message is not None else None
    told: set[int] = {event.actor_id} if event.actor_id is not None else set()
    found: list[tuple[Notify, set[int]]] = []
    for entry in entries:
        own = told if entry.to is Recipients.POST_AUTHOR else told | ({author} if author is not None else set())
        candidates = await RULES[entry.to](db, s)
        if entry.to is Recipients.ADMINS:  # administrators see every room, members of it or not
            people = (candidates or set()) - own
        else:
            people = await eligible(db, s, None if candidates is None else candidates - own) - own
        if people:
            found.append((entry, people))
            told |= people
    if not found:
        return
    everyone = sorted({uid for _, people in found for uid in people})
    prefs = await preferences.load_many(db, everyone) if settings.mail_enabled else {}
    due = now + timedelta(seconds=settings.mail_gather_seconds)
    for entry, people in found:
        thread, title, path, anchor = _place(s.room, s, entry)
        data = _data(s, entry)
        for user_id in people:
            mail = settings.mail_enabled and prefs[user_id].choice(entry.category.value) == preferences.IMMEDIATELY
            batch.add({
                "user_id": user_id, "room_id": s.room.id, "kind": entry.name, "category": entry.category.value,
                "thread": thread, "actor_id": author if entry.category is not Category.INVITATIONS and entry.to
                in DISCUSSION and author is not None else event.actor_id,
                "message_id": s.message.id if s.message else None, "idea_id": s.idea.id if s.idea else None,
                "title": title[:200], "path": path, "anchor": anchor, "data": data, "count": 1,
                "created_at": now, "updated_at": now, "read_at": None,
                "mail_state": "pending" if mail else None, "mail_due_at": due if mail else None,
            })


async def _store(db: AsyncSession, rows: list[dict[str, Any]]) -> set[int]:
    """Insert (or add to the unread item of the same thread) in one statement; returns the
    people whose number of unread items grew."""
    pairs = [(r["user_id"], r["thread"]) for r in rows]
    existing: set[tuple[int, str]] = set()
    for chunk in _chunks(pairs, 500):
        found = await db.execute(select(Notification.user_id, Notification.thread).where(
            Notification.read_at.is_(None), tuple_(Notification.user_id, Notification.thread).in_(chunk)))
        existing |= {(u, t) for u, t in found.all()}
    await db.execute(UPSERT(db), rows)
    fresh = [r for r in rows if (r["user_id"], r["thread"]) not in existing]
    for row in fresh:
        metrics.NOTIFICATIONS_CREATED.labels(row["kind"]).inc()
    return {r["user_id"] for r in fresh}


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


async def _retract(db: AsyncSession, event: Appended, batch: Batch) -> None:
    """A hidden or deleted message, or a hidden idea: its unread single notifications go
    (a collapsed item keeps its count and shows nothing of the post)."""
    message_id, idea_id = event.data.get("message_id"), event.data.get("idea_id")
    statement = delete(Notification).where(Notification.read_at.is_(None), Notification.count == 1)
    if isinstance(message_id, int):
        statement = statement.where(Notification.message_id == message_id,
                                    Notification.kind.notin_(("post_approved", "post_declined")))
    elif isinstance(idea_id, int):
        from innovate.rooms.models import Idea

        author = select(Idea.author_id).where(Idea.id == idea_id).scalar_subquery()
        statement = statement.where(Notification.idea_id == idea_id,
                                    Notification.user_id != func.coalesce(author, 0))
    else:
        return
    gone = await db.execute(statement.returning(Notification.user_id))
    batch.retracted |= set(gone.scalars())


# Reading ---------------------------------------------------------------------------------------


def unread_frame(unread: int) -> dict[str, Any]:
    return {"kind": kinds.NOTIFICATIONS_UNREAD.name, "data": {"unread": unread}}


async def unread_counts(db: AsyncSession, user_ids: set[int]) -> dict[int, int]:
    counts = {uid: 0 for uid in user_ids}
    for chunk in _chunks(sorted(user_ids), 1000):
        rows = await db.execute(select(Notification.user_id, func.count()).where(
            Notification.user_id.in_(chunk), Notification.read_at.is_(None)).group_by(Notification.user_id))
        counts.update({uid: int(n) for uid, n in rows.all()})
    return counts


async def unread_count(db: AsyncSession, user_id: int) -> int:
    return (await unread_counts(db, {user_id}))[user_id]


async def mark_read(resources: Resources, user: User, *, ids: list[int] | None = None, every: bool = False,
                    path: str | None = None) -> int:
    """Mark the caller's items read (these ids, every one, or those shown on ``path``);
    returns how many changed. Their other tabs' bells follow."""
    conditions = [Notification.user_id == user.id, Notification.read_at.is_(None)]
    if path is not None:
        conditions.append(Notification.path == path)
    elif not every:
        if not ids:
            return 0
        conditions.append(Notification.id.in_(ids))
    async with write(resources) as (db, outbox):
        result = cast(CursorResult[Any], await db.execute(update(Notification).where(*conditions).values(
            read_at=utcnow(), mail_state=case((Notification.mail_state == "pending", "skipped"),
                                              else_=Notification.mail_state))))
        changed = result.rowcount
        if changed:
            to_user(outbox, user.id, unread_frame(await unread_count(db, user.id)))
    return int(changed or 0)


# Notifications from no room event -------------------------------------------------------------


async def tell(db: AsyncSession, outbox: Outbox, settings: Settings, user_ids: set[int], *, kind: str,
               category: Category, thread: str, title: str, path: str, actor_id: int | None,
               data: dict[str, Any] | None = None) -> None:
    """One notification to each of ``user_ids`` about something that is no room's event (an HR
    pulse), in the caller's write transaction; their bells follow after commit."""
    people = sorted(user_ids - ({actor_id} if actor_id is not None else set()))
    if not people:
        return
    now = utcnow()
    prefs = await preferences.load_many(db, people) if settings.mail_enabled else {}
    due = now + timedelta(seconds=settings.mail_gather_seconds)
    rows = []
    for user_id in people:
        mail = bool(prefs) and prefs[user_id].choice(category.value) == preferences.IMMEDIATELY
        rows.append({
            "user_id": user_id, "room_id": None, "kind": kind, "category": category.value, "thread": thread,
            "actor_id": actor_id, "message_id": None, "idea_id": None, "title": title[:200], "path": path,
            "anchor": "", "data": data or {}, "count": 1, "created_at": now, "updated_at": now, "read_at": None,
            "mail_state": "pending" if mail else None, "mail_due_at": due if mail else None,
        })
    changed: set[int] = set()
    for chunk in _chunks(rows, 500):
        changed |= await _store(db, chunk)
    for user_id, unread in (await unread_counts(db, changed)).items():
        to_user(outbox, user_id, unread_frame(unread))


async def take_back(db: AsyncSession, outbox: Outbox, thread: str) -> None:
    """In the caller's write transaction: the unread items of ``thread`` go, with any mail
    still waiting for them (what they told of is over: nobody asks to join any more); the
    bells of their people follow after commit."""
    gone = await db.execute(delete(Notification).where(Notification.thread == thread, Notification.read_at.is_(None))
                            .returning(Notification.user_id))
    for user_id, unread in (await unread_counts(db, set(gone.scalars()))).items():
        to_user(outbox, user_id, unread_frame(unread))


# Guest access ending ---------------------------------------------------------------------------


async def notify_access_ending(resources: Resources, now: datetime | None = None) -> int:
    """Tell guests whose access to a room ends within three days (once per end date): by the
    room's schedule or by their own membership's end date, whichever comes first."""
    now = now or utcnow()
    horizon = now + timedelta(days=ACCESS_NOTICE_DAYS)

    def soon(column: Any) -> Any:
        return (column > now) & (column <= horizon)

    async with resources.db() as db:
        found = (await db.execute(
            select(Room, Membership).join(Membership, Membership.room_id == Room.id)
            .join(User, User.id == Membership.user_id)
            .where(Room.phase != "archived", Membership.state == "active", User.kind == "guest",
                   User.is_active.is_(True),
                   soon(Room.archives_at) | soon(Room.closes_at) | soon(Membership.access_ends_at))
        )).all()
    ending: dict[tuple[int, datetime], tuple[Room, list[int]]] = {}
    for room, membership in found:
        ends = guest_access_ends_at(room, membership)
        if ends is None or not now < ends <= horizon or guest_access_over(room):
            continue
        ending.setdefault((room.id, ends), (room, []))[1].append(membership.user_id)
    told = 0
    for (_, ends), (room, candidates) in ending.items():
        thread = f"access_ending:room:{room.id}:{ends.date().isoformat()}"
        async with write(resources) as (db, outbox):
            guests = list((await db.execute(
                select(User.id).where(
                    User.id.in_(candidates),
                    ~exists().where(Notification.user_id == User.id, Notification.thread == thread))
            )).scalars())
            if not guests:
                continue
            prefs = await preferences.load_many(db, guests) if resources.settings.mail_enabled else {}
            rows = []
            for guest in guests:
                mail = bool(prefs) and prefs[guest].choice(Category.INVITATIONS.value) == preferences.IMMEDIATELY
                rows.append({
                    "user_id": guest, "room_id": room.id, "kind": "access_ending",
                    "category": Category.INVITATIONS.value, "thread": thread, "actor_id": None, "message_id": None,
                    "idea_id": None, "title": room.title, "path": f"/rooms/{room.slug}", "anchor": "",
                    "data": {"ends_at": ends.isoformat()}, "count": 1, "created_at": now, "updated_at": now,
                    "read_at": None, "mail_state": "pending" if mail else None, "mail_due_at": now if mail else None,
                })
            for user_id in await _store(db, rows):
                to_user(outbox, user_id, unread_frame(await unread_count(db, user_id)))
            told += len(rows)
    return told


# Settings ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingsChange:
    choices: dict[str, str]
    time_zone: str | None = None
    clear_bounce: bool = False


def check_settings(data: dict[str, Any]) -> SettingsChange:
    """``{"categories": {name: choice}, "time_zone": "Europe/Berlin", "clear_bounce": true}``,
    every part optional; the bad parts are one 422 naming each."""
    categories = data.get("categories", {})
    if not isinstance(categories, dict):
        raise Invalid.field("categories", lazy_gettext("expected an object such as {\"mentions\": \"immediately\"}"))
    errors = FieldErrors()
    choices: dict[str, str] = {}
    for name, choice in categories.items():
        if name not in preferences.CATEGORIES:
            errors.add(f"categories.{name}", lazy_gettext("unknown category; expected %(names)s",
                                                         names=", ".join(preferences.CATEGORIES)))
        elif choice not in preferences.CHOICES:
            errors.add(f"categories.{name}", lazy_gettext("expected one of %(names)s", names=", ".join(preferences.CHOICES)))
        else:
            choices[name] = choice
    zone = data.get("time_zone")
    if zone is not None and (not isinstance(zone, str) or not preferences.valid_zone(zone)):
        errors.add("time_zone", lazy_gettext("expected a time zone name such as Europe/Berlin"))
    clear = data.get("clear_bounce", False)
    if not isinstance(clear, bool):
        errors.add("clear_bounce", lazy_gettext("expected true or false"))
    errors.raise_if_any()
    return SettingsChange(choices=choices, time_zone=zone, clear_bounce=clear)


async def settings_row_for_update(db: AsyncSession, user_id: int) -> Any:
    """The person's settings row, created if missing and locked until commit. An upsert, not a
    read then an insert: two requests at once (the time zone guessed at sign-in, a digest
    being scheduled) would both find no row, and one of them fail."""
    from innovate.notifications.models import NotificationSettings

    await db.execute(insert_for(db, NotificationSettings).values(user_id=user_id, updated_at=utcnow())
                     .on_conflict_do_nothing(index_elements=["user_id"]))
    return await db.get(NotificationSettings, user_id, with_for_update=True, populate_existing=True)


async def save_settings(resources: Resources, user: User, change: SettingsChange, *,
                        only_unset_zone: bool = False) -> preferences.Preferences:
    """Store the person's choices (and time zone); the next digest is due at their next
    local morning. ``only_unset_zone``: the browser's guess, which never overrides a choice."""

    settings = resources.settings
    async with resources.db.begin() as db:
        row = await settings_row_for_update(db, user.id)
        if only_unset_zone and row.time_zone is not None:
            return preferences.of_row(row)
        for name, choice in change.choices.items():
            setattr(row, name, choice)
        if change.time_zone is not None:
            row.time_zone = change.time_zone
        if change.clear_bounce:
            row.bouncing_address = row.bounced_at = row.bounce_reason = None
        current = preferences.of_row(row)
        row.next_digest_at = preferences.next_digest(max(utcnow(), row.last_digest_at or utcnow()), current.digest,
                                                     current.zone, settings.digest_hour)
        row.updated_at = utcnow()
        await db.flush()
        return preferences.of_row(row)


async def switch_off(resources: Resources, user_id: int, category: str) -> list[str]:
    """An unsubscribe link was used: that category (for a digest's link, every category that
    went to the digest) is off from now on. The categories switched off."""

    async with resources.db.begin() as db:
        if await db.get(User, user_id) is None:
            return []
        row = await settings_row_for_update(db, user_id)
        current = preferences.of_row(row)
        if category in preferences.CATEGORIES:
            names = [category]
        else:
            names = [c for c in preferences.CATEGORIES if current.choice(c) in (preferences.DAILY, preferences.WEEKLY)]
        for name in names:
            setattr(row, name, preferences.OFF)
        after = preferences.of_row(row)
        row.next_digest_at = preferences.next_digest(utcnow(), after.digest, after.zone, resources.settings.digest_hour)
        row.updated_at = utcnow()
        # Mail already waiting for this category stays unsent.
        if names:
            await db.execute(update(Notification).where(
                Notification.user_id == user_id, Notification.mail_state == "pending",
                Notification.category.in_(names)).values(mail_state="skipped"))
    return names
