"""Single sign-on against real OpenID Connect providers (oidc-provider on Node), on both databases.

Covers employee SSO, the settings that configure it, PKCE/state/nonce/issuer checks, the
GitHub OAuth2 path (against a small fake of GitHub's endpoints), and explicit identity linking.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import socket
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from innovate.accounts.models import Identity, Session, User
from innovate.auth.identities import NotAnEmployeeAnyMore, sign_in_identity
from innovate.auth.oidc import ExternalIdentity, is_employee, sign_in_providers
from innovate.resources import Resources
from innovate.settings import Settings, SettingsError, load_settings
from innovate.settings.providers import parse_providers
from tests.clients import form_csrf
from tests.oidc_provider import OidcProvider
from tests.sso import (  # noqa: F401  (fixtures)
    APP,
    asgi_client,
    at_provider,
    corp_idp,
    ext_idp,
    settings_overrides,
    sso_settings,
    sso_sign_in,
    start_login,
)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return urlunsplit(parts._replace(query=urlencode(params)))


def with_origin(url: str, origin: str) -> str:
    parts, target = urlsplit(url), urlsplit(origin)
    return urlunsplit(parts._replace(scheme=target.scheme, netloc=target.netloc))


async def me(http: httpx.AsyncClient) -> dict[str, Any] | None:
    response = await http.get("/api/v1/me")
    return response.json() if response.status_code == 200 else None


# Employee sign-in ---------------------------------------------------------------------------------


async def test_employee_signs_in_with_sso(client: httpx.AsyncClient, corp_idp: OidcProvider,
                                          resources: Resources, settings: Settings) -> None:
    await client.get("/login")
    before = client.cookies.get(settings.session_cookie_name)
    authorize_url = await start_login(client, "corp", next_url="/account")
    params = query(authorize_url)
    assert authorize_url.startswith(f"{corp_idp.issuer}/")
    assert params["code_challenge"] and params["code_challenge_method"] == "S256"
    assert params["state"] and params["nonce"]
    assert params["redirect_uri"] == f"{APP}/auth/corp/callback"
    assert set(params["scope"].split()) == {"openid", "email", "profile"}

    response = await client.get(await at_provider(authorize_url, "alice"))
    assert response.status_code == 303 and response.headers["location"] == "/account"
    after = client.cookies.get(settings.session_cookie_name)
    assert after and after != before  # the session was rotated
    assert await me(client) == {"id": 1, "name": "Alice Corp", "email": "alice@corp.example", "kind": "employee",
                                "is_admin": False, "is_moderator": False, "locale": None}
    async with resources.db() as db:
        identity = (await db.execute(select(Identity))).scalar_one()
        old = (await db.execute(select(Session).where(Session.user_id.is_(None)))).scalars().all()
    assert (identity.issuer, identity.subject, identity.email_verified) == (corp_idp.issuer, "alice", True)
    assert all(s.revoked_at is not None for s in old)


async def test_second_sign_in_finds_the_same_account(app: Any, resources: Resources) -> None:
    for _ in range(2):
        async with asgi_client(app) as http:
            assert (await sso_sign_in(http, "corp", "bob")).status_code == 303
            assert (await me(http))["name"] == "Bob Corp"  # type: ignore[index]
    async with resources.db() as db:
        assert (await db.execute(select(func.count()).select_from(User))).scalar_one() == 1
        assert (await db.execute(select(func.count()).select_from(Identity))).scalar_one() == 1


@pytest.mark.parametrize(("account", "why"), [("olga", "another tenant"), ("mallory", "unverified e-mail")])
async def test_who_does_not_count_as_an_employee_is_refused(client: httpx.AsyncClient, resources: Resources,
                                                            account: str, why: str) -> None:
    response = await sso_sign_in(client, "corp", account)
    assert response.status_code == 403, why
    assert "guests can only join with an invite link" in response.text
    assert await me(client) is None
    async with resources.db() as db:
        assert (await db.execute(select(func.count()).select_from(User))).scalar_one() == 0


async def test_guest_provider_without_an_invite_is_refused(client: httpx.AsyncClient) -> None:
    response = await sso_sign_in(client, "experts", "erin")
    assert response.status_code == 403
    assert "invite link" in response.text
    assert await me(client) is None


async def test_email_never_links_an_identity_to_an_existing_account(client: httpx.AsyncClient, make_user,
                                                                    resources: Resources) -> None:
    alice = await make_user("alice@corp.example", name="Alice Local")
    # The outside provider vouches for alice@corp.example, but it is another issuer: no account.
    response = await sso_sign_in(client, "experts", "alice")
    assert response.status_code == 403
    assert await me(client) is None
    async with resources.db() as db:
        issuers = (await db.execute(select(Identity.issuer).where(Identity.user_id == alice.id))).scalars().all()
    assert issuers == ["local"]


async def test_employee_account_needs_a_sign_in_that_still_counts(app: Any, corp_idp: OidcProvider,
                                                                  resources: Resources) -> None:
    async with asgi_client(app) as http:
        assert (await sso_sign_in(http, "corp", "alice")).status_code == 303
    # Later the same (issuer, sub) no longer satisfies the rules (moved tenant, address unverified):
    moved = ExternalIdentity(provider="corp", issuer=corp_idp.issuer, subject="alice", email="alice@corp.example",
                             email_verified=True, name="Alice Corp", claims={"tid": "tenant-2"})
    provider = sign_in_providers(resources).config("corp")
    assert not is_employee(provider, moved)
    with pytest.raises(NotAnEmployeeAnyMore):
        await sign_in_identity(resources, moved, employee=False)


# Provider configuration -----------------------------------------------------------------------


def test_login_page_lists_every_provider_by_kind(corp_idp: OidcProvider, ext_idp: OidcProvider) -> None:
    providers = parse_providers(json.dumps([
        {"name": "corp", "issuer": corp_idp.issuer, "client_id": "a", "client_secret": "b",
         "employee_domains": ["corp.example"]},
        {"name": "google", "preset": "google", "client_id": "g", "client_secret": "s"},
        {"name": "ms", "preset": "microsoft", "client_id": "m", "client_secret": "s"},
        {"name": "github", "preset": "github", "client_id": "h", "client_secret": "s"},
    ]))
    by_name = {p.name: p for p in providers}
    assert by_name["corp"].kind == "employee" and by_name["corp"].discovery_url == \
        f"{corp_idp.issuer}/.well-known/openid-configuration"
    assert by_name["google"].kind == "guest" and by_name["google"].issuer == "https://accounts.google.com"
    assert (by_name["ms"].discovery_url or "").endswith("/consumers/v2.0/.well-known/openid-configuration")
    assert by_name["github"].protocol == "github" and by_name["github"].issuer == "https://github.com"
    assert by_name["github"].scope == "read:user user:email"


async def test_sign_in_page_shows_the_providers(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    assert 'action="/auth/corp/login"' in page.text and "Continue with Corp SSO" in page.text
    assert 'action="/auth/experts/login"' in page.text and "Invited guests" in page.text


@pytest.mark.parametrize(("value", "expected"), [
    ("[{", "INNOVATE_OIDC_PROVIDERS: not valid JSON"),
    ('[{"name": "corp", "issuer": "https://idp.example"}]', "INNOVATE_OIDC_PROVIDERS: provider 'corp': client_id is required"),
    ('[{"name": "Corp!", "issuer": "https://idp.example", "client_id": "x"}]', "INNOVATE_OIDC_PROVIDERS: provider 1: name must be"),
    ('[{"name": "corp", "client_id": "x", "client_secret": "y"}]', "INNOVATE_OIDC_PROVIDERS: provider 'corp': issuer or discovery_url is required"),
    ('[{"name": "corp", "issuer": "https://idp.example", "client_id": "x", "client_secret": "y"}]',
     "INNOVATE_OIDC_PROVIDERS: provider 'corp': an employee provider needs employee_domains"),
    ('[{"name": "g", "preset": "google", "client_id": "x", "client_secret": "y", "employee_domains": ["a.example"]}]',
     "INNOVATE_OIDC_PROVIDERS: provider 'g': employee_domains and require_claim only apply to kind employee"),
    ('[{"name": "g", "preset": "gmail", "client_id": "x"}]', "INNOVATE_OIDC_PROVIDERS: provider 'g': preset must be one of"),
    ('[{"name": "g", "preset": "google", "client_id": "x", "client_secret": "y"},'
     ' {"name": "g", "preset": "google", "client_id": "x", "client_secret": "y"}]',
     "INNOVATE_OIDC_PROVIDERS: provider 'g': the name is used twice"),
    ('[{"name": "corp", "issuer": "idp.example", "client_id": "x", "client_secret": "y", "require_claim": {"tid": "t"}}]',
     "INNOVATE_OIDC_PROVIDERS: provider 'corp': issuer must be an http(s) URL"),
    ('[{"name": "gh", "preset": "github", "kind": "employee", "client_id": "x", "client_secret": "y", "require_claim": {"a": "b"}}]',
     "INNOVATE_OIDC_PROVIDERS: provider 'gh': GitHub can only be a guest provider"),
    ('[{"name": "corp", "issuer": "https://idp.example", "client_id": "x", "client_secret": "y", "tennant": "t"}]',
     "INNOVATE_OIDC_PROVIDERS: provider 'corp': unknown key 'tennant'"),
])
def test_bad_provider_settings_stop_with_one_line(tmp_path, value: str, expected: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(data_dir=tmp_path, oidc_providers=value)
    assert str(info.value).startswith(expected), str(info.value)
    assert "\n" not in str(info.value)


def test_global_employee_domains_apply_to_employee_providers(tmp_path) -> None:
    settings = load_settings(data_dir=tmp_path, employee_domains="corp.example, Corp2.example",
                             oidc_providers='[{"name": "corp", "issuer": "https://idp.example", "client_id": "x",'
                                            ' "client_secret": "y"}]')
    assert settings.sign_in_providers[0].employee_domains == ("corp.example", "corp2.example")


# Protocol checks: state, nonce, issuer -----------------------------------------------------------


async def test_replayed_state_is_refused(client: httpx.AsyncClient, app: Any) -> None:
    callback = await at_provider(await start_login(client, "corp"), "alice")
    assert (await client.get(callback)).status_code == 303
    replay = await client.get(callback)  # same browser, state already spent
    assert replay.status_code == 400 and "already used or has expired" in replay.text
    async with asgi_client(app) as stranger:  # another browser entirely
        stolen = await stranger.get(callback)
        assert stolen.status_code == 400
        assert await me(stranger) is None


async def test_wrong_state_is_refused(client: httpx.AsyncClient) -> None:
    callback = await at_provider(await start_login(client, "corp"), "alice")
    response = await client.get(with_query(callback, state="forged-" + secrets.token_urlsafe(8)))
    assert response.status_code == 400 and "state did not match" in response.text
    assert await me(client) is None
    missing = await client.get(with_query(callback, state=None))
    assert missing.status_code == 400 and await me(client) is None


async def test_nonce_mismatch_is_refused(client: httpx.AsyncClient) -> None:
    authorize_url = await start_login(client, "corp")
    # The provider signs whatever nonce it was sent; the app must compare it with its own.
    callback = await at_provider(with_query(authorize_url, nonce="not-the-nonce-we-sent"), "alice")
    response = await client.get(callback)
    assert response.status_code == 400 and "could not be verified" in response.text
    assert await me(client) is None


async def test_answer_from_another_issuer_is_refused(client: httpx.AsyncClient, ext_idp: OidcProvider) -> None:
    authorize_url = await start_login(client, "corp")
    # The other provider knows the same client id and redirect URI (a mix-up attempt).
    callback = await at_provider(with_origin(authorize_url, ext_idp.issuer), "erin")
    assert query(callback)["iss"] == ext_idp.issuer
    response = await client.get(callback)
    assert response.status_code == 400 and "did not come from Corp SSO" in response.text
    assert await me(client) is None


async def test_id_token_from_another_issuer_is_refused(client: httpx.AsyncClient, ext_idp: OidcProvider,
                                                       resources: Resources) -> None:
    # A token endpoint that hands out another issuer's (validly signed) ID token.
    corp = sign_in_providers(resources).client("corp")
    await corp.load_server_metadata()
    corp.server_metadata.update(token_endpoint=f"{ext_idp.issuer}/token", jwks_uri=f"{ext_idp.issuer}/jwks",
                                authorization_response_iss_parameter_supported=False)
    corp.server_metadata.pop("jwks", None)
    authorize_url = await start_login(client, "corp")
    callback = await at_provider(with_origin(authorize_url, ext_idp.issuer), "erin")
    response = await client.get(with_query(callback, iss=None))  # a provider that omits RFC 9207 iss
    assert response.status_code == 400 and "could not be verified" in response.text
    assert await me(client) is None


async def test_missing_iss_parameter_is_refused_when_the_provider_sends_it(client: httpx.AsyncClient) -> None:
    callback = await at_provider(await start_login(client, "corp"), "alice")
    response = await client.get(with_query(callback, iss=None))
    assert response.status_code == 400 and "did not say it came from Corp SSO" in response.text
    assert await me(client) is None


async def test_provider_error_and_unknown_provider(client: httpx.AsyncClient) -> None:
    authorize_url = await start_login(client, "corp")
    state = query(authorize_url)["state"]
    denied = await client.get(f"/auth/corp/callback?error=access_denied&state={state}")
    assert denied.status_code == 400 and "did not sign you in" in denied.text
    assert (await client.get(f"/auth/corp/callback?code=x&state={state}")).status_code == 400
    assert (await client.get("/auth/nope/callback?code=x&state=y")).status_code == 404
    page = await client.get("/login")
    assert (await client.post("/auth/nope/login", data={"csrf_token": form_csrf(page.text)})).status_code == 404


async def test_login_needs_the_csrf_token(client: httpx.AsyncClient) -> None:
    await client.get("/login")
    assert (await client.post("/auth/corp/login", data={"next": "/"})).status_code == 403


async def test_redirect_uri_ignores_the_host_header(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    response = await client.post("/auth/corp/login", data={"csrf_token": form_csrf(page.text)},
                                 headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    assert response.status_code == 303
    assert query(response.headers["location"])["redirect_uri"] == f"{APP}/auth/corp/callback"


async def test_unreachable_provider_is_a_clear_page(make_settings, tmp_path) -> None:
    from innovate.app import create_app, open_resources

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    settings = make_settings(oidc_providers=json.dumps([{
        "name": "corp", "issuer": dead, "client_id": "x", "client_secret": "y", "employee_domains": ["corp.example"]}]))
    res = await open_resources(settings)
    app = create_app(settings, resources=res)
    try:
        async with app.router.lifespan_context(app), asgi_client(app) as http:
            page = await http.get("/login")
            response = await http.post("/auth/corp/login", data={"csrf_token": form_csrf(page.text)})
            assert response.status_code == 502 and "cannot be reached" in response.text
    finally:
        if not settings.is_sqlite:
            from tests import databases

            await databases.empty_all_tables(res.engine)
        await res.engine.dispose()


# Linking ------------------------------------------------------------------------------------------


async def test_linking_is_an_explicit_action(app: Any, make_user, sign_in, resources: Resources) -> None:
    carol = await make_user("carol@corp.example", name="Carol")
    http = await sign_in(carol)
    account = await http.get("/account")
    assert "Link Corp SSO" in account.text and "Link Expert ID" not in account.text  # employees link company sign-ins
    response = await http.post("/account/identities/corp/link")
    assert response.status_code == 303
    callback = await at_provider(response.headers["location"], "bob")
    linked = await http.get(callback)
    assert linked.status_code == 303 and linked.headers["location"] == "/account?done=linked"
    assert "Corp SSO" in (await http.get("/account")).text

    async with asgi_client(app) as other:  # bob's corp sign-in now opens Carol's account
        assert (await sso_sign_in(other, "corp", "bob")).status_code == 303
        assert (await me(other))["email"] == "carol@corp.example"  # type: ignore[index]

    dave = await make_user("dave@corp.example", name="Dave")
    dave_http = await sign_in(dave)
    taken = await dave_http.post("/account/identities/corp/link")
    refused = await dave_http.get(await at_provider(taken.headers["location"], "bob"))
    assert refused.status_code == 409 and "another Innovate account" in refused.text

    # A guest-provider sign-in cannot open an employee account.
    guest_link = await dave_http.post("/account/identities/experts/link")
    refused = await dave_http.get(await at_provider(guest_link.headers["location"], "erin"))
    assert refused.status_code == 403

    async with resources.db() as db:
        identity_id = (await db.execute(
            select(Identity.id).where(Identity.user_id == carol.id, Identity.issuer != "local"))).scalar_one()
        local_id = (await db.execute(
            select(Identity.id).where(Identity.user_id == carol.id, Identity.issuer == "local"))).scalar_one()
    assert (await http.post(f"/account/identities/{identity_id}/unlink")).status_code == 303
    last = await http.post(f"/account/identities/{local_id}/unlink")
    assert last.status_code == 409 and "only way to sign in" in last.text


async def test_account_page_needs_a_signed_in_browser(client: httpx.AsyncClient) -> None:
    response = await client.get("/account", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/account"
    await client.get("/login")
    await refresh_csrf_anonymous(client)
    assert (await client.post("/account/identities/corp/link")).status_code == 401


async def refresh_csrf_anonymous(http: httpx.AsyncClient) -> None:
    page = await http.get("/login")
    http.headers["X-CSRF-Token"] = form_csrf(page.text)


async def test_deactivated_account_cannot_sign_in_with_sso(app: Any, make_user, sign_in,
                                                           resources: Resources) -> None:
    admin = await make_user("root@corp.example", is_admin=True)
    admin_http = await sign_in(admin)
    async with asgi_client(app) as http:
        assert (await sso_sign_in(http, "corp", "alice")).status_code == 303
        alice_id = (await me(http))["id"]  # type: ignore[index]
        response = await admin_http.post(f"/api/v1/users/{alice_id}/deactivate", json={"reason": "left"})
        assert response.status_code == 200 and response.json()["is_active"] is False
        assert await me(http) is None  # the open session is gone
        again = await sso_sign_in(http, "corp", "alice")
        assert again.status_code == 403 and "deactivated" in again.text


# GitHub (OAuth2 with the verified primary e-mail) ---------------------------------------------------


class FakeGitHub:
    """GitHub's OAuth endpoints and the two API calls we make, with PKCE checked."""

    def __init__(self, emails: list[dict[str, Any]]) -> None:
        self.emails = emails
        self.codes: dict[str, dict[str, str]] = {}
        self.authorize_params: dict[str, str] = {}
        self.app = Starlette(routes=[
            Route("/login/oauth/authorize", self.authorize),
            Route("/login/oauth/access_token", self.token, methods=["POST"]),
            Route("/api/user", self.user),
            Route("/api/user/emails", self.user_emails),
        ])
        self.url = ""

    async def authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.authorize_params = params
        code = secrets.token_urlsafe(8)
        self.codes[code] = params
        return RedirectResponse(f"{params['redirect_uri']}?{urlencode({'code': code, 'state': params['state']})}", 302)

    async def token(self, request: Request) -> Response:
        form = dict(await request.form())
        auth = request.headers.get("authorization", "")
        if auth.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            form.setdefault("client_id", client_id)
            form.setdefault("client_secret", secret)
        sent = self.codes.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if sent is None or form.get("client_secret") != "gh-secret" or challenge != sent.get("code_challenge"):
            return JSONResponse({"error": "bad_verification_code"})
        return JSONResponse({"access_token": "gho_test", "token_type": "bearer", "scope": "read:user,user:email"})

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == "Bearer gho_test"

    async def user(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"message": "Bad credentials"}, 401)
        return JSONResponse({"id": 4242, "login": "octo", "name": "Octo Cat"})

    async def user_emails(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"message": "Bad credentials"}, 401)
        return JSONResponse(self.emails)


