"""Invite links: created by moderators, shown once, redeemed once, failing neutrally; on both databases.

Guests sign in through the real OpenID Connect provider of tests/sso.py.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select, update

from innovate.accounts.hashing import token_hash
from innovate.accounts.models import Identity, User
from innovate.audit import AuditEntry
from innovate.auth.invites import InviteNotValid, Joiner, Redemption, redeem_invite
from innovate.auth.models import Invite, InviteRedemption
from innovate.auth.oidc import ExternalIdentity
from innovate.db import utcnow
from innovate.resources import Resources
from innovate.rooms.models import Event, Membership, Room
from tests.clients import form_csrf
from tests.factories import make_room
from tests.oidc_provider import OidcProvider
from tests.sso import (  # noqa: F401  (fixtures)
    asgi_client,
    at_provider,
    corp_idp,
    ext_idp,
    settings_overrides,
    sso_settings,
    sso_sign_in,
)

NEUTRAL = "This link is not valid any more; ask the person who sent it."


@pytest.fixture
async def moderator(make_user) -> User:
    return await make_user("hr@corp.example", name="Hanna HR", is_moderator=True)


@pytest.fixture
async def room(resources: Resources, moderator: User) -> Room:
    return await make_room(resources, moderator, title="Greener logistics")


@pytest.fixture
async def hr(sign_in, moderator: User) -> httpx.AsyncClient:
    return await sign_in(moderator)


async def create(hr: httpx.AsyncClient, room: Room, **body: Any) -> dict[str, Any]:
    response = await hr.post(f"/api/v1/rooms/{room.slug}/invites", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def path_of(url: str) -> str:
    return urlsplit(url).path


async def join_with_provider(http: httpx.AsyncClient, invite_url: str, provider: str, account: str) -> httpx.Response:
    """What the invited person does: open the link, confirm with a provider, sign in there."""
    page = await http.get(path_of(invite_url))
    assert page.status_code == 200, page.text[:300]
    start = await http.post(path_of(invite_url), data={"csrf_token": form_csrf(page.text), "provider": provider})
    assert start.status_code == 303, start.text[:300]
    return await http.get(await at_provider(start.headers["location"], account))


async def me(http: httpx.AsyncClient) -> dict[str, Any] | None:
    response = await http.get("/api/v1/me")
    return response.json() if response.status_code == 200 else None


async def invite_row(resources: Resources, invite_id: int) -> Invite:
    async with resources.db() as db:
        return (await db.execute(select(Invite).where(Invite.id == invite_id))).scalar_one()


async def membership(resources: Resources, room: Room, user_id: int) -> Membership | None:
    async with resources.db() as db:
        return (await db.execute(
            select(Membership).where(Membership.room_id == room.id, Membership.user_id == user_id)
        )).scalar_one_or_none()


# Creating, listing, revoking ------------------------------------------------------------------


async def test_create_shows_the_url_once_and_stores_only_a_hash(hr: httpx.AsyncClient, room: Room,
                                                                resources: Resources, moderator: User,
                                                                settings) -> None:
    before = utcnow()
    created = await create(hr, room)
    assert set(created) >= {"id", "url", "max_uses", "uses", "expires_at", "state"}
    assert (created["max_uses"], created["uses"], created["state"]) == (1, 0, "active")
    token = created["url"].rsplit("/", 1)[1]
    assert created["url"] == f"{settings.public_url}/join/{token}"
    assert len(token) >= 43  # 256 random bits, base64url
    from datetime import datetime

    expires = datetime.fromisoformat(created["expires_at"])
    assert timedelta(days=7) - timedelta(minutes=1) < expires - before < timedelta(days=7, minutes=1)

    row = await invite_row(resources, created["id"])
    assert row.token_hash == token_hash(token) and token not in repr(row.__dict__)

    listing = (await hr.get(f"/api/v1/rooms/{room.slug}/invites")).json()["items"]
    assert len(listing) == 1
    item = listing[0]
    assert "url" not in item and "token" not in item and token not in str(item)
    assert item["state"] == "active" and item["created_by"] == {"id": moderator.id, "name": "Hanna HR",
                                                                "kind": "employee"}
    assert item["redeemers"] == []
    async with resources.db() as db:
        actions = (await db.execute(select(AuditEntry.action).where(AuditEntry.room_id == room.id))).scalars().all()
    assert "invite.created" in actions


@pytest.mark.parametrize(("body", "field"), [
    ({"expires_in_hours": 24 * 30 + 1}, "expires_in_hours"),
    ({"expires_in_hours": 0}, "expires_in_hours"),
    ({"max_uses": 0}, "max_uses"),
    ({"max_uses": "many"}, "max_uses"),
    ({"email": "a@b.example", "domain": "b.example"}, "domain"),
    ({"email": "not an address"}, "email"),
    ({"domain": "not a domain"}, "domain"),
    ({"email": "a@b.example", "max_uses": 3}, "max_uses"),
])
async def test_invalid_invites_name_the_field(hr: httpx.AsyncClient, room: Room, body: dict[str, Any],
                                              field: str) -> None:
    response = await hr.post(f"/api/v1/rooms/{room.slug}/invites", json=body)
    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]


async def test_there_is_no_link_without_an_end(hr: httpx.AsyncClient, room: Room) -> None:
    created = await create(hr, room, expires_in_hours=None, max_uses=5, domain="Expert.Example")
    assert created["expires_at"] and created["max_uses"] == 5 and created["domain"] == "expert.example"


async def test_only_the_rooms_moderators_manage_links(app: Any, hr: httpx.AsyncClient, room: Room, make_user,
                                                      sign_in, resources: Resources) -> None:
    created = await create(hr, room)
    member = await make_user("member@corp.example")
    outsider_moderator = await make_user("other-hr@corp.example", is_moderator=True)
    secret_room = await make_room(resources, outsider_moderator, visibility="invite-only")
    await resources_join(resources, room, member)
    member_http = await sign_in(member)
    assert (await member_http.post(f"/api/v1/rooms/{room.slug}/invites", json={})).status_code == 403
    assert (await member_http.get(f"/api/v1/rooms/{room.slug}/invites")).status_code == 403
    assert (await member_http.delete(f"/api/v1/rooms/{room.slug}/invites/{created['id']}")).status_code == 403
    # A room the caller cannot see does not exist for them.
    assert (await member_http.get(f"/api/v1/rooms/{secret_room.slug}/invites")).status_code == 404
    assert (await hr.post(f"/api/v1/rooms/{secret_room.slug}/invites", json={})).status_code == 404
    async with asgi_client(app) as anonymous:
        assert (await anonymous.get(f"/api/v1/rooms/{room.slug}/invites")).status_code == 401


async def resources_join(resources: Resources, room: Room, *users: User) -> None:
    from tests.factories import join

    await join(resources, room, *users)


async def test_revoking_takes_effect_at_once(app: Any, hr: httpx.AsyncClient, room: Room,
                                             resources: Resources) -> None:
    created = await create(hr, room, max_uses=10)
    async with asgi_client(app) as guest:
        page = await guest.get(path_of(created["url"]))
        assert page.status_code == 200
        assert (await hr.delete(f"/api/v1/rooms/{room.slug}/invites/{created['id']}")).status_code == 204
        assert (await hr.delete(f"/api/v1/rooms/{room.slug}/invites/{created['id']}")).status_code == 204  # idempotent
        # The confirmation page was already open: confirming now gets the neutral answer.
        confirm = await guest.post(path_of(created["url"]), data={"csrf_token": form_csrf(page.text),
                                                                   "provider": "experts"})
        assert confirm.status_code == 404 and NEUTRAL in confirm.text
    listing = (await hr.get(f"/api/v1/rooms/{room.slug}/invites")).json()["items"]
    assert listing[0]["state"] == "revoked"
    assert (await hr.delete(f"/api/v1/rooms/{room.slug}/invites/999999")).status_code == 404
    async with resources.db() as db:
        actions = (await db.execute(select(AuditEntry.action).where(AuditEntry.room_id == room.id))).scalars().all()
    assert actions.count("invite.revoked") == 1


async def test_revoking_between_sign_in_start_and_callback(app: Any, hr: httpx.AsyncClient, room: Room,
                                                           resources: Resources) -> None:
    created = await create(hr, room)
    async with asgi_client(app) as guest:
        page = await guest.get(path_of(created["url"]))
        start = await guest.post(path_of(created["url"]), data={"csrf_token": form_csrf(page.text),
                                                                 "provider": "experts"})
        callback = await at_provider(start.headers["location"], "erin")
        await hr.delete(f"/api/v1/rooms/{room.slug}/invites/{created['id']}")
        response = await guest.get(callback)
        assert response.status_code == 404 and NEUTRAL in response.text
        assert await me(guest) is None
    async with resources.db() as db:
        assert (await db.execute(select(func.count()).select_from(User).where(User.kind == "guest"))).scalar_one() == 0


# Redeeming ---------------------------------------------------------------------------------------


async def test_guest_redeems_a_link_and_signs_in(app: Any, hr: httpx.AsyncClient, room: Room,
                                                 resources: Resources, ext_idp: OidcProvider, settings) -> None:
    created = await create(hr, room)
    async with asgi_client(app) as guest:
        # Link scanners and previews only see the confirmation page.
        for _ in range(3):
            page = await guest.get(path_of(created["url"]))
            assert page.status_code == 200 and "Greener logistics" in page.text and "Hanna HR" in page.text
        assert (await invite_row(resources, created["id"])).uses == 0
        before = guest.cookies.get(settings.session_cookie_name)

        response = await join_with_provider(guest, created["url"], "experts", "erin")
        assert response.status_code == 303 and response.headers["location"] == f"/rooms/{room.slug}"
        assert guest.cookies.get(settings.session_cookie_name) not in (None, before)
        erin = await me(guest)
        assert erin is not None and (erin["name"], erin["kind"], erin["email"]) == \
            ("Erin Expert", "guest", "erin@expert.example")
        assert (await guest.get(f"/api/v1/rooms/{room.slug}")).status_code == 200

    joined = await membership(resources, room, erin["id"])
    assert joined is not None and (joined.role, joined.state) == ("member", "active")
    row = await invite_row(resources, created["id"])
    assert row.uses == 1
    async with resources.db() as db:
        identity = (await db.execute(select(Identity).where(Identity.user_id == erin["id"]))).scalar_one()
        events = (await db.execute(
            select(Event.kind, Event.data).where(Event.room_id == room.id).order_by(Event.seq))).all()
    assert (identity.issuer, identity.subject) == (ext_idp.issuer, "erin")
    assert ("member.joined", {"user_id": erin["id"]}) in [(k, d) for k, d in events]

    item = (await hr.get(f"/api/v1/rooms/{room.slug}/invites")).json()["items"][0]
    assert item["state"] == "used_up" and item["uses"] == 1
    assert [(r["name"], r["kind"]) for r in item["redeemers"]] == [("Erin Expert", "guest")]

    # Later the guest signs in again with the same provider, without any link.
    async with asgi_client(app) as later:
        assert (await sso_sign_in(later, "experts", "erin")).status_code == 303
        assert (await me(later))["id"] == erin["id"]  # type: ignore[index]


async def test_signed_in_employee_just_joins(app: Any, hr: httpx.AsyncClient, room: Room, make_user, sign_in,
                                             resources: Resources) -> None:
    created = await create(hr, room)
    ada = await make_user("ada@corp.example", name="Ada")
    ada_http = await sign_in(ada)
    page = await ada_http.get(path_of(created["url"]))
    assert "Join as Ada" in page.text
    response = await ada_http.post(path_of(created["url"]), data={"csrf_token": form_csrf(page.text)})
    assert response.status_code == 303 and response.headers["location"] == f"/rooms/{room.slug}"
    joined = await membership(resources, room, ada.id)
    assert joined is not None and joined.state == "active"
    assert (await me(ada_http))["kind"] == "employee"  # type: ignore[index]
    # Joining again changes nothing and spends nothing.
    assert (await invite_row(resources, created["id"])).uses == 1


async def test_employee_sso_through_an_invite_is_an_employee(app: Any, hr: httpx.AsyncClient, room: Room,
                                                             resources: Resources) -> None:
    created = await create(hr, room)
    async with asgi_client(app) as http:
        response = await join_with_provider(http, created["url"], "corp", "alice")
        assert response.status_code == 303
        assert (await me(http))["kind"] == "employee"  # type: ignore[index]


class TestWithoutLocalGuests:
    @pytest.fixture
    def settings_overrides(self, corp_idp: OidcProvider, ext_idp: OidcProvider) -> dict[str, Any]:
        return sso_settings(corp_idp, ext_idp, allow_local_guests=False)

    async def test_no_local_form(self, client: httpx.AsyncClient, hr: httpx.AsyncClient, room: Room) -> None:
        created = await create(hr, room)
        page = await client.get(path_of(created["url"]))
        assert 'value="local"' not in page.text and "Continue with Expert ID" in page.text
        response = await client.post(path_of(created["url"]), data={
            "csrf_token": form_csrf(page.text), "action": "local", "name": "L", "email": "l@x.example",
            "password": "long enough pw", "password_confirm": "long enough pw"})
        assert response.status_code == 404
        assert await me(client) is None


# Failures: one neutral answer ------------------------------------------------------------------


async def test_expired_revoked_used_up_unknown_and_tampered_look_the_same(
        app: Any, hr: httpx.AsyncClient, room: Room, resources: Resources) -> None:
    expired = await create(hr, room)
    async with resources.db.begin() as db:
        await db.execute(update(Invite).where(Invite.id == expired["id"]).values(expires_at=utcnow() - timedelta(seconds=1)))
    revoked = await create(hr, room)
    await hr.delete(f"/api/v1/rooms/{room.slug}/invites/{revoked['id']}")
    used = await create(hr, room)
    async with asgi_client(app) as first:
        assert (await join_with_provider(first, used["url"], "experts", "erin")).status_code == 303
    valid = await create(hr, room)
    token = valid["url"].rsplit("/", 1)[1]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    paths = [path_of(expired["url"]), path_of(revoked["url"]), path_of(used["url"]), "/join/" + "x" * 43,
             "/join/" + tampered, "/join/" + token + "extra", "/join/a.b%20c", "/join/" + "y" * 500]
    async with asgi_client(app) as http:
        bodies = set()
        for path in paths:
            response = await http.get(path)
            assert response.status_code == 404, path
            assert NEUTRAL in response.text
            bodies.add(re.sub(r'nonce="[^"]*"', '', response.text))
        assert len(bodies) == 1  # not a byte of difference to probe
        page = await http.get(path_of(valid["url"]))
        for path in paths:
            response = await http.post(path, data={"csrf_token": form_csrf(page.text), "provider": "experts"})
            assert response.status_code == 404 and NEUTRAL in response.text, path
    # A working link stops working once its single use is spent.
    async with asgi_client(app) as second:
        assert (await join_with_provider(second, valid["url"], "experts", "frank")).status_code == 303
    async with asgi_client(app) as third:
        third_page = await third.get(path_of(valid["url"]))
        assert third_page.status_code == 404 and NEUTRAL in third_page.text


async def test_unverified_email_cannot_redeem_an_email_bound_link(app: Any, hr: httpx.AsyncClient, room: Room,
                                                                  resources: Resources) -> None:
    bound = await create(hr, room, email="uma@expert.example")
    async with asgi_client(app) as uma:
        page = await uma.get(path_of(bound["url"]))
        assert "tied to a particular e-mail address" in page.text and "uma@expert.example" not in page.text
        response = await join_with_provider(uma, bound["url"], "experts", "uma")  # email_verified: false
        assert response.status_code == 403 and "particular e-mail address" in response.text
        assert await me(uma) is None
    async with asgi_client(app) as erin:  # verified, but another address
        response = await join_with_provider(erin, bound["url"], "experts", "erin")
        assert response.status_code == 403
    assert (await invite_row(resources, bound["id"])).uses == 0
    async with resources.db() as db:
        assert (await db.execute(select(func.count()).select_from(User).where(User.kind == "guest"))).scalar_one() == 0

    frank_link = await create(hr, room, email="Frank@Expert.example")
    async with asgi_client(app) as frank:
        response = await join_with_provider(frank, frank_link["url"], "experts", "frank")
        assert response.status_code == 303
        assert (await me(frank))["email"] == "frank@expert.example"  # type: ignore[index]


async def test_domain_bound_link(app: Any, hr: httpx.AsyncClient, room: Room, resources: Resources) -> None:
    bound = await create(hr, room, domain="expert.example", max_uses=5)
    async with asgi_client(app) as uma:
        assert (await join_with_provider(uma, bound["url"], "experts", "uma")).status_code == 403
    async with asgi_client(app) as erin:
        assert (await join_with_provider(erin, bound["url"], "experts", "erin")).status_code == 303
    async with asgi_client(app) as alice:  # a corp address is not in the domain
        assert (await join_with_provider(alice, bound["url"], "corp", "alice")).status_code == 403
    assert (await invite_row(resources, bound["id"])).uses == 1


async def test_email_never_joins_a_guest_to_an_existing_account(app: Any, hr: httpx.AsyncClient, room: Room,
                                                                resources: Resources, make_user) -> None:
    alice = await make_user("alice@corp.example", name="Alice Local")
    created = await create(hr, room)
    async with asgi_client(app) as http:
        # The outside provider's "alice" claims Alice's verified address.
        response = await join_with_provider(http, created["url"], "experts", "alice")
        assert response.status_code == 303
        other = await me(http)
    assert other is not None and other["id"] != alice.id and other["kind"] == "guest"
    assert other["email"] is None  # the address belongs to another account; it stays on the identity only
    assert await membership(resources, room, alice.id) is None


async def test_twenty_parallel_redemptions_of_a_single_use_link(hr: httpx.AsyncClient, room: Room,
                                                                resources: Resources) -> None:
    created = await create(hr, room)
    digest = token_hash(created["url"].rsplit("/", 1)[1])
    joiners = [
        Joiner(identity=ExternalIdentity(provider="experts", issuer="https://idp.example", subject=f"guest-{i}",
                                         email=f"guest{i}@expert.example", email_verified=True,
                                         name=f"Guest {i}"))
        for i in range(20)
    ]
    results = await asyncio.gather(*(redeem_invite(resources, digest, j) for j in joiners), return_exceptions=True)
    wins = [r for r in results if isinstance(r, Redemption)]
    losses = [r for r in results if isinstance(r, InviteNotValid)]
    assert len(wins) == 1 and len(losses) == 19, [type(r).__name__ for r in results]
    assert (await invite_row(resources, created["id"])).uses == 1
    async with resources.db() as db:
        guests = (await db.execute(select(func.count()).select_from(User).where(User.kind == "guest"))).scalar_one()
        redemptions = (await db.execute(select(func.count()).select_from(InviteRedemption))).scalar_one()
        members = (await db.execute(select(func.count()).select_from(Membership).where(
            Membership.room_id == room.id, Membership.role == "member"))).scalar_one()
        joined_events = (await db.execute(select(func.count()).select_from(Event).where(
            Event.room_id == room.id, Event.kind == "member.joined", Event.actor_id == wins[0].user.id))).scalar_one()
    assert (guests, redemptions, members, joined_events) == (1, 1, 1, 1)


async def test_removed_member_does_not_come_back_through_a_link(hr: httpx.AsyncClient, room: Room,
                                                                resources: Resources, make_user) -> None:
    created = await create(hr, room, max_uses=3)
    digest = token_hash(created["url"].rsplit("/", 1)[1])
    ben = await make_user("ben@corp.example")
    await redeem_invite(resources, digest, Joiner(user=ben))
    async with resources.db.begin() as db:
        await db.execute(update(Membership).where(Membership.room_id == room.id, Membership.user_id == ben.id)
                         .values(state="removed"))
    from innovate.auth.invites import RemovedFromRoom

    with pytest.raises(RemovedFromRoom):
        await redeem_invite(resources, digest, Joiner(user=ben))
    assert (await invite_row(resources, created["id"])).uses == 1


async def test_a_closed_room_takes_nobody(hr: httpx.AsyncClient, room: Room, resources: Resources,
                                          moderator: User, make_user) -> None:
    from innovate.rooms import service

    created = await create(hr, room)
    for phase in ("voting", "closed"):
        await service.change_phase(resources, moderator, room.slug, phase)
    with pytest.raises(InviteNotValid):
        await redeem_invite(resources, token_hash(created["url"].rsplit("/", 1)[1]),
                            Joiner(user=await make_user("late@corp.example")))
    assert (await hr.post(f"/api/v1/rooms/{room.slug}/invites", json={})).status_code == 403


# Throttles ----------------------------------------------------------------------------------------


class TestThrottles:
    @pytest.fixture
    def settings_overrides(self, corp_idp: OidcProvider, ext_idp: OidcProvider) -> dict[str, Any]:
        return sso_settings(corp_idp, ext_idp, invite_attempts_per_ip=3, invites_per_moderator_per_day=2)

    async def test_link_attempts_per_ip(self, client: httpx.AsyncClient) -> None:
        for _ in range(3):
            assert (await client.get("/join/" + "z" * 43)).status_code == 404
        throttled = await client.get("/join/" + "z" * 43)
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0

    async def test_invites_per_moderator_per_day(self, hr: httpx.AsyncClient, room: Room,
                                                 resources: Resources) -> None:
        await create(hr, room)
        await create(hr, room)
        throttled = await hr.post(f"/api/v1/rooms/{room.slug}/invites", json={})
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
        async with resources.db() as db:
            assert (await db.execute(select(func.count()).select_from(Invite))).scalar_one() == 2


# The moderators' panel (plain forms and htmx) ---------------------------------------------------------


async def test_panel_with_plain_forms(hr: httpx.AsyncClient, room: Room, resources: Resources) -> None:
    page = await hr.get(f"/rooms/{room.slug}/invites")
    assert page.status_code == 200 and 'id="invite-panel"' in page.text and "<html" in page.text
    created = await hr.post(f"/rooms/{room.slug}/invites", data={
        "csrf_token": form_csrf(page.text), "max_uses": "2", "expires_in_hours": "48", "note": "For the panel"})
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    url = re.search(r'<code id="new-invite-url">([^<]+)</code>', created.text)
    assert url and "/join/" in url.group(1)
    again = await hr.get(f"/rooms/{room.slug}/invites")
    assert url.group(1) not in again.text  # shown once
    assert "For the panel" in again.text and "2 / 2" not in again.text and "0 / 2" in again.text

    invalid = await hr.post(f"/rooms/{room.slug}/invites", data={
        "csrf_token": form_csrf(page.text), "max_uses": "0", "expires_in_hours": "9999", "domain": "not a domain"})
    assert invalid.status_code == 422
    for name in ("max_uses", "expires_in_hours", "domain"):  # every error at once, each at its field
        assert re.search(rf'id="invite-form-{name}"[^>]*aria-invalid="true" aria-describedby="invite-form-{name}-error"',
                         invalid.text), name
        assert f'<small id="invite-form-{name}-error" class="field-error">' in invalid.text
    assert "Please check the 3 fields marked below." in invalid.text

    invite_id = (await hr.get(f"/api/v1/rooms/{room.slug}/invites")).json()["items"][0]["id"]
    revoked = await hr.post(f"/rooms/{room.slug}/invites/{invite_id}/revoke", data={"csrf_token": form_csrf(page.text)})
    assert revoked.status_code == 303 and revoked.headers["location"] == f"/rooms/{room.slug}/invites"
    assert 'data-state="revoked"' in (await hr.get(f"/rooms/{room.slug}/invites")).text


async def test_panel_with_htmx(app: Any, hr: httpx.AsyncClient, room: Room) -> None:
    headers = {"HX-Request": "true"}
    panel = await hr.get(f"/rooms/{room.slug}/invites", headers=headers)
    assert panel.text.lstrip().startswith('<section id="invite-panel"') and "<html" not in panel.text
    created = await hr.post(f"/rooms/{room.slug}/invites", headers=headers, data={"max_uses": "1",
                                                                                   "expires_in_hours": "24"})
    assert created.status_code == 200 and "<html" not in created.text and 'id="new-invite-url"' in created.text
    url = re.search(r'<code id="new-invite-url">([^<]+)</code>', created.text).group(1)  # type: ignore[union-attr]
    async with asgi_client(app) as guest:
        await join_with_provider(guest, url, "experts", "erin")
    listing = await hr.get(f"/rooms/{room.slug}/invites", headers=headers)
    assert re.search(r'Erin Expert <span class="badge guest"', listing.text)  # guests are marked
    assert 'data-state="used_up"' in listing.text
    invite_id = (await hr.get(f"/api/v1/rooms/{room.slug}/invites")).json()["items"][0]["id"]
    revoke = await hr.post(f"/rooms/{room.slug}/invites/{invite_id}/revoke", headers=headers)
    assert revoke.status_code == 200 and revoke.text.lstrip().startswith('<section id="invite-panel"')


async def test_panel_include_loads_itself(app: Any, room: Room) -> None:
    templates = app.state.templates
    html = templates.env.get_template("invites/_panel.html").render(room=room, csrf_token=lambda: "t")
    assert f'hx-get="/rooms/{room.slug}/invites"' in html and 'hx-trigger="load"' in html
    assert f'href="/rooms/{room.slug}/invites"' in html
