"""OpenID Connect / OAuth2 sign-in through Authlib's Starlette client.

One Authlib client is registered per configured provider (:mod:`innovate.auth.providers`).
Every flow uses PKCE (S256), a ``state`` kept in the server-side session and, for OpenID
Connect, a ``nonce``; Authlib validates the ID token's signature, ``iss``, ``aud``, ``exp``
and ``nonce``. The redirect URI is built from ``INNOVATE_PUBLIC_URL``, never from the
request's Host header, and each provider has its own callback path.

What comes back is an :class:`ExternalIdentity`: the (issuer, subject) pair that keys the
account, plus the e-mail and whether the provider vouched for it.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

from authlib.common.errors import AuthlibBaseError
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client import MismatchingStateError
from joserfc.errors import JoseError

with warnings.catch_warnings():
    # Authlib 1.9 announces, on import, that it falls back from httpx2 to httpx; httpx is what
    # this project pins, so the notice would only be noise on every start.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from starlette.requests import Request

from innovate.errors import NotFound
from innovate.i18n import lazy_gettext
from innovate.resources import Resources
from innovate.settings import Settings
from innovate.settings.providers import ProviderConfig

try:  # Authlib's HTTP client prefers httpx2 and falls back to httpx; catch whichever it uses.
    import httpx2 as _http  # type: ignore[import-not-found]
except ImportError:
    import httpx as _http

log = logging.getLogger("innovate.oidc")

HTTP_TIMEOUT = 10.0
EXTRAS_KEY = "sign_in"


@dataclass(frozen=True)
class ExternalIdentity:
    """Who the provider says signed in. Accounts are keyed by (issuer, subject) only."""

    provider: str
    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def verified_email(self) -> str | None:
        return self.email.lower() if self.email and self.email_verified else None


class SignInFailed(Exception):
    """The provider's answer was refused; ``message`` is safe to show, ``status`` is 400 or 502."""

    def __init__(self, message: str, *, status: int = 400, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail


def _claim_true(value: Any) -> bool:
    # Some providers send booleans as strings.
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_employee(provider: ProviderConfig, identity: ExternalIdentity) -> bool:
    """An identity counts as an employee only through an employee provider whose rules all hold:
    a verified e-mail in an allowed domain (if domains are set) and the required claims (if set)."""
    if not provider.is_employee_provider:
        return False
    checks: list[bool] = []
    if provider.employee_domains:
        email = identity.verified_email
        checks.append(email is not None and email.rpartition("@")[2] in provider.employee_domains)
    if provider.require_claim:
        checks.append(all(_claim_matches(identity.claims, name, expected)
                          for name, expected in provider.require_claim.items()))
    return bool(checks) and all(checks)


def _claim_matches(claims: dict[str, Any], name: str, expected: str) -> bool:
    if name not in claims or claims[name] is None:
        return False
    value = claims[name]
    return (str(value).lower() if isinstance(value, bool) else str(value)) == expected


class SignInProviders:
    """The configured providers and their Authlib clients, built once per app."""

    def __init__(self, settings: Settings) -> None:
        self.public_url = settings.public_url
        self.configs: dict[str, ProviderConfig] = {p.name: p for p in settings.sign_in_providers}
        self.oauth = OAuth()
        for provider in self.configs.values():
            self._register(provider)

    def _register(self, provider: ProviderConfig) -> None:
        client_kwargs: dict[str, Any] = {
            "code_challenge_method": "S256",
            "scope": provider.scope,
            "token_endpoint_auth_method": provider.token_endpoint_auth_method,
            "timeout": HTTP_TIMEOUT,
        }
        common: dict[str, Any] = {
            "name": provider.name,
            "client_id": provider.client_id,
            "client_secret": provider.client_secret or None,
            "client_kwargs": client_kwargs,
        }
        if provider.protocol == "oidc":
            self.oauth.register(server_metadata_url=provider.discovery_url, **common)
        else:
            self.oauth.register(
                authorize_url=provider.authorize_url,
                access_token_url=provider.token_url,
                api_base_url=provider.api_base_url,
                **common,
            )

    def public_list(self) -> list[dict[str, str]]:
        return [p.public() for p in self.configs.values()]

    def config(self, name: str) -> ProviderConfig:
        provider = self.configs.get(name)
        if provider is None:
            raise NotFound(lazy_gettext("No such sign-in provider."))
        return provider

    def client(self, name: str) -> StarletteOAuth2App:
        self.config(name)
        return self.oauth.create_client(name)

    def redirect_uri(self, name: str) -> str:
        # From the configured public URL: a spoofed Host header cannot redirect codes elsewhere.
        return f"{self.public_url}/auth/{name}/callback"

    async def authorization_url(self, request: Request, name: str) -> tuple[str, str]:
        """Start a flow: remember state, nonce and PKCE verifier in the session; return (url, state)."""
        client = self.client(name)
        try:
            result = await client.create_authorization_url(self.redirect_uri(name))
        except (_http.HTTPError, AuthlibBaseError, ValueError, RuntimeError) as exc:
            log.warning("sign-in with %s could not start: %s", name, exc)
            raise SignInFailed(lazy_gettext("%(provider)s cannot be reached right now; try again later.",
                                            provider=self.config(name).display_name),
                               status=502, detail=str(exc)) from None
        await client.save_authorize_data(request, redirect_uri=self.redirect_uri(name), **result)
        return str(result["url"]), str(result["state"])

    async def finish(self, request: Request, name: str) -> ExternalIdentity:
        """Complete the flow at the callback: check state, exchange the code, verify the answer."""
        provider = self.config(name)
        client = self.client(name)
        error = request.query_params.get("error")
        if error:
            # Still spend the state so the same answer cannot be replayed.
            await client.framework.clear_state_data(request.session, request.query_params.get("state", ""))
            raise SignInFailed(
                lazy_gettext("%(provider)s did not sign you in (%(error)s). You can start again.",
                             provider=provider.display_name, error=error[:60]),
                detail=request.query_params.get("error_description", "")[:300])
        try:
            if provider.protocol == "oidc":
                return await self._finish_oidc(request, provider, client)
            return await self._finish_github(request, provider, client)
        except SignInFailed:
            raise
        except MismatchingStateError as exc:
            raise SignInFailed(lazy_gettext("This sign-in was already used or has expired (state did not match). "
                                            "Please start again."),
                               detail=str(exc)) from None
        except _http.HTTPError as exc:
            log.warning("sign-in with %s: provider unreachable: %s", name, exc)
            raise SignInFailed(lazy_gettext("%(provider)s cannot be reached right now; try again later.",
                                            provider=provider.display_name),
                               status=502, detail=str(exc)) from None
        except (AuthlibBaseError, JoseError, ValueError, KeyError, TypeError) as exc:
            log.info("sign-in with %s refused: %s: %s", name, type(exc).__name__, exc)
            raise SignInFailed(lazy_gettext("The answer from %(provider)s could not be verified. Please start again.",
                                            provider=provider.display_name),
                               detail=f"{type(exc).__name__}: {exc}") from None

    async def _finish_oidc(self, request: Request, provider: ProviderConfig,
                           client: StarletteOAuth2App) -> ExternalIdentity:
        metadata = await client.load_server_metadata()
        expected_issuer = str(metadata.get("issuer", "")).rstrip("/")
        if provider.issuer and expected_issuer != provider.issuer:
            raise SignInFailed(lazy_gettext("%(provider)s is misconfigured (its discovery document names another issuer).",
                                            provider=provider.display_name),
                               detail=f"discovery issuer {expected_issuer!r} != configured {provider.issuer!r}")
        # RFC 9207: an authorization response names its issuer; one from another provider is a mix-up.
        returned_issuer = request.query_params.get("iss")
        if returned_issuer is None and metadata.get("authorization_response_iss_parameter_supported") is True:
            raise SignInFailed(lazy_gettext("The answer did not say it came from %(provider)s. Please start again.",
                                            provider=provider.display_name),
                               detail="iss parameter missing although the provider sends it")
        if returned_issuer is not None and returned_issuer.rstrip("/") != expected_issuer:
            raise SignInFailed(lazy_gettext("The answer did not come from %(provider)s. Please start again.",
                                            provider=provider.display_name),
                               detail=f"iss parameter {returned_issuer!r} != {expected_issuer!r}")
        token = await client.authorize_access_token(request)
        claims = token.get("userinfo")
        if not claims:
            raise SignInFailed(lazy_gettext("%(provider)s did not send an ID token. Please start again.",
                                            provider=provider.display_name))
        data = dict(claims)
        if (not data.get("email") or "name" not in data) and metadata.get("userinfo_endpoint"):
            data = await self._merge_userinfo(client, token, data)
        issuer = str(data["iss"]).rstrip("/")
        if issuer != expected_issuer:  # parse_id_token checked iss; this keeps the key honest too
            raise SignInFailed(lazy_gettext("The answer did not come from %(provider)s. Please start again.",
                                            provider=provider.display_name))
        return _identity(provider.name, issuer, data)

    async def _merge_userinfo(self, client: StarletteOAuth2App, token: dict[str, Any],
                              data: dict[str, Any]) -> dict[str, Any]:
        """Fill e-mail and name from the userinfo endpoint (some providers keep ID tokens lean)."""
        try:
            info = dict(await client.userinfo(token=token))
        except (_http.HTTPError, AuthlibBaseError, ValueError):
            return data
        if info.get("sub") != data.get("sub"):
            return data  # userinfo for someone else must never be merged
        merged = dict(info)
        merged.update({k: v for k, v in data.items() if v is not None})
        return merged

    async def _finish_github(self, request: Request, provider: ProviderConfig,
                             client: StarletteOAuth2App) -> ExternalIdentity:
        token = await client.authorize_access_token(request)
        user_response = await client.get("user", token=token)
        user_response.raise_for_status()
        user = user_response.json()
        emails_response = await client.get("user/emails", token=token)
        emails_response.raise_for_status()
        emails = emails_response.json()
        # Only the primary address, and only if GitHub has verified it.
        primary = next((e for e in emails if isinstance(e, dict) and e.get("primary")), None) if isinstance(emails, list) else None
        email = primary.get("email") if primary and primary.get("verified") is True else None
        data = {
            "sub": str(user["id"]),
            "email": email,
            "email_verified": email is not None,
            "name": user.get("name") or user.get("login") or "",
            "login": user.get("login"),
        }
        return _identity(provider.name, provider.issuer, data)


def _identity(provider: str, issuer: str, data: dict[str, Any]) -> ExternalIdentity:
    subject = str(data.get("sub") or "")
    if not subject or len(subject) > 255:
        raise SignInFailed(lazy_gettext("The provider did not say who signed in. Please start again."))
    email = data.get("email") if isinstance(data.get("email"), str) else None
    if email is not None and (len(email) > 320 or "@" not in email):
        email = None
    name = next((str(data[k]) for k in ("name", "preferred_username", "login") if data.get(k)), "")
    if not name and email:
        name = email.split("@")[0]
    return ExternalIdentity(
        provider=provider,
        issuer=issuer,
        subject=subject,
        email=email,
        email_verified=email is not None and _claim_true(data.get("email_verified")),
        name=" ".join(name.split())[:120] or "Guest",
        claims={k: v for k, v in data.items() if isinstance(v, (str, int, float, bool)) or v is None},
    )


def sign_in_providers(resources: Resources) -> SignInProviders:
    """The app's providers (built on first use and kept in ``resources.extras``)."""
    providers = resources.extras.get(EXTRAS_KEY)
    if providers is None:
        providers = SignInProviders(resources.settings)
        resources.extras[EXTRAS_KEY] = providers
        resources.extras["login_providers"] = providers.public_list()
    return providers


def install(resources: Resources) -> None:
    """Called by the app's lifespan so the sign-in page lists the providers from the start."""
    sign_in_providers(resources)