@pytest.fixture
async def fake_github() -> AsyncIterator[FakeGitHub]:
    github = FakeGitHub(emails=[
        {"email": "octo@personal.example", "primary": False, "verified": True},
        {"email": "octo@expert.example", "primary": True, "verified": True},
    ])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    github.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(github.app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    yield github
    server.should_exit = True
    await task
    sock.close()


class TestGitHub:
    @pytest.fixture
    def settings_overrides(self, corp_idp: OidcProvider, ext_idp: OidcProvider, request) -> dict[str, Any]:
        github = request.getfixturevalue("fake_github")
        providers = json.loads(sso_settings(corp_idp, ext_idp)["oidc_providers"]) + [{
            "name": "github", "preset": "github", "client_id": "gh-client", "client_secret": "gh-secret",
            "authorize_url": f"{github.url}/login/oauth/authorize",
            "token_url": f"{github.url}/login/oauth/access_token", "api_base_url": f"{github.url}/api/"}]
        return {"oidc_providers": json.dumps(providers)}

    async def _join_with_github(self, client: httpx.AsyncClient, invite_url: str) -> httpx.Response:
        token_path = urlsplit(invite_url).path
        page = await client.get(token_path)
        assert "Continue with GitHub" in page.text
        start = await client.post(token_path, data={"csrf_token": form_csrf(page.text), "provider": "github"})
        assert start.status_code == 303
        async with httpx.AsyncClient() as net:
            back = await net.get(start.headers["location"])
        return await client.get(back.headers["location"])

    async def test_guest_joins_with_github(self, client: httpx.AsyncClient, fake_github: FakeGitHub,
                                           resources: Resources, make_user, sign_in) -> None:
        from tests.factories import make_room

        moderator = await make_user("hr@corp.example", is_moderator=True)
        room = await make_room(resources, moderator)
        hr = await sign_in(moderator)
        created = await hr.post(f"/api/v1/rooms/{room.slug}/invites", json={"email": "octo@expert.example"})
        assert created.status_code == 201
        response = await self._join_with_github(client, created.json()["url"])
        assert response.status_code == 303 and response.headers["location"] == f"/rooms/{room.slug}"
        assert fake_github.authorize_params["code_challenge_method"] == "S256"
        assert fake_github.authorize_params["code_challenge"]
        assert (await me(client)) == {"id": 2, "name": "Octo Cat", "email": "octo@expert.example", "kind": "guest",
                                      "is_admin": False, "is_moderator": False, "locale": None}
        async with resources.db() as db:
            identity = (await db.execute(select(Identity).where(Identity.user_id == 2))).scalar_one()
        assert (identity.issuer, identity.subject, identity.email_verified) == ("https://github.com", "4242", True)

    async def test_unverified_primary_email_is_no_email(self, client: httpx.AsyncClient, fake_github: FakeGitHub,
                                                        resources: Resources, make_user, sign_in) -> None:
        from tests.factories import make_room

        fake_github.emails = [{"email": "octo@expert.example", "primary": True, "verified": False},
                              {"email": "octo@other.example", "primary": False, "verified": True}]
        moderator = await make_user("hr@corp.example", is_moderator=True)
        room = await make_room(resources, moderator)
        hr = await sign_in(moderator)
        created = await hr.post(f"/api/v1/rooms/{room.slug}/invites", json={"email": "octo@expert.example"})
        response = await self._join_with_github(client, created.json()["url"])
        assert response.status_code == 403 and "particular e-mail address" in response.text
        assert await me(client) is None
