"""Every setting, read once from the environment (``INNOVATE_*``) or ``.env``.

A bad value stops the process with one line naming the setting and what is
expected; :func:`load_settings` raises :class:`SettingsError` carrying that line.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from innovate.settings.providers import ProviderConfig

# Templates and static files ship inside the package (package data).
PACKAGE_DIR = Path(__file__).resolve().parents[1]
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"


class SettingsError(Exception):
    """A setting is missing or invalid; ``str(err)`` is the one line to print."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="INNOVATE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    data_dir: Path = Field(default=Path("data"), description="Where the embedded database and generated secret live.")
    database_url: str = Field(default="", description="SQLAlchemy URL; default: SQLite file in the data directory.")
    database_pool_size: int = Field(default=20, ge=1, le=500,
                                    description="PostgreSQL connections each process keeps open (a fixed pool).")
    public_url: str = Field(default="http://127.0.0.1:8000", description="The origin users reach the app at.")
    secret_key: str = Field(default="", description="At least 32 characters; generated into the data directory when unset.")
    broker: str = Field(default="memory", description="memory | postgres | redis://host:port/db | redis-cluster://host:port,host:port")
    session_lifetime_hours: int = Field(default=24 * 14, ge=1, le=24 * 365)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    company_name: str = Field(default="Innovate", min_length=1, max_length=80,
                              description="The company's name on public pages, feeds and share images.")
    public_forms_per_hour: int = Field(default=20, ge=1, description="Posts of the public forms one IP address may send per hour.")
    upload_max_bytes: int = Field(default=8_388_608, ge=1024, description="Largest picture file one upload may carry.")
    ws_max_frame_bytes: int = Field(default=16_384, ge=256)
    ws_queue_size: int = Field(default=256, ge=8)
    ws_replay_limit: int = Field(default=1000, ge=10)
    ws_messages_per_second: float = Field(default=20.0, gt=0)
    ws_idle_timeout_seconds: float = Field(default=60.0, gt=0)
    scheduler_interval_seconds: float = Field(default=15.0, ge=0, description="How often scheduled phase changes are applied; 0 turns the scheduler off.")
    ws_presence_seconds: float = Field(default=15.0, gt=0, description="How often each process re-announces who is in its rooms.")
    ws_recheck_seconds: float = Field(default=30.0, gt=0, description="How often open sockets re-check their session and membership.")
    auth_cache_seconds: float = Field(default=5.0, ge=0, description="How long each process may answer a bearer token from memory; revocation, sign-out and deactivation still apply at once. 0 looks every token up.")
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    allow_local_guests: bool = Field(default=False, description="Let invited guests make a password account, confirmed by e-mail (needs INNOVATE_SMTP_URL).")
    guest_signups_per_hour: int = Field(default=30, ge=1, description="Local guest sign-ups one IP address may ask for per hour.")
    employee_domains: str = Field(default="", description="Comma-separated e-mail domains that count as employees.")
    metrics_token: str = Field(default="", description="Bearer token that /metrics requires; empty: /metrics answers 404.")
    metrics_port: int = Field(default=0, ge=0, le=65535,
                              description="Serve /metrics on this port of its own (from `innovate serve`) instead of the app's port; 0: off.")
    oidc_providers: str = Field(default="", description="JSON list of sign-in providers (see innovate.auth.providers).")
    invite_attempts_per_ip: int = Field(default=100, ge=1, description="Invite-link requests allowed per IP in each window.")
    invite_attempt_window_seconds: int = Field(default=900, ge=1)
    invites_per_moderator_per_day: int = Field(default=100, ge=1)
    community_guests: bool = Field(default=False, description="Let community owners invite guests.")
    communities_per_employee: int = Field(default=5, ge=0,
                                          description="Communities one employee may own at once (not archived); admins have no limit.")
    join_requests_per_day: int = Field(default=10, ge=1,
                                       description="Requests to join communities one employee may send per day (withdrawn ones count).")
    join_request_cooldown_days: int = Field(default=30, ge=0, le=3650,
                                            description="Days after a declined request before the same person may ask that community again.")
    guest_access_days: int = Field(default=90, ge=0, le=730, description="Days a guest keeps a room after joining, unless the invite says otherwise; 0: until the room closes.")
    guest_retention_days: int = Field(default=180, ge=1, description="Days after a guest lost their last room before their account is anonymised.")
    # Spam and abuse limits, per member and room; guests get the stricter guest_* values and
    # room moderators none.
    posts_per_minute: int = Field(default=10, ge=1, description="Messages a member may post per minute.")
    guest_posts_per_minute: int = Field(default=3, ge=1)
    ideas_per_hour: int = Field(default=10, ge=1, description="Ideas a member may submit per hour.")
    guest_ideas_per_hour: int = Field(default=3, ge=1)
    votes_per_minute: int = Field(default=60, ge=1, description="Votes a member may cast or retract per minute.")
    guest_votes_per_minute: int = Field(default=20, ge=1)
    links_per_post: int = Field(default=10, ge=0, description="Links allowed in one message or idea.")
    guest_links_per_post: int = Field(default=2, ge=0)
    mentions_per_post: int = Field(default=10, ge=0, description="Distinct @mentions allowed in one message.")
    guest_mentions_per_post: int = Field(default=3, ge=0)
    # E-mail (innovate.mail): empty INNOVATE_SMTP_URL means no mail at all.
    smtp_url: str = Field(default="", description="smtp://, smtp+starttls:// or smtps://[user:password@]host[:port]; empty: no e-mail.")
    mail_from: str = Field(default="", description="The From address of every mail, e.g. Innovate <innovate@example.com>.")
    mail_gather_seconds: float = Field(default=300.0, ge=0, description="How long notifications wait to be sent together in one mail.")
    mail_max_attempts: int = Field(default=8, ge=1, le=50, description="Tries before a mail is marked failed.")
    mail_retry_seconds: float = Field(default=60.0, gt=0, description="The first retry's delay; each later one doubles (at most 6 hours).")
    mail_poll_seconds: float = Field(default=5.0, gt=0, description="How often the sender looks for due mail, digests and ending guest access.")
    digest_hour: int = Field(default=8, ge=0, le=23, description="The recipient's local hour at which digests go out.")
    default_locale: str = Field(default="en", description="The language of people who chose none and whose browser asks for none we have: en, de, fr or es.")
    pseudo_locale: bool = Field(default=False, description="Offer the pseudo-locale en_XA (tests that look for untranslated text); never in production.")

    @field_validator("public_url")
    @classmethod
    def _origin_only(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("expected an http(s) URL such as https://innovate.example.com")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        # sqlite+aiosqlite:// is what earlier versions wrote: the same file, the same driver.
        if value and not value.startswith(("sqlite:///", "sqlite+aiosqlite:///", "postgresql+asyncpg://")):
            raise ValueError("expected sqlite:///PATH or postgresql+asyncpg://USER@HOST/DB")
        return value

    @field_validator("broker")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        if value not in ("memory", "postgres") and not value.startswith(("redis://", "rediss://", "redis-cluster://")):
            raise ValueError("expected memory, postgres, a redis://host:port/db URL or redis-cluster://host:port,…")
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("expected at least 32 characters (try: python -c 'import secrets; print(secrets.token_urlsafe(48))')")
        return value

    @model_validator(mode="after")
    def _known_locale(self) -> Settings:
        from innovate.i18n import available

        if self.default_locale not in available(pseudo=self.pseudo_locale):
            raise ValueError(f"INNOVATE_DEFAULT_LOCALE: expected one of {', '.join(available(pseudo=self.pseudo_locale))}")
        return self

    @model_validator(mode="after")
    def _postgres_broker_needs_postgres(self) -> Settings:
        if self.broker == "postgres" and not self.database_url.startswith("postgresql"):
            raise ValueError("INNOVATE_BROKER=postgres needs a PostgreSQL INNOVATE_DATABASE_URL")
        return self

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        from innovate.settings.smtp import SmtpUrlError, parse_smtp_url

        if value:
            try:
                parse_smtp_url(value)
            except SmtpUrlError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _mail_from_with_smtp(self) -> Settings:
        from email.headerregistry import Address
        from email.utils import parseaddr

        if self.smtp_url and not self.mail_from:
            raise ValueError("INNOVATE_MAIL_FROM: required when INNOVATE_SMTP_URL is set (e.g. Innovate <innovate@example.com>)")
        if self.mail_from:
            _name, address = parseaddr(self.mail_from)
            try:
                Address(addr_spec=address)
            except Exception:
                address = ""
            if "@" not in address:
                raise ValueError("INNOVATE_MAIL_FROM: expected an address such as Innovate <innovate@example.com>")
        return self

    @model_validator(mode="after")
    def _valid_sign_in_providers(self) -> Settings:
        from innovate.settings.providers import ProviderConfigError, parse_providers

        try:
            parse_providers(self.oidc_providers, self.employee_domain_list)
        except ProviderConfigError as exc:
            raise ValueError(f"INNOVATE_OIDC_PROVIDERS: {exc}") from None
        return self

    # Derived values -----------------------------------------------------------------

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'innovate.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def public_origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def session_cookie_name(self) -> str:
        # The __Host- prefix makes browsers refuse the cookie unless Secure, path=/ and host-only.
        return "__Host-innovate_session" if self.https else "innovate_session"

    @property
    def mail_enabled(self) -> bool:
        return bool(self.smtp_url)

    @property
    def local_guest_signup(self) -> bool:
        """Whether invited guests may make a password account here: a sign-up is confirmed by
        a mail to the address, so without mail there is none (app.py warns at start)."""
        return self.allow_local_guests and self.mail_enabled

    @property
    def employee_domain_list(self) -> list[str]:
        return [d.strip().lower() for d in self.employee_domains.split(",") if d.strip()]

    @property
    def sign_in_providers(self) -> list[ProviderConfig]:
        from innovate.settings.providers import parse_providers

        return parse_providers(self.oidc_providers, self.employee_domain_list)


def _secret_from_data_dir(data_dir: Path) -> str:
    """The embedded default keeps a generated secret next to its database."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret)
    return secret


def _describe(error: ErrorDetails) -> str:
    loc = error.get("loc") or ()
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if not loc:  # a rule across settings names them in its message
        return message
    return f"INNOVATE_{str(loc[0]).upper()}: {message}"


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings once; raise SettingsError with one readable line."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_describe(exc.errors()[0])) from None
    if not settings.secret_key:
        if settings.https:
            raise SettingsError("INNOVATE_SECRET_KEY: required when INNOVATE_PUBLIC_URL is https (at least 32 characters)")
        settings = settings.model_copy(update={"secret_key": _secret_from_data_dir(settings.data_dir)})
    return settings
