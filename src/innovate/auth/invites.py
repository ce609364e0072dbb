"""Room invite links: create, list, revoke, and redeem.

The token (256 random bits) lives only in the URL handed to the moderator once; the database
keeps its SHA-256. Redemption is ONE conditional UPDATE (uses < max_uses, not expired, not
revoked, the room still taking people, the e-mail/domain restriction met by a verified
address) with RETURNING, so parallel redemptions of a single-use link cannot overshoot.
Every failure that says something about the link itself answers the same way
(:class:`InviteNotValid`), so nobody can probe which links exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit
from innovate.accounts.hashing import new_token, token_hash
from innovate.accounts.local import EMAIL_RE, AddressTaken, add_local_user, check_guest_address
from innovate.accounts.models import User
from innovate.accounts.throttles import hit
from innovate.auth.guest_signup import (
    AddressNowTaken,
    LocalGuestsOff,
    SignUpLinkNotValid,
    account_for,
    pending_signup,
    spend_signup,
)
from innovate.auth.identities import (
    Deactivated,
    NotAnEmployeeAnyMore,
    create_user_for_identity,
    provisioned_account,
    touch_identity,
    user_for_identity,
    verified_emails,
)
from innovate.auth.models import Invite, InviteRedemption
from innovate.auth.oidc import ExternalIdentity
from innovate.db import insert_for, utcnow
from innovate.errors import AppError, Forbidden, Invalid, NotFound
from innovate.i18n import lazy_gettext, lazy_ngettext
from innovate.inputs import FieldErrors
from innovate.mail.invites import InviteMail, invite_mails, queue_invite_mail
from innovate.mail.worker import wake
from innovate.resources import Resources
from innovate.rooms.access import guest_access_over, require_moderator, room_access
from innovate.rooms.memberships import add_member
from innovate.rooms.models import Membership, Room
from innovate.writes import write

DEFAULT_MAX_USES = 1
MAX_MAX_USES = 500
DEFAULT_EXPIRY_HOURS = 7 * 24
MAX_EXPIRY_HOURS = 30 * 24  # guests never get a link without an end
MAX_ACCESS_DAYS = 730  # how long a guest may keep a room after joining; 0: until the room ends it
MAX_TOKEN_LENGTH = 128
JOINABLE_PHASES = ("draft", "open", "voting")
STATES = ("active", "expired", "used_up", "revoked")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9-]+(\.[a-z0-9-]+)+$")


class InviteNotValid(AppError):
    """Unknown, tampered, expired, revoked or used up: one neutral answer for all of them."""

    status = 404
    code = "invite_not_valid"

    def __init__(self) -> None:
        super().__init__(lazy_gettext("This link is not valid any more; ask the person who sent it."))


class InviteRestricted(AppError):
    status = 403
    code = "invite_restricted"

    def __init__(self) -> None:
        super().__init__(lazy_gettext(
            "This invitation is meant for a particular e-mail address, and your sign-in did not confirm it. "
            "Sign in with an account whose verified e-mail matches, or ask the person who sent the link."
        ))


class RemovedFromRoom(AppError):
    status = 403
    code = "removed"

    def __init__(self) -> None:
        super().__init__(lazy_gettext("A moderator removed you from this room; ask them if you should come back."))


# Reading ------------------------------------------------------------------------------------


def invite_state(invite: Invite, now: datetime | None = None) -> str:
    now = now or utcnow()
    if invite.revoked_at is not None:
        return "revoked"
    if invite.uses >= invite.max_uses:
        return "used_up"
    if invite.expires_at <= now:
        return "expired"
    return "active"


def invite_url(resources: Resources, token: str) -> str:
    return f"{resources.settings.public_url}/join/{token}"


def valid_token_shape(token: str) -> bool:
    """Whether a string from a URL could be one of our tokens (anything else is not looked up)."""
    return bool(token) and len(token) <= MAX_TOKEN_LENGTH and re.fullmatch(r"[A-Za-z0-9_-]+", token) is not None


@dataclass(frozen=True)
class InvitePreview:
    """What the confirmation page may show about a usable link."""

    invite_id: int
    token_hash: str
    room_slug: str
    room_title: str
    invited_by: str | None
    restricted: bool
    expires_at: datetime


async def peek_invite_hash(resources: Resources, digest: str) -> InvitePreview | None:
    async with resources.db() as db:
        row = (await db.execute(
            select(Invite, Room, User.name)
            .join(Room, Room.id == Invite.room_id)
            .outerjoin(User, User.id == Invite.created_by_id)
            .where(Invite.token_hash == digest)
        )).first()
    if row is None:
        return None
    invite, room, inviter = row
    if invite_state(invite) != "active" or room.phase not in JOINABLE_PHASES:
        return None
    return InvitePreview(invite_id=invite.id, token_hash=digest, room_slug=room.slug, room_title=room.title, invited_by=inviter,
                         restricted=invite.email is not None or invite.domain is not None,
                         expires_at=invite.expires_at)


@dataclass(frozen=True)
class InviteListing:
    invite: Invite
    state: str
    created_by: User | None
    redeemers: list[tuple[User, datetime]]
    mail: InviteMail | None = None  # the link was mailed: to whom, and how that went


async def list_invites(resources: Resources, user: User | None, slug: str) -> list[InviteListing]:
    async with resources.db() as db:
        access = await room_access(db, user, slug)
        _require_inviter(access.user, access)
        invites = list((await db.execute(
            select(Invite).where(Invite.room_id == access.room.id).order_by(Invite.created_at.desc(), Invite.id.desc())
        )).scalars())
        ids = [i.id for i in invites]
        people_ids = {i.created_by_id for i in invites if i.created_by_id is not None}
        redemptions = (await db.execute(
            select(InviteRedemption).where(InviteRedemption.invite_id.in_(ids)).order_by(InviteRedemption.at)
        )).scalars().all() if ids else []
        people_ids |= {r.user_id for r in redemptions}
        people = {u.id: u for u in (await db.execute(select(User).where(User.id.in_(people_ids)))).scalars()} \
            if people_ids else {}
        mails = await invite_mails(db, ids)
    now = utcnow()
    by_invite: dict[int, list[tuple[User, datetime]]] = {}
    for r in redemptions:
        if r.user_id in people:
            by_invite.setdefault(r.invite_id, []).append((people[r.user_id], r.at))
    return [
        InviteListing(invite=i, state=invite_state(i, now), created_by=people.get(i.created_by_id or 0),
                      redeemers=by_invite.get(i.id, []), mail=mails.get(i.id))
        for i in invites
    ]


def _person(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.id, "name": user.name, "kind": user.kind}


def invite_json(invite: Invite, *, state: str | None = None) -> dict[str, Any]:
    """The fields every view of an invite shares; never the token or the URL."""
    return {
        "id": invite.id,
        "max_uses": invite.max_uses,
        "uses": invite.uses,
        "expires_at": invite.expires_at.isoformat(),
        "state": state or invite_state(invite),
        "email": invite.email,
        "domain": invite.domain,
        "note": invite.note,
        "access_days": invite.access_days,
        "created_at": invite.created_at.isoformat() if invite.created_at else None,
        "revoked_at": invite.revoked_at.isoformat() if invite.revoked_at else None,
    }


def listing_json(item: InviteListing) -> dict[str, Any]:
    return {
        **invite_json(item.invite, state=item.state),
        "created_by": _person(item.created_by),
        "redeemers": [{**(_person(u) or {}), "at": at.isoformat()} for u, at in item.redeemers],
        "mail": item.mail.json() if item.mail else None,
    }


# Creating and revoking -------------------------------------------------------------------------


def _require_inviter(user: User, access: Any) -> None:
    if user.is_guest:
        raise Forbidden(lazy_gettext("Guests cannot invite people."))
    require_moderator(access)


@dataclass(frozen=True)
class InviteRequest:
    max_uses: int = DEFAULT_MAX_USES
    expires_in_hours: int = DEFAULT_EXPIRY_HOURS
    email: str | None = None
    domain: str | None = None
    note: str | None = None
    send: bool = False  # mail the link to ``email``
    # Days a guest who joins keeps the room; 0: until the room closes (or is archived, as
    # its settings say); None: the site's default (INNOVATE_GUEST_ACCESS_DAYS).
    access_days: int | None = None


def check_request(request: InviteRequest) -> InviteRequest:
    """The request, normalised; every field's error at once (a 422 naming each field)."""
    errors = FieldErrors()
    if not 1 <= request.max_uses <= MAX_MAX_USES:
        errors.add("max_uses", lazy_gettext("must be between 1 and %(max)d", max=MAX_MAX_USES))
    if not 1 <= request.expires_in_hours <= MAX_EXPIRY_HOURS:
        errors.add("expires_in_hours", lazy_gettext("must be between 1 and %(max)d (30 days)", max=MAX_EXPIRY_HOURS))
    if request.email and request.domain:
        errors.add("domain", lazy_gettext("give an e-mail address or a domain, not both"))
    email = request.email.strip().lower() if request.email else None
    if email is not None:
        if not EMAIL_RE.match(email):
            errors.add("email", lazy_gettext("expected an e-mail address like ada@example.com"))
        if request.max_uses != 1:
            errors.add("max_uses", lazy_gettext("a link for one e-mail address can be used once"))
    domain = request.domain.strip().lower().lstrip("@") if request.domain else None
    if domain is not None and not DOMAIN_RE.match(domain):
        errors.add("domain", lazy_gettext("expected a domain like example.com"))
    if request.send and email is None:
        errors.add("send", lazy_gettext("give the e-mail address to send the link to"))
    note = " ".join(request.note.split()) if request.note else None
    if note is not None and len(note) > 200:
        errors.add("note", lazy_ngettext("use at most %(num)d character", "use at most %(num)d characters", 200))
    if request.access_days is not None and not 0 <= request.access_days <= MAX_ACCESS_DAYS:
        errors.add("access_days", lazy_gettext("must be between 0 (until the room closes) and %(max)d",
                                               max=MAX_ACCESS_DAYS))
    errors.raise_if_any()
    return InviteRequest(request.max_uses, request.expires_in_hours, email, domain, note or None, request.send,
                         request.access_days)


