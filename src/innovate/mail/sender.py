"""Sending what the outbox holds: one sender per deployment, retries, bounces, exactly once.

**One sender.** On PostgreSQL the process holding a session-level advisory lock sends (any
process may take over when its connection goes); on SQLite, the process holding an
exclusive ``flock`` on a file beside the database.

**Each mail once.** A mail moves ``queued → claimed → sending → sent``, each step a
committed conditional UPDATE carrying the sender's claim:

- ``claimed``: taken by this sender; MAIL FROM and RCPT TO are exchanged. A sender that dies
  here sent nothing: the next one puts the mail back in the queue.
- ``sending``: committed just before DATA. From here until ``sent`` is committed, the mail is
  *in doubt*: SMTP gives no way to ask a server whether it accepted a message whose 250
  reply we never recorded (RFC 1047). A sender that finds a mail left in ``sending`` marks
  it failed ("in doubt") instead of sending it again, so it never arrives twice; the window
  is the time the server takes to answer the final dot, plus one UPDATE. Each mail keeps one
  ``Message-ID`` through every try: receivers that de-duplicate on it, and an operator
  reading the relay's log, can tell a mail from its retry.
- A sender that lost its lock cannot send what another took over: every step matches its
  own claim.

**Failures.** A refused connection, a timeout or a 4xx reply: the mail waits and is tried
again (after ``mail_retry_seconds``, doubling up to 6 hours) until ``mail_max_attempts``,
then fails with the reason. A 5xx to RCPT TO or DATA: the mail fails and the address is
marked bouncing (no more mail to it until the person changes it or asks to try again). A
5xx to MAIL FROM or to the sign-in is our configuration, not the recipient's: retried.

Mail bodies never reach the logs; the bodies leave the outbox once the mail is sent or given up.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import aiosmtplib
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from innovate import metrics
from innovate.accounts.models import User
from innovate.db import insert_for, utcnow
from innovate.i18n import N_
from innovate.mail import messages
from innovate.mail.models import OutboxMail
from innovate.notifications.models import NotificationSettings
from innovate.resources import Resources
from innovate.settings import Settings
from innovate.settings.smtp import SmtpConfig, parse_smtp_url

log = logging.getLogger("innovate.mail")

ADVISORY_KEY = 0x696E6E6F76617465 & 0x7FFFFFFFFFFFFFFF  # "innovate"
BATCH = 50
MAX_DELAY = 6 * 3600.0
SMTP_TIMEOUT = 30.0
IN_DOUBT = N_("in doubt: the sender stopped after handing the message over and before recording it; not sent again")


# The lock ---------------------------------------------------------------------------------------


class SenderLock(ABC):
    """Held by at most one process of a deployment."""

    @abstractmethod
    async def acquire(self) -> bool: ...

    @abstractmethod
    async def held(self) -> bool: ...

    @abstractmethod
    async def release(self) -> None: ...


class PostgresLock(SenderLock):
    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.connection: AsyncConnection | None = None

    async def acquire(self) -> bool:
        connection = await self.resources.engine.connect()
        # Autocommit: the lock lives as long as this session, with no transaction held open.
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = (await connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY})).scalar()
        except Exception:
            await connection.close()
            raise
        if not got:
            await connection.close()
            return False
        self.connection = connection
        return True

    async def held(self) -> bool:
        if self.connection is None:
            return False
        try:
            await self.connection.execute(text("SELECT 1"))
            return True
        except Exception:
            log.warning("the mail sender lost its database session; another process may take over")
            await self._drop()
            return False

    async def release(self) -> None:
        if self.connection is not None:
            try:
                await self.connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
            except Exception:
                pass  # the session is gone, and the lock with it
            await self._drop()

    async def _drop(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                await connection.invalidate()
                await connection.close()
            except Exception:
                pass


class FileLock(SenderLock):
    """SQLite: the database is one file on one machine; so is the lock. The kernel releases it
    when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    async def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    async def held(self) -> bool:
        return self.fd is not None

    async def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def sender_lock(resources: Resources) -> SenderLock:
    settings = resources.settings
    if settings.is_sqlite:
        database = make_url(settings.resolved_database_url).database or str(settings.data_dir / "innovate.db")
        return FileLock(Path(f"{database}.mail-sender.lock"))
    return PostgresLock(resources)


# Sending --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def retry_delay(settings: Settings, attempts: int) -> float:
    return float(min(settings.mail_retry_seconds * 2 ** max(0, attempts - 1), MAX_DELAY))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]


def smtp_client(config: SmtpConfig) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(hostname=config.host, port=config.port, use_tls=config.security == "tls",
                           start_tls=True if config.security == "starttls" else False, timeout=SMTP_TIMEOUT)


async def connect(settings: Settings) -> aiosmtplib.SMTP:
    config = parse_smtp_url(settings.smtp_url)
    client = smtp_client(config)
    await client.connect()
    if config.username:
        await client.login(config.username, config.password or "")
    return client


