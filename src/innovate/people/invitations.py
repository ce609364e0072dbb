"""Inviting employees: one address, a pasted list or a CSV file, checked row by row first.

An invitation is an account without any way to sign in yet (state "invited"): a password
sign-in whose password is not set. With a password
sign-in available, it carries a one-time set-password link; where an employee single sign-on
provider is configured, the mail says to sign in with it instead, and the first sign-in with a
verified address from that provider becomes this account (auth/identities.py). The mail goes
through the outbox; on a site without e-mail the links are answered once, to be copied.

Nothing is written before the caller confirms: :func:`check_invitations` answers the rows it
would invite and the bad ones with their line numbers, and :func:`invite` writes the good rows
of the same input in one transaction.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit
from innovate.accounts.hashing import new_token, token_hash
from innovate.accounts.links import SET_PASSWORD
from innovate.accounts.local import EMAIL_RE, add_local_user, has_signed_in_way
from innovate.accounts.models import OneTimeLink, User
from innovate.db import utcnow
from innovate.errors import Conflict, Forbidden, Invalid, NotFound
from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext, lazy_ngettext
from innovate.mail import messages
from innovate.mail.outbox import Draft, enqueue
from innovate.mail.worker import wake
from innovate.resources import Resources
from innovate.writes import write

MAX_ROWS = 5000
LINK_DAYS = 7
NAME_MAX = 120


@dataclass(frozen=True)
class Row:
    line: int
    email: str
    name: str
    moderator: bool = False


@dataclass(frozen=True)
class RowError:
    line: int
    value: str
    error: str

    def json(self) -> dict[str, Any]:
        return {"line": self.line, "value": self.value, "error": str(self.error)}


@dataclass
class Checked:
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {"rows": [{"line": r.line, "email": r.email, "name": r.name, "moderator": r.moderator} for r in self.rows],
                "errors": [e.json() for e in self.errors]}


@dataclass(frozen=True)
class Invited:
    user_id: int
    email: str
    url: str | None  # the set-password link, only when it was not mailed (shown once)


def _name_for(email: str) -> str:
    local = email.split("@", 1)[0]
    return " ".join(part.capitalize() for part in local.replace("_", ".").replace("-", ".").split(".") if part) or email


def parse_list(text: str) -> list[tuple[int, str, str, str]]:
    """One address per line, or several separated by commas or semicolons (as pasted from a mail
    client: ``Ada Lovelace <ada@example.com>`` works too)."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        for part in line.replace(";", ",").split(","):
            value = part.strip()
            if not value:
                continue
            name = ""
            if "<" in value and value.endswith(">"):
                name, value = value[:value.index("<")].strip().strip('"'), value[value.index("<") + 1:-1].strip()
            rows.append((number, value, name, ""))
    return rows


