"""Invitations by mail: on a site with e-mail, an invited colleague gets a mail with a one-time
link (never shown to the administrator), or, with single sign-on configured, is told to use it."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from innovate.resources import Resources
from tests.clients import form_csrf
from tests.mail_support import FAST_MAIL, Sink, parts, sink, wait_until

__all__ = ["sink"]


@pytest.fixture
def settings_overrides(sink: Sink) -> dict[str, Any]:
    return {"smtp_url": f"smtp://127.0.0.1:{sink.port}", **FAST_MAIL}


async def test_an_invitation_is_mailed_and_its_link_sets_the_password(
        resources: Resources, make_user: Any, sign_in: Any, app: Any, sink: Sink) -> None:
    admin = await make_user("root@corp.example", name="Ada Admin", is_admin=True)
    http = await sign_in(admin)
    answer = await http.post("/api/v1/admin/people/invitations", json={"email": "lin@corp.example", "name": "Lin"})
    assert answer.status_code == 201, answer.text
    [invited] = answer.json()["invited"]
    assert "url" not in invited  # mailed: the administrator never handles the link
    [mail] = await wait_until(lambda: sink.to("lin@corp.example"), what="the invitation")
    assert mail["Subject"] == "Ada Admin invites you to Innovate"
    text, html = parts(mail)
    url = re.search(r"http://testserver/set-password/\S+", text)
    assert url is not None and url.group(0) in html
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as lin:
        path = url.group(0).removeprefix("http://testserver")
        form = await lin.get(path)
        done = await lin.post(path, data={"csrf_token": form_csrf(form.text), "password": "lin's long password",
                                          "password_confirm": "lin's long password"})
        assert done.status_code == 303 and done.headers["location"] == "/"
        assert (await lin.get("/api/v1/me")).json()["email"] == "lin@corp.example"
    # Lin can sign in now: there is no invitation left to send again.
    again = await http.post(f"/api/v1/admin/people/{invited['id']}/invitation", json={})
    assert again.status_code == 409  # Lin can sign in now: nothing to resend