class _ConnectionLost(Exception):
    """The connection broke while a message was being handed over."""


_SCRUB: dict[str, Any] = {"body_text": "", "body_html": "", "unsubscribe_url": None}


async def recover(resources: Resources) -> None:
    """On taking the lock: what a dead sender had claimed goes back to the queue; what it was
    handing over when it died is in doubt and fails (never sent twice)."""
    async with resources.db.begin() as db:
        await db.execute(update(OutboxMail).where(OutboxMail.state == "claimed")
                         .values(state="queued", claim=None))
        doubtful = (await db.execute(update(OutboxMail).where(OutboxMail.state == "sending")
                                     .values(state="failed", last_error=IN_DOUBT, **_SCRUB)
                                     .returning(OutboxMail.message_id))).scalars().all()
    for message_id in doubtful:
        metrics.MAILS_FAILED.labels("in_doubt").inc()
        log.warning("mail %s was in doubt after a sender stopped; marked failed, not resent", message_id)


async def _claim(resources: Resources, claim: str) -> list[OutboxMail]:
    now = utcnow()
    async with resources.db.begin() as db:
        ids = (await db.execute(select(OutboxMail.id).where(OutboxMail.state == "queued", OutboxMail.next_attempt_at <= now)
                                .order_by(OutboxMail.next_attempt_at, OutboxMail.id).limit(BATCH))).scalars().all()
        if not ids:
            return []
        await db.execute(update(OutboxMail).where(OutboxMail.id.in_(ids), OutboxMail.state == "queued")
                         .values(state="claimed", claim=claim, attempts=OutboxMail.attempts + 1))
        return list((await db.execute(select(OutboxMail).where(OutboxMail.claim == claim, OutboxMail.state == "claimed")
                                      .order_by(OutboxMail.id))).scalars())


async def _step(resources: Resources, mail: OutboxMail, owner: str, before: str | None, **values: Any) -> bool:
    """A conditional move of this sender's claimed mail; False if it is no longer ours."""
    async with resources.db.begin() as db:
        statement = update(OutboxMail).where(OutboxMail.id == mail.id, OutboxMail.claim == owner)
        if before is not None:
            statement = statement.where(OutboxMail.state == before)
        result = cast(CursorResult[Any], await db.execute(statement.values(**values)))
        return bool(result.rowcount)


async def _why_not(resources: Resources, mail: OutboxMail) -> str | None:
    """A reason not to send this mail now (deactivated, bouncing, a guest whose access ended)."""
    from innovate.mail.audience import mailable

    async with resources.db() as db:
        if mail.user_id is not None:
            user = await db.get(User, mail.user_id)
            if user is None:
                return N_("not sent: the account is gone")
            return await mailable(db, user, address=mail.to_address)
        holder = (await db.execute(select(User).where(func.lower(User.email) == mail.to_address.lower()))).scalar_one_or_none()
        if holder is not None and not holder.is_active:
            return N_("not sent: the address belongs to a deactivated account")
        return None


async def _temporary(resources: Resources, mail: OutboxMail, claim: str, reason: str, outcome: Outcome) -> None:
    settings = resources.settings
    if mail.attempts >= settings.mail_max_attempts:
        await _step(resources, mail, claim, None, state="failed", last_error=f"gave up after {mail.attempts} tries: {reason}"[:500], **_SCRUB)
        metrics.MAILS_FAILED.labels("attempts").inc()
        outcome.failed += 1
        log.warning("mail %s failed after %d tries: %s", mail.message_id, mail.attempts, reason)
        return
    later = utcnow() + timedelta(seconds=retry_delay(settings, mail.attempts))
    await _step(resources, mail, claim, None, state="queued", claim=None, next_attempt_at=later, last_error=reason)
    metrics.MAILS_RETRIED.inc()
    outcome.retried += 1
    log.info("mail %s will be tried again at %s: %s", mail.message_id, later.isoformat(), reason)


async def _permanent(resources: Resources, mail: OutboxMail, claim: str, reason: str, outcome: Outcome, *,
                     bounce: bool) -> None:
    await _step(resources, mail, claim, None, state="failed", last_error=reason, **_SCRUB)
    metrics.MAILS_FAILED.labels("refused" if bounce else "not_sent").inc()
    outcome.failed += 1
    if bounce and mail.user_id is not None:
        await mark_bouncing(resources, mail.user_id, mail.to_address, reason)
    log.warning("mail %s failed: %s", mail.message_id, reason)


async def mark_bouncing(resources: Resources, user_id: int, address: str, reason: str) -> None:
    now = utcnow()
    async with resources.db.begin() as db:
        insert: Any = insert_for(db, NotificationSettings)  # PostgreSQL's or SQLite's, both with upserts
        await db.execute(insert.values(user_id=user_id, bouncing_address=address, bounced_at=now, bounce_reason=reason[:300],
                                 updated_at=now)
                         .on_conflict_do_update(index_elements=["user_id"], set_={
                             "bouncing_address": address, "bounced_at": now, "bounce_reason": reason[:300]}))