async def create_invite(resources: Resources, user: User | None, slug: str,
                        request: InviteRequest) -> tuple[Invite, str]:
    """Create a link for the room; returns the row and the URL, which is never shown again."""
    checked = check_request(request)
    token = new_token()
    settings = resources.settings
    access_days = settings.guest_access_days if checked.access_days is None else checked.access_days
    if checked.send and not settings.mail_enabled:
        raise Invalid.field("send", lazy_gettext("e-mail is not set up on this site; copy the link and send it "
                                                 "yourself"))
    async with write(resources) as (db, _outbox):
        access = await room_access(db, user, slug)
        _require_inviter(access.user, access)
        if access.room.phase not in JOINABLE_PHASES:
            raise Forbidden(lazy_gettext("This room no longer takes new people."))
        await hit(db, f"invite-create:user:{access.user.id}", limit=settings.invites_per_moderator_per_day,
                  window_seconds=86_400,
                  message=lazy_gettext("You have created many invite links today; try again tomorrow."))
        invite = Invite(
            room_id=access.room.id, token_hash=token_hash(token), created_by_id=access.user.id,
            max_uses=checked.max_uses, uses=0, expires_at=utcnow() + timedelta(hours=checked.expires_in_hours),
            email=checked.email, domain=checked.domain, note=checked.note, access_days=access_days or None,
        )
        db.add(invite)
        await db.flush()
        await audit.record(db, access.user.id, audit.INVITE_CREATED, room_id=access.room.id, target_kind="invite",
                    target_id=invite.id, data={"max_uses": invite.max_uses, "expires_at": invite.expires_at.isoformat(),
                                               "email": invite.email, "domain": invite.domain, "mailed": checked.send,
                                               "access_days": invite.access_days})
        if checked.send:
            await queue_invite_mail(db, settings, invite=invite, room=access.room, inviter=access.user.name,
                                    url=invite_url(resources, token))
    if checked.send:
        wake(resources)
    return invite, invite_url(resources, token)


