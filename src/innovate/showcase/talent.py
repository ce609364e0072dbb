"""The talent pool: guest experts who said "I'm open to hearing about opportunities".

Consent is explicit and versioned: the row stores the version of the text the person agreed
to and when. Withdrawing deletes it, and HR's note about them, at once: from that moment
the pool, its export and its pages hold nothing about them. Nobody who did not agree is ever
read for this purpose: every query starts from ``talent_consents``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit
from innovate.accounts.models import User
from innovate.db import insert_for, utcnow
from innovate.errors import Forbidden, Invalid, NotFound
from innovate.i18n import gettext, lazy_gettext
from innovate.i18n.formatting import format_number
from innovate.inputs import Input, bool_field, text_field
from innovate.insights.overview import STATUS_LABELS
from innovate.resources import Resources
from innovate.rooms.models import Idea, Membership, Room
from innovate.rooms.reviews.models import Review, ReviewSettings
from innovate.showcase.models import TalentConsent, TalentNote
from innovate.showcase.positions import require_hr
from innovate.writes import write

# The text a guest agrees to. A new wording gets a new version; people who agreed to an
# older one stay in the pool under the version they saw (HR see which).
CONSENT_VERSION = "2026-12-01"
NOTE_MAX = 5000
# The pool is read by people (in a spreadsheet), so its header row is in the reader's language;
# the JSON list (/api/v1/admin/talent) is the one for programs.
CSV_HEADER = (lazy_gettext("Name"), lazy_gettext("E-mail"), lazy_gettext("Consented on"),
              lazy_gettext("Consent version"), lazy_gettext("Challenges"), lazy_gettext("Ideas"),
              lazy_gettext("Note"))


def consent_text(company: str) -> str:
    """The text in the reader's language; each translation says what this English wording says,
    under the same version."""
    return gettext(
        "I'm open to hearing about opportunities at %(company)s. Its HR team may see my name and e-mail "
        "address, the ideas I submitted under my name with their status and review scores, and the "
        "challenges I took part in, keep a private note about me, and contact me about open positions. "
        "I can withdraw this at any time; withdrawing takes me out of the pool at once.", company=company)


def _require_guest(user: User) -> None:
    if not user.is_guest:
        raise Forbidden(lazy_gettext("The talent pool is for guest experts."))


async def consent_of(db: AsyncSession, user: User) -> TalentConsent | None:
    return await db.get(TalentConsent, user.id)


async def set_consent(resources: Resources, user: User, data: Input) -> TalentConsent | None:
    """``{"open": true, "version": CONSENT_VERSION}`` agrees to the current text;
    ``{"open": false}`` withdraws at once (the consent and HR's note are deleted)."""
    _require_guest(user)
    agree = bool_field(data, "open")
    if agree and data.get("version") != CONSENT_VERSION:
        raise Invalid.field("version", lazy_gettext("agree to the current text (version %(version)s); reload the page",
                                                  version=CONSENT_VERSION))
    async with write(resources) as (db, _outbox):
        if agree:
            now = utcnow()
            await db.execute(insert_for(db, TalentConsent).values(user_id=user.id, text_version=CONSENT_VERSION,
                                                                  consented_at=now)
                             .on_conflict_do_nothing())
        else:
            await db.execute(delete(TalentNote).where(TalentNote.user_id == user.id))
            await db.execute(delete(TalentConsent).where(TalentConsent.user_id == user.id))
    async with resources.db() as db:
        return await consent_of(db, user)


@dataclass
class Contribution:
    title: str
    status: str
    challenge: str
    review_score: float | None


@dataclass
class Member:
    user_id: int
    name: str
    email: str | None
    consented_at: datetime
    version: str
    note: str
    challenges: list[str] = field(default_factory=list)
    ideas: list[Contribution] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "name": self.name, "email": self.email,
                "consented_at": self.consented_at.isoformat(), "consent_version": self.version, "note": self.note,
                "challenges": self.challenges,
                "ideas": [{"title": i.title, "status": i.status, "challenge": i.challenge,
                           "review_score": i.review_score} for i in self.ideas]}