async def send_due(resources: Resources) -> Outcome:
    """Send every due mail, one SMTP connection for the batch; what it did."""
    outcome = Outcome()
    settings = resources.settings
    while True:
        claim = secrets.token_hex(16)
        batch = await _claim(resources, claim)
        if not batch:
            return outcome
        await _send_batch(resources, settings, batch, claim, outcome)
        if len(batch) < BATCH:
            return outcome


async def _send_batch(resources: Resources, settings: Settings, batch: list[OutboxMail], claim: str,
                      outcome: Outcome) -> None:
    pending = list(batch)
    try:
        client = await connect(settings)
    except Exception as exc:  # refused, timed out, TLS or sign-in failed: all of them wait
        reason = _reason(exc)
        log.warning("cannot reach the SMTP server %s: %s", parse_smtp_url(settings.smtp_url).safe(), reason)
        for mail in pending:
            await _temporary(resources, mail, claim, reason, outcome)
        return
    try:
        while pending:
            mail = pending.pop(0)
            try:
                await _send_one(resources, settings, client, mail, claim, outcome)
            except _ConnectionLost as exc:
                # The mail in hand is settled (in doubt); the rest wait for the next connection.
                for waiting in pending:
                    await _temporary(resources, waiting, claim, str(exc), outcome)
                return
            except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
                # The connection went before DATA: nothing was handed over. The rest wait too.
                for waiting in (mail, *pending):
                    await _temporary(resources, waiting, claim, _reason(exc), outcome)
                return
    finally:
        try:
            await client.quit()
        except Exception:
            client.close()


async def _send_one(resources: Resources, settings: Settings, client: aiosmtplib.SMTP, mail: OutboxMail, claim: str,
                    outcome: Outcome) -> None:
    reason = await _why_not(resources, mail)
    if reason is not None:
        await _permanent(resources, mail, claim, reason, outcome, bounce=False)
        return
    message = messages.build(settings, mail)
    try:
        await client.mail(messages.envelope_from(settings))
    except aiosmtplib.SMTPResponseException as exc:
        await _reset(client)
        await _temporary(resources, mail, claim, _reason(exc), outcome)  # our sender address: configuration
        return
    try:
        await client.rcpt(mail.to_address)
    except aiosmtplib.SMTPResponseException as exc:
        await _refused(resources, client, mail, claim, exc, outcome)
        return
    if not await _step(resources, mail, claim, "claimed", state="sending"):
        await _reset(client)  # another sender took it over: not ours to send
        return
    try:
        await client.data(message.as_bytes())
    except aiosmtplib.SMTPResponseException as exc:
        # The server answered the message with a refusal: it was not accepted.
        await _refused(resources, client, mail, claim, exc, outcome)
        return
    except Exception as exc:
        # No answer to the message: the server may or may not have taken it. Never twice.
        await _step(resources, mail, claim, None, state="failed", last_error=f"{IN_DOUBT} ({_reason(exc)})"[:500],
                    **_SCRUB)
        metrics.MAILS_FAILED.labels("in_doubt").inc()
        outcome.failed += 1
        raise _ConnectionLost(_reason(exc)) from exc
    await _step(resources, mail, claim, None, state="sent", sent_at=utcnow(), last_error=None, **_SCRUB)
    metrics.MAILS_SENT.inc()
    outcome.sent += 1


async def _refused(resources: Resources, client: aiosmtplib.SMTP, mail: OutboxMail, claim: str,
                   exc: aiosmtplib.SMTPResponseException, outcome: Outcome) -> None:
    """The recipient or the message was refused: 5xx for good (the address bounces), 4xx for now."""
    await _reset(client)
    if 500 <= exc.code < 600:
        await _permanent(resources, mail, claim, _reason(exc), outcome, bounce=True)
    else:
        await _temporary(resources, mail, claim, _reason(exc), outcome)


async def _reset(client: aiosmtplib.SMTP) -> None:
    try:
        await client.rset()
    except Exception:
        pass


async def count_states(resources: Resources) -> dict[str, int]:
    async with resources.db() as db:
        rows = (await db.execute(select(OutboxMail.state, func.count()).group_by(OutboxMail.state))).all()
        bouncing = (await db.execute(select(func.count()).select_from(NotificationSettings).join(
            User, User.id == NotificationSettings.user_id).where(
            func.lower(NotificationSettings.bouncing_address) == func.lower(User.email)))).scalar_one()
    counts = {state: 0 for state in ("queued", "claimed", "sending", "sent", "failed")}
    counts.update({state: int(n) for state, n in rows})
    for state, n in counts.items():
        metrics.MAIL_OUTBOX.labels(state).set(n)
    metrics.MAIL_BOUNCING.set(int(bouncing))
    return counts


def describe(states: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{n} {s}" for s, n in states)