async def revoke_invite(resources: Resources, user: User | None, slug: str, invite_id: int) -> Invite:
    """Revoke at once: the next redemption's conditional UPDATE no longer matches."""
    async with write(resources) as (db, _outbox):
        access = await room_access(db, user, slug)
        _require_inviter(access.user, access)
        result = await db.execute(
            update(Invite)
            .where(Invite.id == invite_id, Invite.room_id == access.room.id, Invite.revoked_at.is_(None))
            .values(revoked_at=utcnow())
            .returning(Invite.id)
        )
        if result.scalar_one_or_none() is not None:
            await audit.record(db, access.user.id, audit.INVITE_REVOKED, room_id=access.room.id, target_kind="invite",
                        target_id=invite_id)
        invite = (await db.execute(
            select(Invite).where(Invite.id == invite_id, Invite.room_id == access.room.id)
            .execution_options(populate_existing=True)
        )).scalar_one_or_none()
        if invite is None:
            raise NotFound(lazy_gettext("No such invite link in this room."))
    return invite


# Redeeming -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalGuest:
    """A new local guest account: its name, address and the Argon2 hash of its password."""

    name: str
    email: str
    password_hash: str


@dataclass(frozen=True)
class Joiner:
    """Who redeems: a signed-in ``user``; or an ``identity`` just returned by a provider
    (``employee`` if it counts as one); or the guest sign-up whose mailed link has the token
    hash ``signup`` (guest_signup.py), spent in the same transaction; or a ``local`` guest
    account made at once, for callers that vouch for the address themselves."""

    user: User | None = None
    identity: ExternalIdentity | None = None
    employee: bool = False
    signup: str | None = None
    local: LocalGuest | None = None