async def pool(db: AsyncSession, actor: User) -> list[Member]:
    """Everyone in the pool now, with what they contributed: their named ideas (anonymous
    ones never) with status and released review scores, and the challenges they were in."""
    require_hr(actor)
    rows = (await db.execute(
        select(User, TalentConsent, TalentNote.note).join(TalentConsent, TalentConsent.user_id == User.id)
        .outerjoin(TalentNote, TalentNote.user_id == User.id)
        .where(User.is_active.is_(True), User.kind == "guest").order_by(User.name, User.id))).all()
    members = {u.id: Member(u.id, u.name, u.email, c.consented_at, c.text_version, note or "") for u, c, note in rows}
    if not members:
        return []
    ids = list(members)
    for user_id, title in (await db.execute(
            select(Membership.user_id, Room.title).join(Room, Room.id == Membership.room_id)
            .where(Membership.user_id.in_(ids), Membership.role == "member").order_by(Room.title))).all():
        members[user_id].challenges.append(title)
    scores = select(Review.idea_id, func.avg(Review.weighted).label("score")).join(
        ReviewSettings, ReviewSettings.room_id == Review.room_id).where(
        Review.state == "submitted", ReviewSettings.released_at.is_not(None)).group_by(Review.idea_id).subquery()
    for author_id, title, status, challenge, score in (await db.execute(
            select(Idea.author_id, Idea.title, Idea.status, Room.title, scores.c.score)
            .join(Room, Room.id == Idea.room_id).outerjoin(scores, scores.c.idea_id == Idea.id)
            .where(Idea.author_id.in_(ids), Idea.anonymous.is_(False), Idea.state == "visible")
            .order_by(Idea.created_at))).all():
        if author_id is not None:
            members[author_id].ideas.append(Contribution(title, status, challenge,
                                                         round(float(score), 2) if score is not None else None))
    return list(members.values())


async def save_note(resources: Resources, actor: User, user_id: int, data: Input) -> str:
    require_hr(actor)
    note = text_field(data, "note", max_length=NOTE_MAX, required=False, default="", multiline=True) or ""
    async with write(resources) as (db, _outbox):
        if await db.get(TalentConsent, user_id) is None:
            raise NotFound(lazy_gettext("Nobody with that id is in the talent pool."))
        await db.execute(delete(TalentNote).where(TalentNote.user_id == user_id))
        if note:
            db.add(TalentNote(user_id=user_id, note=note, updated_by_id=actor.id, updated_at=utcnow()))
        await audit.record(db, actor.id, audit.TALENT_NOTE_SAVED, target_kind="user", target_id=user_id)
    return note


def _cell(value: str) -> str:
    # A spreadsheet would run a cell that starts like a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _idea_cell(idea: Contribution) -> str:
    status = str(STATUS_LABELS.get(idea.status, idea.status))
    if idea.review_score is None:
        return gettext("%(title)s (%(status)s)", title=idea.title, status=status)
    return gettext("%(title)s (%(status)s, score %(score)s)", title=idea.title, status=status,
                   score=format_number(idea.review_score))


async def export_csv(resources: Resources, actor: User) -> str:
    """The pool as CSV (one row per person); the export is in the audit log."""
    async with resources.db() as db:
        members = await pool(db, actor)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(label) for label in CSV_HEADER])
    for m in members:
        writer.writerow([_cell(v) for v in (
            m.name, m.email or "", m.consented_at.isoformat(), m.version, "; ".join(m.challenges),
            "; ".join(_idea_cell(i) for i in m.ideas), m.note)])
    async with write(resources) as (db, _outbox):
        await audit.record(db, actor.id, audit.TALENT_EXPORTED, data={"people": len(members)})
    return out.getvalue()
