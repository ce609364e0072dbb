"""Erasing a person (GDPR article 17): they become a "Former member".

A fresh account row named "Former member" (inactive, no e-mail, no way to sign in) takes the
person's place in the room's record: their messages and ideas stay under it (unless the admin
chose to delete their content too), their votes stay counted under it, and every other row
that pointed at them points at it. What was theirs alone goes: identities, sessions, tokens,
one-time links, interests, notifications and their settings, mail to them, throttle counters.
Then their own account row is deleted, so their id, name and e-mail are nowhere any more.

The references are found from the schema (every foreign key to ``users.id``), so a table
added later is covered without a change here: its rows follow the person to the placeholder
unless it is listed in :data:`THEIRS_ALONE`. What the schema cannot say (ids and addresses
inside JSON, the audit trail's plain ``target_id``, throttle keys) is scrubbed by name below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, Text, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit
from innovate.accounts.models import LoginFailure, RateCounter, User
from innovate.audit import AuditEntry
from innovate.auth.models import Invite
from innovate.db import Base, utcnow
from innovate.errors import Conflict, Forbidden, NotFound
from innovate.i18n import lazy_gettext
from innovate.mail.models import OutboxMail
from innovate.notifications.models import Notification
from innovate.resources import Resources
from innovate.rooms.models import Event, Idea, Message, Report
from innovate.writes import access_changed, write

FORMER_MEMBER = "Former member"

# (table, column): rows that are the person's own records, deleted with them rather than
# handed to the placeholder.
THEIRS_ALONE = {
    ("identities", "user_id"), ("sessions", "user_id"), ("access_tokens", "user_id"),
    ("one_time_links", "user_id"), ("user_interests", "user_id"), ("notification_settings", "user_id"),
    ("notifications", "user_id"), ("mail_outbox", "user_id"), ("talent_consents", "user_id"),
    # A request to join a community, with its message to the owners (the audit trail keeps
    # the owners' answer, pointed at the placeholder).
    ("join_requests", "user_id"),
}


@dataclass(frozen=True)
class Erased:
    """What was done: the placeholder that now stands for the person."""

    former_member_id: int
    content_deleted: bool


def _short_text_columns() -> list[tuple[Any, Any]]:
    """Every one-line text column outside ``users``: where a copy of a name or an address
    (a named author, a referral) may sit. Long text (messages, ideas) is content, kept."""
    found = []
    for table in Base.metadata.sorted_tables:
        if table.name == "users":
            continue
        for column in table.columns:
            if isinstance(column.type, String) and not isinstance(column.type, Text) and column.type.length \
                    and column.type.length >= 3 and not column.primary_key:
                found.append((table, column))
    return found


async def _scrub_copies(db: AsyncSession, email: str | None, name: str) -> None:
    """Copies of the address or the name in any one-line column: gone (or the anonymous name)."""
    for table, column in _short_text_columns():
        if email:
            await db.execute(update(table).where(func.lower(column) == email)
                             .values({column.name: None if column.nullable else ""}))
        await db.execute(update(table).where(column == name).values(
            {column.name: FORMER_MEMBER if (column.type.length or 0) >= len(FORMER_MEMBER) else ""}))


def _user_references() -> list[tuple[Any, Any]]:
    """Every (table, column) with a foreign key to ``users.id``, from the mapped schema."""
    users = Base.metadata.tables["users"]
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column.table is users for fk in column.foreign_keys):
                found.append((table, column))
    return found


@dataclass(frozen=True)
class Traces:
    """What identifies the person inside free-form JSON: their id under ``*user_id`` keys,
    their address anywhere in a string, their name as a whole string."""

    old_id: int
    new_id: int
    email: str | None
    name: str

    def scrub(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (self.new_id if k.endswith("user_id") and v == self.old_id else self.scrub(v))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, str) and ((self.email and self.email in value.lower()) or value == self.name):
            return None
        return value


async def _scrub_json(db: AsyncSession, model: Any, traces: Traces) -> None:
    """Rewrite the ``data`` of the rows whose JSON text mentions the person."""
    text = cast(model.data, String)
    clues = [text.contains(str(traces.old_id)), text.contains(traces.name, autoescape=True)]
    if traces.email:
        clues.append(func.lower(text).contains(traces.email, autoescape=True))
    rows = (await db.execute(select(model.id, model.data).where(or_(*clues)))).all()
    for row_id, data in rows:
        cleaned = traces.scrub(data)
        if cleaned != data:
            await db.execute(update(model).where(model.id == row_id).values(data=cleaned))


async def erase_in(db: AsyncSession, user: User, *, actor_id: int | None, delete_content: bool) -> Erased:
    """Inside the caller's transaction: turn ``user`` into a Former member."""
    old_id, now = user.id, utcnow()
    former = User(email=None, name=FORMER_MEMBER, kind=user.kind, is_active=False, deactivated_at=now,
                  erased_at=now, created_at=now)
    db.add(former)
    await db.flush()
    new_id = former.id
    traces = Traces(old_id, new_id, user.email.lower() if user.email else None, user.name)
    if delete_content:
        await db.execute(update(Message).where(Message.author_id == old_id)
                         .values(body="", body_html="", state="deleted", state_reason=None))
        await db.execute(update(Idea).where(Idea.author_id == old_id)
                         .values(title="", body="", body_html="", state="hidden", hidden_reason=None))
        await db.execute(update(Report).where(Report.reporter_id == old_id).values(reason=""))
    for table, column in _user_references():
        if table.name == "users":
            continue
        if (table.name, column.name) in THEIRS_ALONE:
            await db.execute(delete(table).where(column == old_id))
        else:
            await db.execute(update(table).where(column == old_id).values({column.name: new_id}))
    await db.execute(update(AuditEntry).where(AuditEntry.target_kind == "user", AuditEntry.target_id == old_id)
                     .values(target_id=new_id))
    for model in (AuditEntry, Event, Notification):
        await _scrub_json(db, model, traces)
    await _scrub_copies(db, traces.email, user.name)
    if user.email:
        address = user.email.lower()
        await db.execute(update(Invite).where(func.lower(Invite.email) == address).values(email=None))
        await db.execute(delete(OutboxMail).where(func.lower(OutboxMail.to_address) == address))
        await db.execute(delete(LoginFailure).where(LoginFailure.key == f"email:{address}"))
    await db.execute(delete(RateCounter).where(RateCounter.key.like(f"%:{old_id}")))
    await db.execute(delete(User).where(User.id == old_id))
    await audit.record(db, actor_id, audit.USER_ERASED, target_kind="user",
                       target_id=new_id, data={"kind": former.kind, "content_deleted": delete_content,
                                               "automatic": actor_id is None})
    return Erased(former_member_id=new_id, content_deleted=delete_content)