def parse_csv(text: str) -> list[tuple[int, str, str, str]]:
    """A header line naming ``email`` (required), ``name`` and ``role`` (``moderator``) columns;
    line numbers count the header as line 1, as a spreadsheet shows them."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise Invalid.field("csv", lazy_gettext("the file is empty")) from None
    if "email" not in header:
        raise Invalid.field("csv", lazy_gettext("the first line must name the columns, with one called email"))
    at: dict[str, int] = {name: header.index(name) for name in ("email", "name", "role") if name in header}
    rows = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue

        def cell(name: str, cells: list[str] = cells) -> str:
            index = at.get(name)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        rows.append((line, cell("email"), cell("name"), cell("role").lower()))
    return rows


async def check_invitations(resources: Resources, data: dict[str, Any]) -> Checked:
    """The rows of ``{"emails": [...]}``, ``{"list": "..."}`` or ``{"csv": "..."}``, each checked:
    an address, not twice, no account yet, in an employee domain where those are set."""
    if isinstance(data.get("csv"), str) and data["csv"].strip():
        raw = parse_csv(data["csv"])
    elif isinstance(data.get("list"), str) and data["list"].strip():
        raw = parse_list(data["list"])
    elif isinstance(data.get("emails"), list) and data["emails"]:
        raw = [(n, str(e).strip(), "", "") for n, e in enumerate(data["emails"], start=1)]
    elif isinstance(data.get("email"), str) and data["email"].strip():
        raw = [(1, data["email"].strip(), str(data.get("name") or ""), str(data.get("role") or ""))]
    else:
        raise Invalid.field("emails", lazy_gettext("give an e-mail address, a list of them, or a CSV file"))
    if len(raw) > MAX_ROWS:
        raise Invalid.field("csv", lazy_gettext("at most %(max)d people at once (got %(got)d)", max=MAX_ROWS,
                                                got=len(raw)))
    domains = set(resources.settings.employee_domain_list)
    addresses = {value.lower() for _, value, _, _ in raw}
    async with resources.db() as db:
        taken = set((await db.execute(select(func.lower(User.email)).where(
            func.lower(User.email).in_(addresses)))).scalars()) if addresses else set()
    checked, seen = Checked(), set()
    for line, value, name, role in raw:
        email = value.lower()
        name = " ".join(name.split())
        problem = None
        if not EMAIL_RE.match(email):
            problem = lazy_gettext("not an e-mail address")
        elif email in seen:
            problem = lazy_gettext("appears twice")
        elif email in taken:
            problem = lazy_gettext("already has an account")
        elif domains and email.rpartition("@")[2] not in domains:
            problem = lazy_gettext("not in an employee domain (%(domains)s)", domains=", ".join(sorted(domains)))
        elif len(name) > NAME_MAX:
            problem = lazy_ngettext("name: use at most %(num)d character", "name: use at most %(num)d characters",
                                    NAME_MAX)
        elif role not in ("", "member", "moderator"):
            problem = lazy_gettext("role: expected moderator, member or nothing")
        if problem is not None:
            checked.errors.append(RowError(line, value, problem))
            continue
        seen.add(email)
        checked.rows.append(Row(line, email, name or _name_for(email), role == "moderator"))
    return checked


def _sso(resources: Resources) -> str | None:
    """The employee single sign-on invited people use, where one is configured."""
    for config in resources.settings.sign_in_providers:
        if config.is_employee_provider:
            return config.display_name
    return None


async def _link(db: AsyncSession, resources: Resources, user_id: int) -> str:
    token = new_token()
    db.add(OneTimeLink(purpose=SET_PASSWORD, user_id=user_id, token_hash=token_hash(token),
                       expires_at=utcnow() + timedelta(days=LINK_DAYS)))
    return f"{resources.settings.public_url}/set-password/{token}"


async def _send(db: AsyncSession, resources: Resources, inviter: User, user: User, url: str | None,
                sso: str | None) -> None:
    with messages.for_recipient(resources.settings, user.locale):
        text, html = messages.render("welcome", inviter=inviter.name, person=user.name, url=url, sso=sso,
                                     site=resources.settings.public_url, days=LINK_DAYS)
        subject = _("%(inviter)s invites you to Innovate", inviter=inviter.name)
    await enqueue(db, resources.settings, Draft(
        to_address=user.email or "", subject=subject, body_text=text,
        body_html=html, purpose="invite", user_id=user.id))



async def _deliver(db: AsyncSession, resources: Resources, actor: User, user: User, sso: str | None) -> str | None:
    """A link (unless single sign-on is the way in) mailed, or answered to be shown once."""
    url = None if sso else await _link(db, resources, user.id)
    if resources.settings.mail_enabled:
        await _send(db, resources, actor, user, url, sso)
        return None
    return url


async def invite(resources: Resources, actor: User, data: dict[str, Any]) -> tuple[list[Invited], Checked]:
    """Invite the good rows of ``data`` (see :func:`check_invitations`); the bad ones are
    answered, not written. Admins only; one audit entry per person."""
    if not actor.is_admin:
        raise Forbidden(lazy_gettext("Only administrators may do that."))
    checked = await check_invitations(resources, data)
    sso = _sso(resources)
    invited: list[Invited] = []
    async with write(resources) as (db, _outbox):
        for row in checked.rows:
            user = await add_local_user(db, row.email, None, name=row.name, is_moderator=row.moderator)
            url = await _deliver(db, resources, actor, user, sso)
            await audit.record(db, actor.id, audit.USER_INVITED, target_kind="user", target_id=user.id,
                               data={"moderator": row.moderator, "mailed": resources.settings.mail_enabled})
            invited.append(Invited(user.id, row.email, url))
    if invited and resources.settings.mail_enabled:
        wake(resources)
    return invited, checked


async def _invited_user(db: AsyncSession, user_id: int) -> User:
    user = (await db.execute(select(User).where(User.id == user_id).with_for_update())).scalar_one_or_none()
    if user is None or user.erased_at is not None:
        raise NotFound(lazy_gettext("No such user."))
    signed_in = (await db.execute(select(has_signed_in_way(User.id)).where(User.id == user_id))).scalar_one()
    if signed_in or not user.is_active:
        raise Conflict(lazy_gettext("This person has already signed in (or is deactivated): there is no open invitation."))
    return user


async def resend(resources: Resources, actor: User, user_id: int) -> Invited:
    """A fresh link (the earlier ones stop working) and mail; audited."""
    if not actor.is_admin:
        raise Forbidden(lazy_gettext("Only administrators may do that."))
    sso = _sso(resources)
    async with write(resources) as (db, _outbox):
        user = await _invited_user(db, user_id)
        await db.execute(update(OneTimeLink).where(
            OneTimeLink.user_id == user_id, OneTimeLink.purpose == SET_PASSWORD, OneTimeLink.used_at.is_(None),
        ).values(used_at=utcnow()))
        url = await _deliver(db, resources, actor, user, sso)
        await audit.record(db, actor.id, audit.INVITATION_RESENT, target_kind="user", target_id=user_id)
    if resources.settings.mail_enabled:
        wake(resources)
    return Invited(user.id, user.email or "", url)


async def revoke(resources: Resources, actor: User, user_id: int) -> None:
    """The invitation is withdrawn: the account that never signed in is deleted, with its links."""
    if not actor.is_admin:
        raise Forbidden(lazy_gettext("Only administrators may do that."))
    async with write(resources) as (db, _outbox):
        await _invited_user(db, user_id)
        await db.execute(delete(User).where(User.id == user_id))
        await audit.record(db, actor.id, audit.INVITATION_REVOKED, target_kind="user", target_id=user_id)
