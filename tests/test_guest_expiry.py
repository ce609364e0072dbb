"""Guest access that ends by itself: the invite sets an end date, moderators extend it or end
it now, the guest sees it in the room and is told three days before; when it passes, access
ends as on removal (sockets close, the API answers 404, a guest with no room left is signed
out). The clock is pinned by passing ``now`` to the scheduler's functions; on both databases.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed

from innovate.accounts.hashing import hash_password, token_hash
from innovate.accounts.models import Session, User
from innovate.audit import AuditEntry
from innovate.auth.invites import InviteRequest, Joiner, LocalGuest, create_invite, redeem_invite
from innovate.db import utcnow
from innovate.notifications.models import Notification
from innovate.notifications.service import notify_access_ending
from innovate.resources import Resources
from innovate.rooms.guests import end_due_guest_access
from innovate.rooms.models import Membership
from tests.live_support import (  # noqa: F401 - fixtures
    LiveServer,
    api_call,
    frames_until,
    has_kind,
    live,
    live_overrides,
    live_socket,
    open_room,
    settings_overrides,
    until,
)

PASSWORD = "a guest's long password"


async def invited_guest(resources: Resources, moderator: User, slug: str, email: str, **fields: Any) -> User:
    """A guest who joined ``slug`` through an invite link made with ``fields``."""
    _invite, url = await create_invite(resources, moderator, slug, InviteRequest(**fields))
    digest = token_hash(url.rsplit("/", 1)[1])
    redemption = await redeem_invite(resources, digest, Joiner(local=LocalGuest("Gina Guest", email, hash_password(PASSWORD))))
    return redemption.user


async def membership(resources: Resources, room_id: int, user_id: int) -> Membership:
    async with resources.db() as db:
        found = (await db.execute(select(Membership).where(
            Membership.room_id == room_id, Membership.user_id == user_id))).scalar_one()
    return found


async def closed_code(ws: Any) -> int:
    async with asyncio.timeout(30):
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_the_invite_sets_the_end_and_the_site_default_applies(live: LiveServer, make_user: Any) -> None:
    moderator = await make_user(is_moderator=True)
    room = await open_room(live, moderator)
    res = live.resources
    before = utcnow()
    thirty = await invited_guest(res, moderator, room["slug"], "thirty@example.org", access_days=30)
    default = await invited_guest(res, moderator, room["slug"], "default@example.org")
    closing = await invited_guest(res, moderator, room["slug"], "closing@example.org", access_days=0)
    ends = (await membership(res, room["id"], thirty.id)).access_ends_at
    assert ends is not None and before + timedelta(days=30) <= ends <= utcnow() + timedelta(days=30)
    ends = (await membership(res, room["id"], default.id)).access_ends_at
    assert ends is not None and ends >= before + timedelta(days=live.settings.guest_access_days)
    assert (await membership(res, room["id"], closing.id)).access_ends_at is None
    # The API shows the end date to moderators, on the members list.
    members = await api_call(live, moderator, "GET", f"/api/v1/rooms/{room['slug']}/members")
    by_id = {m["user_id"]: m for m in members["items"]}
    assert by_id[thirty.id]["access_ends_at"] is not None and by_id[closing.id]["access_ends_at"] is None
    assert by_id[moderator.id]["access_ends_at"] is None
    # A bad value names the field.
    async with live.api(await live.token(moderator)) as http:
        bad = await http.post(f"/api/v1/rooms/{room['slug']}/invites", json={"access_days": 9999})
    assert bad.status_code == 422 and "access_days" in bad.json()["error"]["fields"]


async def test_expiry_at_a_pinned_clock_closes_the_socket_and_the_api_answers_404(
        live: LiveServer, make_user: Any) -> None:
    moderator, ada = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, ada)
    slug = room["slug"]
    guest = await invited_guest(live.resources, moderator, slug, "gina@example.org", access_days=30)
    ends = (await membership(live.resources, room["id"], guest.id)).access_ends_at
    assert ends is not None
    # Three days before, the guest is told (once).
    assert await notify_access_ending(live.resources, now=ends - timedelta(days=2)) == 1
    assert await notify_access_ending(live.resources, now=ends - timedelta(days=1)) == 0
    async with live.resources.db() as db:
        notice = (await db.execute(select(Notification).where(Notification.user_id == guest.id))).scalar_one()
    assert notice.kind == "access_ending" and notice.data["ends_at"] == ends.isoformat()

    async with live.api(await live.token(guest)) as http:
        assert (await http.get(f"/api/v1/rooms/{slug}")).status_code == 200
    async with await live.connect(guest, slug) as guest_ws, await live.connect(ada, slug) as ada_ws:
        await until(lambda: guest.id in live.hub.by_user and ada.id in live.hub.by_user)
        # Nothing happens before the date.
        assert await end_due_guest_access(live.resources, now=ends - timedelta(seconds=1)) == []
        assert await end_due_guest_access(live.resources, now=ends) == [(room["id"], guest.id)]
        assert await closed_code(guest_ws) == 1008
        frames = await frames_until(ada_ws, has_kind("member.access_ended"))
    assert frames[-1]["data"]["user_id"] == guest.id
    # The API answers 404 afterwards (the guest's token still exists; the room is gone for them).
    async with live.api(await live.token(guest)) as http:
        assert (await http.get(f"/api/v1/rooms/{slug}")).status_code == 404
        assert (await http.get(f"/api/v1/rooms/{slug}/messages")).status_code == 404
    # Their last room: their sessions ended too; it is audited without an actor.
    async with live.resources.db() as db:
        open_sessions = (await db.execute(select(Session).where(
            Session.user_id == guest.id, Session.revoked_at.is_(None)))).scalars().all()
        entry = (await db.execute(select(AuditEntry).where(
            AuditEntry.action == "member.access_ended", AuditEntry.target_id == guest.id))).scalar_one()
    assert open_sessions == [] and entry.actor_id is None
    assert (await membership(live.resources, room["id"], guest.id)).state == "expired"
    # Running again ends nothing twice.
    assert await end_due_guest_access(live.resources, now=ends + timedelta(days=1)) == []


async def test_access_ends_at_its_date_even_before_the_scheduler_runs(
        live: LiveServer, make_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    moderator = await make_user(is_moderator=True)
    room = await open_room(live, moderator)
    guest = await invited_guest(live.resources, moderator, room["slug"], "early@example.org", access_days=1)
    later = utcnow() + timedelta(days=1, minutes=1)
    monkeypatch.setattr("innovate.rooms.access.utcnow", lambda: later)
    async with live.api(await live.token(guest)) as http:
        assert (await http.get(f"/api/v1/rooms/{room['slug']}")).status_code == 404


async def test_moderators_extend_and_end_access_and_others_may_not(live: LiveServer, make_user: Any) -> None:
    moderator, ada = await make_user(is_moderator=True), await make_user()
    room = await open_room(live, moderator, ada)
    slug = room["slug"]
    guest = await invited_guest(live.resources, moderator, slug, "ext@example.org", access_days=10)
    other = await invited_guest(live.resources, moderator, slug, "other@example.org", access_days=10)
    path = f"/api/v1/rooms/{slug}/members/{guest.id}"
    first = (await membership(live.resources, room["id"], guest.id)).access_ends_at
    assert first is not None
    # A member, a guest and an outsider may not change it.
    outsider = await make_user()
    await api_call(live, ada, "PATCH", path, {"extend_days": 30}, expect=403)
    await api_call(live, other, "PATCH", path, {"extend_days": 30}, expect=403)
    await api_call(live, outsider, "PATCH", path, {"extend_days": 30}, expect=403)
    # Extend: from the current end.
    member = await api_call(live, moderator, "PATCH", path, {"extend_days": 30})
    assert member["access_ends_at"] == (first + timedelta(days=30)).isoformat()
    # Until the room closes.
    member = await api_call(live, moderator, "PATCH", path, {"access_ends_at": None})
    assert member["access_ends_at"] is None
    await api_call(live, moderator, "PATCH", path, {"access_ends_at": "2001-01-01T00:00:00Z"}, expect=422)
    await api_call(live, moderator, "PATCH", path, {"extend_days": 0}, expect=422)
    await api_call(live, moderator, "PATCH", f"/api/v1/rooms/{slug}/members/{ada.id}", {"extend_days": 3}, expect=409)
    # End now: the guest's socket closes at once, and they lose the room.
    async with await live.connect(guest, slug) as guest_ws:
        await until(lambda: guest.id in live.hub.by_user)
        await api_call(live, moderator, "PATCH", path, {"end_access": True, "reason": "project over"})
        assert await closed_code(guest_ws) == 1008
    assert (await membership(live.resources, room["id"], guest.id)).state == "expired"
    async with live.api(await live.token(guest)) as http:
        assert (await http.get(f"/api/v1/rooms/{slug}")).status_code == 404
    # A new invite brings them back (unlike a removal).
    _invite, url = await create_invite(live.resources, moderator, slug, InviteRequest(access_days=5))
    back = await redeem_invite(live.resources, token_hash(url.rsplit("/", 1)[1]), Joiner(user=guest))
    assert back.joined
    again = await membership(live.resources, room["id"], guest.id)
    assert again.state == "active" and again.access_ends_at is not None


async def test_the_guest_sees_the_end_in_the_room_and_moderators_get_the_buttons(
        live: LiveServer, make_user: Any) -> None:
    import httpx

    from tests.clients import sign_in_with

    moderator = await make_user(is_moderator=True)
    room = await open_room(live, moderator)
    slug = room["slug"]
    guest = await invited_guest(live.resources, moderator, slug, "seen@example.org", access_days=30)
    ends = (await membership(live.resources, room["id"], guest.id)).access_ends_at
    assert ends is not None
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        assert (await sign_in_with(http, "seen@example.org", PASSWORD)).status_code == 303
        page = (await http.get(f"/rooms/{slug}")).text
    assert 'id="guest-access-ends"' in page and ends.isoformat()[:10] in page
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        from tests.conftest import PASSWORD as STAFF_PASSWORD

        assert (await sign_in_with(http, moderator.email or "", STAFF_PASSWORD)).status_code == 303
        moderation = (await http.get(f"/rooms/{slug}/moderation")).text
    assert f"/rooms/{slug}/members/{guest.id}/access" in moderation and "End guest access now" in moderation


async def test_a_guest_without_a_room_for_the_retention_period_is_anonymised(
        live: LiveServer, make_user: Any) -> None:
    from innovate.people.retention import anonymise_departed_guests

    moderator = await make_user(is_moderator=True)
    room = await open_room(live, moderator)
    gone = await invited_guest(live.resources, moderator, room["slug"], "gone@example.org", access_days=1)
    staying = await invited_guest(live.resources, moderator, room["slug"], "staying@example.org", access_days=0)
    ends = (await membership(live.resources, room["id"], gone.id)).access_ends_at
    assert ends is not None
    await end_due_guest_access(live.resources, now=ends)
    days = live.settings.guest_retention_days
    assert await anonymise_departed_guests(live.resources, now=ends + timedelta(days=days - 1)) == []
    assert await anonymise_departed_guests(live.resources, now=ends + timedelta(days=days, minutes=1)) == [gone.id]
    async with live.resources.db() as db:
        assert await db.get(User, gone.id) is None
        assert (await db.get(User, staying.id)) is not None
        entry = (await db.execute(select(AuditEntry).where(AuditEntry.action == "user.erased"))).scalar_one()
    assert entry.actor_id is None and entry.data["automatic"] is True
