"""The write path for SCIM: a directory creates, replaces, patches and deletes employees.

``userName`` is the e-mail address; ``externalId`` is kept as the directory's own id. A
provisioned person has no way to sign in until their first single sign-on
(auth/identities.py: the employee provider's verified address makes it theirs). Deleting
deactivates (sessions and sockets end at once) and hides the person from SCIM; nothing they
wrote is destroyed. Guests are never SCIM's: their addresses are taken, not matched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from innovate import audit
from innovate.accounts.local import EMAIL_RE, MAX_NAME
from innovate.accounts.models import User
from innovate.accounts.sessions import revoke_sessions_in
from innovate.db import utcnow
from innovate.resources import Resources
from innovate.scim.models import ScimToken
from innovate.scim.protocol import MAX_RESULTS, Comparison, ScimError
from innovate.writes import Outbox, write

UNSET: Any = object()


@dataclass
class Changes:
    """What a request asks to set; UNSET: leave as it is."""

    user_name: Any = UNSET
    external_id: Any = UNSET
    display_name: Any = UNSET
    formatted: Any = UNSET
    given_name: Any = UNSET
    family_name: Any = UNSET
    active: Any = UNSET
    ignored: list[str] = field(default_factory=list)


def _text(value: Any, attribute: str, *, limit: int = MAX_NAME) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ScimError(400, f"{attribute}: expected a string.", "invalidValue")
    cleaned = " ".join(value.split())
    if len(cleaned) > limit:
        raise ScimError(400, f"{attribute}: use at most {limit} characters.", "invalidValue")
    return cleaned or None


def _boolean(value: Any) -> bool:
    # Entra ID has sent "True"/"False" as strings (its "Replace active" in older apps).
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ScimError(400, "active: expected true or false.", "invalidValue")


def _set(changes: Changes, path: str, value: Any, *, remove: bool = False) -> None:
    """One attribute, by its SCIM path (case-insensitive, as RFC 7643 §2.1 says)."""
    key = path.lower().removeprefix("urn:ietf:params:scim:schemas:core:2.0:user:")
    if remove:
        value = None
    if key == "username":
        changes.user_name = value
    elif key == "externalid":
        changes.external_id = _text(value, "externalId", limit=255)
    elif key == "displayname":
        changes.display_name = _text(value, "displayName")
    elif key == "active":
        if not remove:
            changes.active = _boolean(value)
    elif key == "name":
        if value is None:
            changes.formatted = changes.given_name = changes.family_name = None
        elif isinstance(value, dict):
            for part, part_value in value.items():
                _set(changes, f"name.{part}", part_value)
        else:
            raise ScimError(400, "name: expected an object.", "invalidValue")
    elif key == "name.formatted":
        changes.formatted = _text(value, "name.formatted")
    elif key == "name.givenname":
        changes.given_name = _text(value, "name.givenName")
    elif key == "name.familyname":
        changes.family_name = _text(value, "name.familyName")
    else:
        # Phone numbers, titles, the enterprise extension...: Innovate keeps none of them, and
        # refusing them would stop the directory's whole update.
        changes.ignored.append(path)


def changes_from_resource(body: dict[str, Any]) -> Changes:
    """POST and PUT: the whole resource."""
    changes = Changes()
    for key, value in body.items():
        if key in ("schemas", "id", "meta", "emails", "groups", "password", "roles"):
            continue
        _set(changes, key, value)
    if changes.user_name is UNSET:
        raise ScimError(400, "userName is required (the person's e-mail address).", "invalidValue")
    if changes.active is UNSET:
        changes.active = True
    return changes


def changes_from_patch(body: dict[str, Any]) -> Changes:
    """PATCH (RFC 7644 §3.5.2): add, replace and remove, with a path or with an object of
    attributes (Okta's ``{"op": "replace", "value": {"active": false}}``); ops in any case
    (Entra ID writes ``Replace``)."""
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "Operations: expected a list of operations.", "invalidSyntax")
    changes = Changes()
    for operation in operations:
        if not isinstance(operation, dict):
            raise ScimError(400, "Operations: each operation is an object.", "invalidSyntax")
        op = str(operation.get("op", "")).lower()
        path, value = operation.get("path"), operation.get("value")
        if op not in ("add", "replace", "remove"):
            raise ScimError(400, f"Unknown op {operation.get('op')!r}: use add, replace or remove.", "invalidSyntax")
        if path is None:
            if op == "remove" or not isinstance(value, dict):
                raise ScimError(400, "An operation without a path needs an object of attributes.", "noTarget")
            for key, item in value.items():
                _set(changes, key, item)
        elif isinstance(path, str):
            _set(changes, path, value, remove=op == "remove")
        else:
            raise ScimError(400, "path: expected a string.", "invalidPath")
    return changes


def _email(value: Any) -> str:
    if not isinstance(value, str) or not EMAIL_RE.match(value.strip().lower()):
        raise ScimError(400, "userName: expected the person's e-mail address.", "invalidValue")
    return value.strip().lower()


async def _address_free(db: AsyncSession, address: str, user_id: int | None) -> None:
    taken = (await db.execute(select(User).where(func.lower(User.email) == address))).scalar_one_or_none()
    if taken is not None and taken.id != user_id:
        raise ScimError(409, f"userName {address} is already taken.", "uniqueness")


def _display(user: User) -> str:
    parts = " ".join(p for p in (user.given_name, user.family_name) if p)
    return parts or (user.email or "").split("@")[0] or "Employee"


async def _apply(db: AsyncSession, outbox: Outbox, token: ScimToken, user: User, changes: Changes) -> None:
    before = {"name": user.name, "email": user.email, "external_id": user.external_id}
    if changes.user_name is not UNSET:
        address = _email(changes.user_name)
        await _address_free(db, address, user.id)
        user.email = address
    if changes.external_id is not UNSET:
        user.external_id = changes.external_id
    if changes.given_name is not UNSET:
        user.given_name = changes.given_name
    if changes.family_name is not UNSET:
        user.family_name = changes.family_name
    named = next((n for n in (changes.display_name, changes.formatted) if n is not UNSET and n), None)
    if named is not None:
        user.name = named
    elif changes.given_name is not UNSET or changes.family_name is not UNSET or not user.name:
        user.name = _display(user)
    via = {"via": "scim", "token": token.prefix}
    if any(before[k] != getattr(user, k) for k in before):
        await audit.record(db, None, audit.USER_UPDATED, target_kind="user", target_id=user.id,
                           data={**via, "fields": sorted(k for k in before if before[k] != getattr(user, k))})
    if changes.active is not UNSET and changes.active != user.is_active:
        await _set_active(db, outbox, user, changes.active, via)
    await db.flush()


async def _set_active(db: AsyncSession, outbox: Outbox, user: User, active: bool, via: dict[str, str]) -> None:
    if not active and user.is_admin:
        others = (await db.execute(select(func.count()).select_from(User).where(
            User.is_admin.is_(True), User.is_active.is_(True), User.id != user.id))).scalar_one()
        if not others:
            raise ScimError(409, "This is Innovate's last administrator; make someone else one first.", "mutability")
    user.is_active = active
    user.deactivated_at = None if active else utcnow()
    await audit.record(db, None, audit.USER_REACTIVATED if active else audit.USER_DEACTIVATED,
                       target_kind="user", target_id=user.id, data={**via, "kind": user.kind})
    if not active:
        await revoke_sessions_in(db, outbox, user.id)


async def _provisioned(db: AsyncSession, user_id: str) -> User:
    """A person SCIM may see: an employee, not erased, not deleted through SCIM."""
    if not user_id.isdigit() or len(user_id) > 18:
        raise ScimError(404, f"No user {user_id}.")
    user = (await db.execute(select(User).where(
        User.id == int(user_id), User.kind == "employee", User.erased_at.is_(None), User.scim_deleted_at.is_(None),
    ).with_for_update().execution_options(populate_existing=True))).scalar_one_or_none()
    if user is None:
        raise ScimError(404, f"No user {user_id}.")
    return user


async def create_user(resources: Resources, token: ScimToken, body: dict[str, Any]) -> User:
    changes = changes_from_resource(body)
    address = _email(changes.user_name)
    async with write(resources) as (db, outbox):
        await _address_free(db, address, None)
        user = User(email=address, name="", kind="employee", is_active=True)
        db.add(user)
        await db.flush()
        await audit.record(db, None, audit.USER_CREATED, target_kind="user", target_id=user.id,
                           data={"kind": "employee", "via": "scim", "token": token.prefix})
        await _apply(db, outbox, token, user, changes)
    return user


async def get_user(resources: Resources, user_id: str) -> User:
    async with resources.db() as db:
        return await _provisioned(db, user_id)


async def replace_user(resources: Resources, token: ScimToken, user_id: str, body: dict[str, Any]) -> User:
    changes = changes_from_resource(body)
    for part in ("external_id", "given_name", "family_name"):
        if getattr(changes, part) is UNSET:  # PUT replaces: what is left out is cleared
            setattr(changes, part, None)
    async with write(resources) as (db, outbox):
        user = await _provisioned(db, user_id)
        await _apply(db, outbox, token, user, changes)
    return user


async def patch_user(resources: Resources, token: ScimToken, user_id: str, body: dict[str, Any]) -> User:
    changes = changes_from_patch(body)
    async with write(resources) as (db, outbox):
        user = await _provisioned(db, user_id)
        await _apply(db, outbox, token, user, changes)
    return user


async def delete_user(resources: Resources, token: ScimToken, user_id: str) -> None:
    """Deactivate, and forget for SCIM; their messages, ideas and votes stay."""
    async with write(resources) as (db, outbox):
        user = await _provisioned(db, user_id)
        if user.is_active:
            await _set_active(db, outbox, user, False, {"via": "scim", "token": token.prefix})
        user.scim_deleted_at = utcnow()
        await db.flush()


async def list_users(resources: Resources, comparisons: list[Comparison], start: int,
                     count: int) -> tuple[list[User], int]:
    conditions: list[Any] = [User.kind == "employee", User.erased_at.is_(None), User.scim_deleted_at.is_(None)]
    for c in comparisons:
        if c.attribute in ("userName", "emails"):
            conditions.append(func.lower(User.email) == str(c.value).lower())
        elif c.attribute == "externalId":
            conditions.append(User.external_id == str(c.value))
        elif c.attribute == "displayName":
            conditions.append(User.name == str(c.value))
        elif c.attribute == "active":
            conditions.append(User.is_active.is_(bool(c.value)))
        elif c.attribute == "id":
            conditions.append(User.id == (int(c.value) if str(c.value).isdigit() else -1))
    count = max(0, min(count, MAX_RESULTS))
    async with resources.db() as db:
        total = int((await db.execute(select(func.count()).select_from(User).where(*conditions))).scalar_one())
        users = list((await db.execute(select(User).where(*conditions).order_by(User.id)
                                       .offset(max(start, 1) - 1).limit(count))).scalars()) if count else []
    return users, total