@dataclass(frozen=True)
class Redemption:
    user: User
    room_slug: str
    joined: bool  # False when the user was already a member (nothing was spent)


class _AlreadyIn(Exception):
    """Raised inside the transaction to roll back the spent use when nothing needed doing."""

    def __init__(self, user: User, room: Room) -> None:
        self.user = user
        self.room = room


def _restriction(emails: set[str]) -> Any:
    """SQL: the invite's e-mail/domain restriction is met by one of these verified addresses."""
    if not emails:
        return and_(Invite.email.is_(None), Invite.domain.is_(None))
    domains = {e.rpartition("@")[2] for e in emails}
    return and_(or_(Invite.email.is_(None), Invite.email.in_(emails)),
                or_(Invite.domain.is_(None), Invite.domain.in_(domains)))


async def _spend(db: AsyncSession, digest: str, emails: set[str]) -> tuple[int, int, int | None] | None:
    now = utcnow()
    joinable = select(Room.id).where(Room.phase.in_(JOINABLE_PHASES))
    result = await db.execute(
        update(Invite)
        .where(
            Invite.token_hash == digest,
            Invite.uses < Invite.max_uses,
            Invite.expires_at > now,
            Invite.revoked_at.is_(None),
            Invite.room_id.in_(joinable),
            _restriction(emails),
        )
        .values(uses=Invite.uses + 1)
        .returning(Invite.id, Invite.room_id, Invite.access_days)
    )
    row = result.first()
    return (row[0], row[1], row[2]) if row is not None else None


async def _resolve_user(db: AsyncSession, joiner: Joiner, employee_domains: list[str]) -> tuple[User, set[str]]:
    """The account that joins (found or created in this transaction) and its verified e-mails."""
    if joiner.user is not None:
        user = await db.get(User, joiner.user.id)
        if user is None or not user.is_active:
            raise Deactivated()
        return user, await verified_emails(db, user)
    if joiner.identity is not None:
        identity = joiner.identity
        user = await user_for_identity(db, identity.issuer, identity.subject)
        if user is None and joiner.employee:
            user = await provisioned_account(db, identity)
        if user is None:
            user = await create_user_for_identity(db, identity, kind="employee" if joiner.employee else "guest")
        elif not user.is_active:
            raise Deactivated()
        elif user.kind == "employee" and not joiner.employee:
            raise NotAnEmployeeAnyMore()
        else:
            await touch_identity(db, identity)
        emails = await verified_emails(db, user)
        if identity.verified_email:
            emails.add(identity.verified_email)
        return user, emails
    local = joiner.local
    if joiner.signup is not None:
        spent = await spend_signup(db, joiner.signup)
        if await account_for(db, spent.email) is not None:
            raise AddressNowTaken()  # made meanwhile, perhaps through a provider, perhaps spelt otherwise
        local = LocalGuest(name=spent.name, email=spent.email, password_hash=spent.password_hash)
    if local is not None:
        check_guest_address(local.email, employee_domains)
        user = await add_local_user(db, local.email, None, password_hash=local.password_hash, name=local.name,
                                    kind="guest")
        # Confirmed by mail, but no sign-in provider vouches for it: an e-mail lock stays unmet
        # (invite_locks.py), as the join page says.
        return user, set()
    raise ValueError("a Joiner needs a user, an identity or a local guest")


