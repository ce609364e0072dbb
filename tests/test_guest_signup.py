"""Local guest accounts, confirmed by mail (both databases, the real SMTP sink of tests/mail_support.py).

The join page's sign-up answers "check your mail" whatever the address, so an invite link tells
nobody which addresses have accounts; the mail that follows is what differs, and only the
address's owner reads it. The account is made when the mailed link is used.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from innovate.accounts.hashing import token_hash
from innovate.accounts.models import Identity, User
from innovate.auth import guest_signup
from innovate.auth.models import GuestSignup, Invite
from innovate.db import utcnow
from innovate.mail.models import OutboxMail
from innovate.resources import Resources
from innovate.rooms.models import Membership, Room
from tests.clients import CSRF_META, form_csrf, signed_in_client
from tests.factories import make_room
from tests.mail_support import FAST_MAIL, Sink, parts, sink, wait_until
from tests.moderation_support import add_guest
from tests.oidc_provider import OidcProvider
from tests.sso import asgi_client, corp_idp, ext_idp, sso_settings  # noqa: F401  (fixtures)
from tests.test_invites import create, hr, me, moderator, path_of, room  # noqa: F401  (fixtures)

__all__ = ["sink"]

PASSWORD = "a guest's long password"
CONFIRM = re.compile(r"http://testserver(/join/confirm/[A-Za-z0-9_-]+)")


@pytest.fixture
def settings_overrides(corp_idp: OidcProvider, ext_idp: OidcProvider, sink: Sink) -> dict[str, Any]:
    return sso_settings(corp_idp, ext_idp, employee_domains="corp.example", smtp_url=f"smtp://127.0.0.1:{sink.port}",
                        **FAST_MAIL)


async def sign_up(http: httpx.AsyncClient, invite_url: str, email: str, *, name: str = "Lena Local",
                  password: str = PASSWORD, confirm: str | None = None) -> httpx.Response:
    """What a stranger does on the join page: fill in the guest account form and send it."""
    page = await http.get(path_of(invite_url))
    assert page.status_code == 200 and 'name="action" value="local"' in page.text, page.text[:300]
    return await http.post(path_of(invite_url), data={
        "csrf_token": form_csrf(page.text), "action": "local", "name": name, "email": email,
        "password": password, "password_confirm": password if confirm is None else confirm})


async def count(resources: Resources, statement: Any) -> int:
    async with resources.db() as db:
        return int((await db.execute(statement)).scalar_one())


async def users_with(resources: Resources, address: str) -> int:
    return await count(resources, select(func.count()).select_from(User)
                       .where(func.lower(User.email) == address.lower()))


async def confirmation_link(sink: Sink, address: str, n: int = 1) -> str:
    """The path of the ``n``-th confirmation link mailed to ``address``."""
    mails = await wait_until(lambda: len(sink.to(address)) >= n and sink.to(address), what=f"mail {n} to {address}")
    text, html = parts(mails[n - 1])
    found = CONFIRM.search(text)
    assert found and found.group(0) in html, text
    return found.group(1)


async def signed_up(app: Any, sink: Sink, invite_url: str, address: str) -> str:
    """Sign up with ``address`` in a browser of its own; the path of the link mailed to it."""
    async with asgi_client(app) as http:
        assert (await sign_up(http, invite_url, address)).status_code == 200
    return await confirmation_link(sink, address)


async def confirm(http: httpx.AsyncClient, link: str) -> httpx.Response:
    page = await http.get(link)
    assert page.status_code == 200, page.text[:500]
    return await http.post(link, data={"csrf_token": form_csrf(page.text)})


def neutral(html: str, address: str) -> str:
    """The page without what differs from one request to the next (its CSRF token and CSP
    nonce) or is typed by the person (the address they gave, shown back to them)."""
    return re.sub(r'(nonce|value|content)="[^"]*"', "", html).replace(address, "ADDRESS")


async def test_every_address_gets_the_same_answer_and_no_account_yet(
        app: Any, hr: httpx.AsyncClient, room: Room, resources: Resources, make_user: Any, sink: Sink,
        monkeypatch: pytest.MonkeyPatch) -> None:
    await make_user("owen@partner.example", name="Owen Owner", kind="guest")
    created = await create(hr, room, max_uses=10)
    hashed: list[str] = []
    real_hash = guest_signup.hash_password

    def counting_hash(password: str) -> str:
        hashed.append(password)
        return real_hash(password)

    monkeypatch.setattr(guest_signup, "hash_password", counting_hash)
    addresses = {"new": "nora@partner.example", "known": "owen@partner.example",
                 "known, other case": "OWEN@Partner.example", "employee": "emil@corp.example",
                 "employee subdomain": "eve@lab.corp.example"}
    answers = {}
    for kind, address in addresses.items():
        async with asgi_client(app) as http:
            response = await sign_up(http, created["url"], address)
            shown = address.rpartition("@")[0] + "@" + address.rpartition("@")[2].lower()
            answers[kind] = (response.status_code, response.headers.get("cache-control"),
                             "set-cookie" in response.headers, neutral(response.text, shown))
            assert "Check your mail" in response.text and shown in response.text, kind
            assert await me(http) is None, kind  # nobody is signed in
    assert len(set(answers.values())) == 1, {k: v[:3] for k, v in answers.items()}
    assert answers["new"][0] == 200
    # The same work for every address: its password hashed once (the bulk of the time).
    assert len(hashed) == len(addresses)
    # No account, no use of the link, until an address is confirmed.
    assert await users_with(resources, "nora@partner.example") == 0
    assert await count(resources, select(func.count()).select_from(User).where(User.kind == "guest")) == 1  # Owen
    async with resources.db() as db:
        assert (await db.execute(select(Invite.uses).where(Invite.id == created["id"]))).scalar_one() == 0
        [pending] = (await db.execute(select(GuestSignup))).scalars().all()
    # Only a hash of the password, and of the link's token, is kept.
    assert pending.email == "nora@partner.example" and pending.name == "Lena Local"
    assert pending.password_hash.startswith("$argon2") and PASSWORD not in pending.password_hash
    # What differs is the mail, read only by the address's owner.
    link = await confirmation_link(sink, "nora@partner.example")
    assert pending.token_hash == token_hash(link.rsplit("/", 1)[1])
    new_text, _ = parts(sink.to("nora@partner.example")[0])
    assert "Greener logistics" in new_text and "Hanna HR invited you" in new_text and PASSWORD not in new_text
    [owner_mail] = await wait_until(lambda: sink.to("owen@partner.example"), what="the owner's mail")
    owner_text, _ = parts(owner_mail)
    assert "You already have an account here" in owner_text and "http://testserver/login" in owner_text
    for address in ("emil@corp.example", "eve@lab.corp.example"):
        [company] = await wait_until(lambda: sink.to(address), what=f"the mail to {address}")  # noqa: B023
        text = " ".join(parts(company)[0].split())
        assert "no guest account was made" in text and "sign in with your company account" in text, text
    # The owner's account is as it was: one identity, the old password.
    owen = await signed_in_client(app, "owen@partner.example", "correct horse battery")
    await owen.aclose()
    assert await count(resources, select(func.count()).select_from(Identity)
                       .join(User, User.id == Identity.user_id).where(User.email == "owen@partner.example")) == 1


async def test_the_mailed_link_makes_the_account_joins_the_room_and_signs_in(
        app: Any, hr: httpx.AsyncClient, room: Room, resources: Resources, sink: Sink) -> None:
    created = await create(hr, room)
    link = await signed_up(app, sink, created["url"], "lena@partner.example")
    async with asgi_client(app) as other_browser:  # the mail is often opened elsewhere
        page = await other_browser.get(link)
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert "lena@partner.example" in page.text and "Lena Local" in page.text and "Greener logistics" in page.text
        assert await users_with(resources, "lena@partner.example") == 0  # opening the link (a scanner) makes nothing
        joined = await other_browser.post(link, data={"csrf_token": form_csrf(page.text)})
        assert joined.status_code == 303 and joined.headers["location"] == f"/rooms/{room.slug}"
        lena = await me(other_browser)
        assert lena is not None and lena["kind"] == "guest" and lena["name"] == "Lena Local"
        assert (await other_browser.get(f"/rooms/{room.slug}")).status_code == 200
        # Used once: a second click, here or anywhere, gets a clear page and makes nothing.
        reopened = await other_browser.get(link)
        token = CSRF_META.search(reopened.text)
        assert token is not None  # signed in now: the session's new token
        for again in (reopened, await other_browser.post(link, data={"csrf_token": token.group(1)})):
            assert again.status_code == 404 and "already been used or has expired" in again.text
    async with resources.db() as db:
        user = (await db.execute(select(User).where(User.email == "lena@partner.example"))).scalar_one()
        membership = (await db.execute(select(Membership).where(
            Membership.room_id == room.id, Membership.user_id == user.id))).scalar_one()
        assert membership.state == "active"
        assert (await db.execute(select(Invite.uses).where(Invite.id == created["id"]))).scalar_one() == 1
        assert (await db.execute(select(func.count()).select_from(GuestSignup))).scalar_one() == 0
    # The password chosen on the join page is the account's.
    signed_in = await signed_in_client(app, "lena@partner.example", PASSWORD)
    assert (await me(signed_in))["id"] == user.id  # type: ignore[index]
    await signed_in.aclose()
    async with asgi_client(app) as stranger:
        assert (await stranger.post(link, data={"csrf_token": "x"})).status_code in (403, 404)
    assert await users_with(resources, "lena@partner.example") == 1


async def test_asking_twice_sends_two_links_and_the_first_used_ends_both(
        app: Any, hr: httpx.AsyncClient, room: Room, resources: Resources, sink: Sink) -> None:
    created = await create(hr, room, max_uses=3)
    for _ in range(2):
        async with asgi_client(app) as http:
            await sign_up(http, created["url"], "lena@partner.example")
    first, second = await confirmation_link(sink, "lena@partner.example", 1), await confirmation_link(
        sink, "lena@partner.example", 2)
    async with asgi_client(app) as http:
        assert (await confirm(http, second)).status_code == 303
        stale = await http.get(first)
        assert stale.status_code == 404 and "already been used or has expired" in stale.text
    assert await users_with(resources, "lena@partner.example") == 1


async def test_an_expired_link_makes_nothing(app: Any, hr: httpx.AsyncClient, room: Room, resources: Resources,
                                            sink: Sink) -> None:
    created = await create(hr, room)
    link = await signed_up(app, sink, created["url"], "late@partner.example")
    async with asgi_client(app) as http:
        page = await http.get(link)
        async with resources.db.begin() as db:
            await db.execute(update(GuestSignup).values(expires_at=utcnow() - timedelta(seconds=1)))
        for answer in (await http.get(link), await http.post(link, data={"csrf_token": form_csrf(page.text)})):
            assert answer.status_code == 404 and "already been used or has expired" in answer.text
            assert "open the invitation link again" in answer.text
        assert await me(http) is None
    assert await users_with(resources, "late@partner.example") == 0
    # An expired sign-up is swept on the way by the next one (its name, address and hash go).
    async with asgi_client(app) as http:
        await sign_up(http, created["url"], "next@partner.example")
    async with resources.db() as db:
        assert (await db.execute(select(GuestSignup.email))).scalars().all() == ["next@partner.example"]


async def test_the_hourly_round_forgets_sign_ups_whose_link_expired(
        app: Any, hr: httpx.AsyncClient, room: Room, resources: Resources, sink: Sink) -> None:
    """Where no new sign-up comes to sweep them, the retention round deletes expired sign-ups
    (an address, a name and a password hash nobody confirmed) and keeps the ones still valid."""
    from innovate.people.retention import retention_round

    created = await create(hr, room, max_uses=3)
    await signed_up(app, sink, created["url"], "stale@partner.example")
    fresh = await signed_up(app, sink, created["url"], "fresh@partner.example")
    async with resources.db.begin() as db:
        await db.execute(update(GuestSignup).where(GuestSignup.email == "stale@partner.example")
                         .values(expires_at=utcnow() - timedelta(seconds=1)))
    await retention_round(resources)
    async with resources.db() as db:
        assert (await db.execute(select(GuestSignup.email))).scalars().all() == ["fresh@partner.example"]
    async with asgi_client(app) as http:
        assert (await confirm(http, fresh)).status_code == 303  # the valid one still works
    assert await users_with(resources, "fresh@partner.example") == 1


@pytest.mark.parametrize("meanwhile", ["revoked", "expired", "used up", "room closed"])
async def test_an_invite_that_ended_meanwhile_makes_nothing(
        app: Any, hr: httpx.AsyncClient, room: Room, resources: Resources, moderator: User, sink: Sink,
        meanwhile: str) -> None:
    created = await create(hr, room)
    link = await signed_up(app, sink, created["url"], "lena@partner.example")
    async with asgi_client(app) as http:
        page = await http.get(link)
        assert page.status_code == 200
        if meanwhile == "revoked":
            assert (await hr.delete(f"/api/v1/rooms/{room.slug}/invites/{created['id']}")).status_code == 204
        elif meanwhile == "expired":
            async with resources.db.begin() as db:
                await db.execute(update(Invite).values(expires_at=utcnow() - timedelta(seconds=1)))
        elif meanwhile == "used up":
            async with resources.db.begin() as db:
                await db.execute(update(Invite).values(uses=Invite.max_uses))
        else:
            from innovate.rooms import service

            for phase in ("voting", "closed"):
                await service.change_phase(resources, moderator, room.slug, phase)
        for answer in (await http.post(link, data={"csrf_token": form_csrf(page.text)}), await http.get(link)):
            assert answer.status_code == 404, answer.text[:300]
            assert "The invitation is not valid any more" in answer.text and "no account" in answer.text
        assert await me(http) is None
    assert await users_with(resources, "lena@partner.example") == 0


async def test_an_account_made_meanwhile_is_not_doubled(
        app: Any, hr: httpx.AsyncClient, room: Room, resources: Resources, make_user: Any, sink: Sink) -> None:
    created = await create(hr, room)
    link = await signed_up(app, sink, created["url"], "lena@partner.example")
    # Made meanwhile through a guest provider: no password, the address spelt differently.
    async with resources.db.begin() as db:
        db.add(User(email="Lena@partner.example", name="Lena Elsewhere", kind="guest"))
    async with asgi_client(app) as http:
        page = await http.get(link)
        answer = await http.post(link, data={"csrf_token": form_csrf(page.text)})
        assert answer.status_code == 409 and "has an account now" in answer.text
        assert await me(http) is None
    assert await users_with(resources, "lena@partner.example") == 1
    assert await count(resources, select(Invite.uses).where(Invite.id == created["id"])) == 0


async def test_mails_to_one_address_are_capped_and_say_nothing_more(
        app: Any, hr: httpx.AsyncClient, room: Room, resources: Resources, make_user: Any, sink: Sink) -> None:
    await make_user("owen@partner.example", name="Owen Owner", kind="guest")
    created = await create(hr, room, max_uses=10)
    pages = set()
    for address, tries in (("nora@partner.example", 5), ("owen@partner.example", 3), ("emil@corp.example", 3)):
        for _ in range(tries):
            async with asgi_client(app) as http:
                response = await sign_up(http, created["url"], address)
                assert response.status_code == 200
                pages.add(neutral(response.text, address))
    assert len(pages) == 1  # a capped address gets the same page: the cap tells nothing either
    queued = {address: await count(resources, select(func.count()).select_from(OutboxMail)
                                   .where(OutboxMail.to_address == address))
              for address in ("nora@partner.example", "owen@partner.example", "emil@corp.example")}
    assert queued == {"nora@partner.example": 3, "owen@partner.example": 1, "emil@corp.example": 1}
    # Only mailed links are kept.
    assert await count(resources, select(func.count()).select_from(GuestSignup)) == 3


class TestPerNetwork:
    @pytest.fixture
    def settings_overrides(self, corp_idp: OidcProvider, ext_idp: OidcProvider, sink: Sink) -> dict[str, Any]:
        return sso_settings(corp_idp, ext_idp, smtp_url=f"smtp://127.0.0.1:{sink.port}", guest_signups_per_hour=2,
                            **FAST_MAIL)

    async def test_sign_ups_per_ip_are_limited_whatever_the_address(
            self, app: Any, hr: httpx.AsyncClient, room: Room, resources: Resources) -> None:
        created = await create(hr, room, max_uses=10)
        for n in range(2):
            async with asgi_client(app) as http:
                assert (await sign_up(http, created["url"], f"a{n}@partner.example")).status_code == 200
        async with asgi_client(app) as http:
            throttled = await sign_up(http, created["url"], "victim@partner.example")
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
        assert await count(resources, select(func.count()).select_from(OutboxMail)
                           .where(OutboxMail.to_address == "victim@partner.example")) == 0


async def test_the_form_judges_only_what_was_typed(app: Any, hr: httpx.AsyncClient, room: Room,
                                                   resources: Resources) -> None:
    created = await create(hr, room)
    async with asgi_client(app) as http:
        mismatch = await sign_up(http, created["url"], "lena@partner.example", confirm="nope nope nope")
        assert mismatch.status_code == 422 and "does not match" in mismatch.text
        # Every error at once, each at its field; what was typed (not the password) stays.
        wrong = await sign_up(http, created["url"], "lena at partner", name="", password="short", confirm="")
        assert wrong.status_code == 422 and "Please check the 4 fields marked below." in wrong.text
        for name in ("name", "email", "password", "password_confirm"):
            assert re.search(rf'id="join-local-form-{name}"[^>]*aria-invalid="true" '
                             rf'aria-describedby="join-local-form-{name}-error"', wrong.text), name
        assert 'value="lena at partner"' in wrong.text and 'value="short"' not in wrong.text
    assert await count(resources, select(func.count()).select_from(GuestSignup)) == 0
    assert await count(resources, select(func.count()).select_from(OutboxMail)) == 0


async def test_a_locked_invite_offers_no_guest_account(app: Any, hr: httpx.AsyncClient, room: Room,
                                                      resources: Resources) -> None:
    created = await create(hr, room, email="lena@partner.example")
    async with asgi_client(app) as http:
        page = await http.get(path_of(created["url"]))
        assert 'value="local"' not in page.text
        answer = await http.post(path_of(created["url"]), data={
            "csrf_token": form_csrf(page.text), "action": "local", "name": "Lena", "email": "lena@partner.example",
            "password": PASSWORD, "password_confirm": PASSWORD})
        assert answer.status_code == 403
    assert await count(resources, select(func.count()).select_from(OutboxMail)) == 0


async def test_signed_in_people_join_as_themselves(
        app: Any, hr: httpx.AsyncClient, room: Room, resources: Resources, make_user: Any, sign_in: Any,
        sink: Sink) -> None:
    """Admin, moderator, employee and guest: the guest form's post joins them as who they are
    (no account, no mail); a mailed link opened while signed in says whom it replaces."""
    people = {
        "admin": await make_user("root@corp.example", name="Ada Admin", is_admin=True),
        "moderator": await make_user("mo@corp.example", name="Mo Moderator", is_moderator=True),
        "employee": await make_user("emma@corp.example", name="Emma Employee"),
        "guest": await make_user("gus@partner.example", name="Gus Guest", kind="guest"),
    }
    other = await make_room(resources, people["moderator"], title="Elsewhere")
    await add_guest(resources, other, people["guest"])  # a guest has a room of their own already
    for role, person in people.items():
        created = await create(hr, room)
        http = await sign_in(person)
        page = await http.get(path_of(created["url"]))
        assert f"Join as {person.name}" in page.text and 'value="local"' not in page.text, role
        joined = await http.post(path_of(created["url"]), data={
            "csrf_token": form_csrf(page.text), "action": "local", "name": "Someone", "email": "x@partner.example",
            "password": PASSWORD, "password_confirm": PASSWORD})
        assert joined.status_code == 303 and joined.headers["location"] == f"/rooms/{room.slug}", role
        assert (await me(http))["id"] == person.id, role  # type: ignore[index]
    assert await users_with(resources, "x@partner.example") == 0
    assert await count(resources, select(func.count()).select_from(OutboxMail)) == 0
    # A confirmation opened in a signed-in browser: it says so, and going on switches accounts.
    created = await create(hr, room)
    link = await signed_up(app, sink, created["url"], "lena@partner.example")
    employee = await sign_in(people["employee"])
    page = await employee.get(link)
    assert "You are signed in as Emma Employee" in page.text
    switched = await employee.post(link, data={"csrf_token": form_csrf(page.text)})
    assert switched.status_code == 303
    assert (await me(employee))["name"] == "Lena Local"  # type: ignore[index]


class TestWithoutMail:
    """Local guests switched on, mail not set up: nobody could confirm an address, so there is
    no guest sign-up; the operator is told at start, the moderator in the invite panel."""

    @pytest.fixture
    def settings_overrides(self, corp_idp: OidcProvider, ext_idp: OidcProvider) -> dict[str, Any]:
        return sso_settings(corp_idp, ext_idp)

    async def test_no_sign_up_and_everyone_is_told_why(
            self, caplog: pytest.LogCaptureFixture, app: Any, resources: Resources, hr: httpx.AsyncClient,
            room: Room) -> None:
        started = [r for r in caplog.get_records("setup") if r.levelno == logging.WARNING]
        assert any("INNOVATE_ALLOW_LOCAL_GUESTS is on, but e-mail is not set up" in r.getMessage() for r in started)
        created = await create(hr, room)
        async with asgi_client(app) as http:
            page = await http.get(path_of(created["url"]))
            assert page.status_code == 200 and 'value="local"' not in page.text
            assert "Continue with Expert ID" in page.text
            answer = await http.post(path_of(created["url"]), data={
                "csrf_token": form_csrf(page.text), "action": "local", "name": "L", "email": "l@partner.example",
                "password": PASSWORD, "password_confirm": PASSWORD})
            assert answer.status_code == 404 and "not enabled" in answer.text
            assert (await http.get("/join/confirm/" + "x" * 43)).status_code == 404
        panel = await hr.get(f"/rooms/{room.slug}/invites")
        assert 'id="invite-local-guests-off"' in panel.text and "e-mail is not set up here" in panel.text
        assert await users_with(resources, "l@partner.example") == 0
