"""Sign-in provider configuration, read from ``INNOVATE_OIDC_PROVIDERS`` (a JSON list).

Each entry describes one OpenID Connect provider (or GitHub, which speaks plain OAuth2)::

    {"name": "corp", "display_name": "Contoso SSO", "kind": "employee",
     "issuer": "https://login.microsoftonline.com/<tenant>/v2.0",
     "client_id": "...", "client_secret": "...",
     "employee_domains": ["contoso.com"], "require_claim": {"tid": "<tenant>"}}

Presets fill in the well-known endpoints: ``google``, ``microsoft`` (personal accounts) and
``github``. This module only parses and validates; :mod:`innovate.auth.oidc` registers the
clients with Authlib.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

KINDS = ("employee", "guest")
PROTOCOLS = ("oidc", "github")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9-]+(\.[a-z0-9-]+)+$")
RESERVED_NAMES = frozenset({"local"})
OIDC_SCOPE = "openid email profile"

PRESETS: dict[str, dict[str, Any]] = {
    "google": {
        "display_name": "Google",
        "kind": "guest",
        "issuer": "https://accounts.google.com",
    },
    # Personal Microsoft accounts: the "consumers" tenant has a fixed issuer, so iss can be checked.
    "microsoft": {
        "display_name": "Microsoft account",
        "kind": "guest",
        "issuer": "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
        "discovery_url": "https://login.microsoftonline.com/consumers/v2.0/.well-known/openid-configuration",
    },
    "github": {
        "display_name": "GitHub",
        "kind": "guest",
        "protocol": "github",
        "issuer": "https://github.com",
        "authorize_url": "https://github.com/login/oauth/authorize",
        "token_url": "https://github.com/login/oauth/access_token",
        "api_base_url": "https://api.github.com/",
        "scope": "read:user user:email",
    },
}

_KNOWN_KEYS = frozenset({
    "name", "display_name", "kind", "preset", "protocol", "issuer", "discovery_url", "client_id",
    "client_secret", "employee_domains", "require_claim", "scope", "token_endpoint_auth_method",
    "authorize_url", "token_url", "api_base_url",
})
_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")


class ProviderConfigError(ValueError):
    """One provider entry is wrong; the message is one line naming the entry."""


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    display_name: str
    kind: str
    protocol: str
    client_id: str
    client_secret: str
    issuer: str
    discovery_url: str | None
    scope: str
    token_endpoint_auth_method: str
    employee_domains: tuple[str, ...] = ()
    require_claim: dict[str, str] = field(default_factory=dict)
    authorize_url: str | None = None
    token_url: str | None = None
    api_base_url: str | None = None
    preset: str | None = None

    @property
    def is_employee_provider(self) -> bool:
        return self.kind == "employee"

    def public(self) -> dict[str, str]:
        """What the sign-in page needs to show a button."""
        return {"name": self.name, "display_name": self.display_name, "kind": self.kind}


def _http_url(value: Any, where: str, key: str) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+", value):
        raise ProviderConfigError(f"{where}: {key} must be an http(s) URL")
    return value.rstrip("/") if key == "issuer" else value


def _text(entry: dict[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = entry.get(key)
    if value is None or value == "":
        if required:
            raise ProviderConfigError(f"{where}: {key} is required")
        return None
    if not isinstance(value, str):
        raise ProviderConfigError(f"{where}: {key} must be a string")
    return value


def _domains(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [d for d in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(d, str) for d in value):
        raise ProviderConfigError(f"{where}: employee_domains must be a list of domains")
    domains = tuple(d.strip().lower().lstrip("@") for d in value if d.strip())
    for domain in domains:
        if not DOMAIN_RE.match(domain):
            raise ProviderConfigError(f"{where}: employee_domains has an invalid domain {domain!r}")
    return domains


def _claims(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not value or not all(
        isinstance(k, str) and k and isinstance(v, (str, int, bool)) for k, v in value.items()
    ):
        raise ProviderConfigError(f"{where}: require_claim must be an object like {{\"tid\": \"<tenant id>\"}}")
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in value.items()}


def parse_provider(entry: Any, index: int, default_domains: tuple[str, ...] = ()) -> ProviderConfig:
    where = f"provider {index + 1}"
    if not isinstance(entry, dict):
        raise ProviderConfigError(f"{where}: expected an object")
    name = entry.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name) or name in RESERVED_NAMES:
        raise ProviderConfigError(f"{where}: name must be 1-32 lowercase letters, digits or '-' (not 'local')")
    where = f"provider {name!r}"
    unknown = sorted(set(entry) - _KNOWN_KEYS)
    if unknown:
        raise ProviderConfigError(f"{where}: unknown key {unknown[0]!r}")

    preset_name = _text(entry, "preset", where)
    if preset_name is not None and preset_name not in PRESETS:
        raise ProviderConfigError(f"{where}: preset must be one of {', '.join(PRESETS)}")
    values: dict[str, Any] = dict(PRESETS.get(preset_name or "", {}))
    values.update({k: v for k, v in entry.items() if v is not None})

    kind = values.get("kind", "employee")
    if kind not in KINDS:
        raise ProviderConfigError(f"{where}: kind must be employee or guest")
    protocol = values.get("protocol", "oidc")
    if protocol not in PROTOCOLS:
        raise ProviderConfigError(f"{where}: protocol must be oidc or github")
    client_id = _text(values, "client_id", where, required=True)
    client_secret = _text(values, "client_secret", where) or ""
    method = values.get("token_endpoint_auth_method") or ("client_secret_basic" if client_secret else "none")
    if method not in _AUTH_METHODS:
        raise ProviderConfigError(f"{where}: token_endpoint_auth_method must be one of {', '.join(_AUTH_METHODS)}")
    if method != "none" and not client_secret:
        raise ProviderConfigError(f"{where}: client_secret is required for {method}")

    issuer = values.get("issuer")
    discovery = values.get("discovery_url")
    if protocol == "oidc":
        if not issuer and not discovery:
            raise ProviderConfigError(f"{where}: issuer or discovery_url is required")
        if discovery:
            discovery = _http_url(discovery, where, "discovery_url")
        if issuer:
            issuer = _http_url(issuer, where, "issuer")
        else:
            issuer = ""  # learnt from the discovery document
        if not discovery:
            discovery = f"{issuer}/.well-known/openid-configuration"
    else:
        issuer = _http_url(issuer or "https://github.com", where, "issuer")
        for key in ("authorize_url", "token_url", "api_base_url"):
            if not values.get(key):
                raise ProviderConfigError(f"{where}: {key} is required for protocol github")
            _http_url(values[key], where, key)

    employee_domains = _domains(values.get("employee_domains"), where)
    require_claim = _claims(values.get("require_claim"), where)
    if kind == "employee":
        if protocol != "oidc":
            raise ProviderConfigError(f"{where}: GitHub can only be a guest provider (kind: guest)")
        employee_domains = employee_domains or default_domains
        if not employee_domains and not require_claim:
            raise ProviderConfigError(
                f"{where}: an employee provider needs employee_domains (or INNOVATE_EMPLOYEE_DOMAINS) and/or require_claim"
            )
    elif employee_domains or require_claim:
        raise ProviderConfigError(f"{where}: employee_domains and require_claim only apply to kind employee")

    display_name = _text(values, "display_name", where) or name
    if len(display_name) > 60:
        raise ProviderConfigError(f"{where}: display_name must be at most 60 characters")
    scope = _text(values, "scope", where) or OIDC_SCOPE
    if protocol == "oidc" and "openid" not in scope.split():
        raise ProviderConfigError(f"{where}: scope must include openid")

    return ProviderConfig(
        name=name,
        display_name=display_name,
        kind=kind,
        protocol=protocol,
        client_id=client_id or "",
        client_secret=client_secret,
        issuer=issuer,
        discovery_url=discovery if protocol == "oidc" else None,
        scope=scope,
        token_endpoint_auth_method=method,
        employee_domains=employee_domains,
        require_claim=require_claim,
        authorize_url=values.get("authorize_url") if protocol == "github" else None,
        token_url=values.get("token_url") if protocol == "github" else None,
        api_base_url=values.get("api_base_url") if protocol == "github" else None,
        preset=preset_name,
    )


def parse_providers(raw: str, default_domains: tuple[str, ...] | list[str] = ()) -> list[ProviderConfig]:
    """Parse the JSON setting; raise :class:`ProviderConfigError` with one readable line."""
    if not raw or not raw.strip():
        return []
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ProviderConfigError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ProviderConfigError("expected a JSON list of provider objects")
    providers = [parse_provider(entry, i, tuple(default_domains)) for i, entry in enumerate(data)]
    seen: set[str] = set()
    for provider in providers:
        if provider.name in seen:
            raise ProviderConfigError(f"provider {provider.name!r}: the name is used twice")
        seen.add(provider.name)
    return providers