async def last_admin(db: AsyncSession, user: User) -> bool:
    if not user.is_admin:
        return False
    others = (await db.execute(select(func.count()).select_from(User).where(
        User.is_admin.is_(True), User.is_active.is_(True), User.id != user.id))).scalar_one()
    return int(others) == 0


async def erase_user(resources: Resources, actor: User | None, user_id: int, *, delete_content: bool = False) -> Erased:
    """An administrator (or, with ``actor`` None, the retention rule) erases a person. Their
    sessions and sockets end at once. The last administrator cannot be erased."""
    if actor is not None and not actor.is_admin:
        raise Forbidden(lazy_gettext("Only administrators may do that."))
    if actor is not None and actor.id == user_id:
        raise Forbidden(lazy_gettext("You cannot erase your own account; ask another administrator."))
    async with write(resources) as (db, outbox):
        user = (await db.execute(select(User).where(User.id == user_id).with_for_update()
                                 .execution_options(populate_existing=True))).scalar_one_or_none()
        if user is None or user.erased_at is not None:
            raise NotFound(lazy_gettext("No such user."))
        if await last_admin(db, user):
            raise Conflict(lazy_gettext("This is the last administrator; make someone else an administrator first."))
        erased = await erase_in(db, user, actor_id=actor.id if actor is not None else None,
                                delete_content=delete_content)
        access_changed(outbox, user_id=user_id)
    return erased
