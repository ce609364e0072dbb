"""Links locked to an e-mail address or a domain, where nothing can confirm that address: the
moderator is warned when creating one (API and panel), and told what works instead."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from innovate.accounts.models import User
from innovate.auth.invite_locks import lock_warning
from innovate.resources import Resources
from innovate.rooms.models import Room
from tests.clients import form_csrf
from tests.factories import make_room


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Employees sign in with local accounts; no provider confirms anybody else's address."""
    return {"employee_domains": "corp.example"}


@pytest.fixture
async def room(resources: Resources, make_user) -> Room:
    moderator: User = await make_user("hr@corp.example", name="Hanna HR", is_moderator=True)
    return await make_room(resources, moderator, title="Greener logistics")


@pytest.fixture
async def hr(sign_in, room: Room, resources: Resources) -> httpx.AsyncClient:
    async with resources.db() as db:
        moderator = await db.get(User, room.created_by_id)
    assert moderator is not None
    return await sign_in(moderator)


async def test_the_api_warns_about_a_lock_nobody_can_meet(hr: httpx.AsyncClient, room: Room) -> None:
    outside = await hr.post(f"/api/v1/rooms/{room.slug}/invites", json={"email": "erin@expert.example"})
    assert outside.status_code == 201 and "/join/" in outside.json()["url"]
    warning = outside.json()["warning"]
    assert warning.startswith("Nobody can use this link yet") and "without an e-mail or domain lock" in warning
    domain = await hr.post(f"/api/v1/rooms/{room.slug}/invites", json={"domain": "expert.example"})
    assert domain.status_code == 201 and domain.json()["warning"] == warning
    # An employee's address is confirmed by their own sign-in; an open link needs nothing.
    for body in ({"email": "ann@corp.example"}, {"domain": "corp.example"}, {}):
        fine = await hr.post(f"/api/v1/rooms/{room.slug}/invites", json=body)
        assert fine.status_code == 201 and fine.json()["warning"] is None, body


async def test_the_panel_says_so_before_and_after(hr: httpx.AsyncClient, room: Room) -> None:
    page = await hr.get(f"/rooms/{room.slug}/invites")
    assert 'id="invite-form-lock-hint"' in page.text
    assert 'aria-describedby="invite-form-lock-hint"' in page.text
    created = await hr.post(f"/rooms/{room.slug}/invites", data={
        "csrf_token": form_csrf(page.text), "max_uses": "1", "expires_in_hours": "24", "email": "erin@expert.example"})
    assert created.status_code == 200 and '<code id="new-invite-url">' in created.text
    assert 'role="alert" id="invite-lock-warning">Nobody can use this link yet' in created.text
    assert "ask an administrator to add a guest sign-in provider" in created.text


def test_what_works_instead_depends_on_the_site(make_settings) -> None:
    local = make_settings(employee_domains="corp.example", allow_local_guests=True, smtp_url="smtp://127.0.0.1:25",
                          mail_from="innovate@corp.example")
    assert "create a guest account with a password" in (lock_warning(local, "erin@expert.example", None) or "")
    # Without mail a guest cannot confirm an address, so there are no guest accounts to suggest.
    unmailed = make_settings(employee_domains="corp.example", allow_local_guests=True)
    assert "ask an administrator to add a guest sign-in provider" in (lock_warning(unmailed, "erin@expert.example",
                                                                                  None) or "")
    guest_provider = json.dumps([{"name": "experts", "kind": "guest", "client_id": "innovate", "client_secret": "s",
                                  "discovery_url": "https://id.expert.example/.well-known/openid-configuration"}])
    vouched = make_settings(employee_domains="corp.example", oidc_providers=guest_provider)
    assert lock_warning(vouched, "erin@expert.example", None) is None
    assert lock_warning(vouched, None, "expert.example") is None
    assert lock_warning(local, None, None) is None