async def redeem_invite(resources: Resources, digest: str, joiner: Joiner) -> Redemption:
    """Spend one use of the link and make the joiner a member of its room, all or nothing.

    A person who is already an active member spends nothing. Someone a moderator removed
    does not come back through a link. A local guest account is never made with an address
    of the company's domains, nor a second one for an address.
    """
    try:
        async with write(resources) as (db, outbox):
            user, emails = await _resolve_user(db, joiner, resources.settings.employee_domain_list)
            spent = await _spend(db, digest, emails)
            if spent is None:
                raise await _why_not(db, digest)
            invite_id, room_id, access_days = spent
            room = await db.get(Room, room_id)
            assert room is not None  # the invite row references it
            if user.is_guest and (guest_access_over(room) or room.kind == "community"
                                  and not resources.settings.community_guests):
                raise InviteNotValid()
            membership = (await db.execute(
                select(Membership).where(Membership.room_id == room.id, Membership.user_id == user.id)
            )).scalar_one_or_none()
            if membership is not None and membership.state == "removed":
                raise RemovedFromRoom()
            if membership is not None and membership.state == "active":
                raise _AlreadyIn(user, room)
            recorded = await db.execute(
                insert_for(db, InviteRedemption).values(invite_id=invite_id, user_id=user.id, at=utcnow())
                .on_conflict_do_nothing(index_elements=["invite_id", "user_id"])
                .returning(InviteRedemption.id)
            )
            if recorded.scalar_one_or_none() is None:
                # The same person using a multi-use link again (after leaving): do not spend twice.
                await db.execute(update(Invite).where(Invite.id == invite_id).values(uses=Invite.uses - 1))
            ends = utcnow() + timedelta(days=access_days) if user.is_guest and access_days else None
            await add_member(db, outbox, room, user, role="member", actor_id=user.id, access_ends_at=ends)
            await audit.record(db, user.id, audit.INVITE_REDEEMED, room_id=room.id, target_kind="invite", target_id=invite_id,
                        data={"user_id": user.id, "kind": user.kind})
    except _AlreadyIn as done:
        return Redemption(user=done.user, room_slug=done.room.slug, joined=False)
    except AddressTaken:
        if joiner.signup is None:
            raise
        raise AddressNowTaken() from None
    return Redemption(user=user, room_slug=room.slug, joined=True)


# Confirming a local guest's address ---------------------------------------------------------


@dataclass(frozen=True)
class PendingGuest:
    """What the confirmation page shows: who asked, for which room."""

    name: str
    email: str
    invite: InvitePreview


async def peek_guest_signup(resources: Resources, token: str) -> PendingGuest:
    """The sign-up a mailed link confirms, without using it; :class:`SignUpLinkNotValid` when
    the link is used, expired or unknown, :class:`InviteNotValid` when its invite is."""
    if not resources.settings.local_guest_signup:
        raise LocalGuestsOff()
    async with resources.db() as db:
        found = await pending_signup(db, token_hash(token)) if valid_token_shape(token) else None
    if found is None:
        raise SignUpLinkNotValid()
    row, invite_digest = found
    preview = await peek_invite_hash(resources, invite_digest)
    if preview is None or preview.restricted:
        raise InviteNotValid()
    return PendingGuest(name=row.name, email=row.email, invite=preview)


async def confirm_guest_signup(resources: Resources, token: str) -> Redemption:
    """Use a mailed confirmation link: the guest account is made from the sign-up and joins
    the invited room, in one transaction with spending the link and one use of the invite;
    nothing changes when the invite is no longer valid."""
    pending = await peek_guest_signup(resources, token)  # the page's own checks and answers
    return await redeem_invite(resources, pending.invite.token_hash, Joiner(signup=token_hash(token)))


async def _why_not(db: AsyncSession, digest: str) -> AppError:
    """After the UPDATE matched nothing: a usable link that the restriction refused gets its own
    message; everything else is the neutral one."""
    row = (await db.execute(
        select(Invite, Room.phase).join(Room, Room.id == Invite.room_id).where(Invite.token_hash == digest)
    )).first()
    if row is None or invite_state(row[0]) != "active" or row[1] not in JOINABLE_PHASES:
        return InviteNotValid()
    return InviteRestricted()
