"""Settings of the auth service (environment prefix `AUTH_`).

Signing keys: `AUTH_JWT_PRIVATE_KEYS` (or the secrets file `auth_jwt_private_keys`)
holds one or more PEM-encoded Ed25519 private keys. The first one signs; all of them
are published in the JWKS, so rotating is "put the new key first, remove the old one
once its tokens have expired" (docs/auth.md). In development and test a key is
generated at start-up when none is configured; production refuses to start without one.

Mail (docs/auth.md "Mail"): `AUTH_SMTP_URL` names the SMTP server; unset in development
and test, mail goes to the simulator's sink (`DEV_SMTP_URL`), which production refuses.
"""

import ipaddress
from email.utils import parseaddr
from typing import ClassVar, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from git44_auth.mail.server import parse_smtp_url
from git44_common.settings import PLACEHOLDER_SECRETS, EmailVerificationSettings

DEV_ADMIN_PASSWORD = "git44-dev-admin"  # what `make run` seeds; refused in production
DEV_SMTP_URL = "smtp://127.0.0.1:1025"  # the simulator's SMTP sink; refused in production
MIN_PRODUCTION_BCRYPT_ROUNDS = 12


class AuthSettings(EmailVerificationSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore")

    service_name: ClassVar[str] = "auth"

    port: int = 8001

    jwt_private_keys: SecretStr | None = Field(
        default=None, description="PEM Ed25519 private key(s); the first one signs"
    )
    access_token_ttl_seconds: int = Field(default=24 * 3600, gt=0)
    refresh_token_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)

    bcrypt_rounds: int = Field(default=12, ge=4, le=16)
    password_min_length: int = Field(default=8, ge=1, le=72)

    bootstrap_admin_email: str | None = None
    bootstrap_admin_password: SecretStr | None = None
    admin_password: SecretStr | None = Field(
        default=None, description="password for `create-admin` when not prompted (CLI only)"
    )

    login_ip_limit: int = Field(default=30, ge=1, description="login attempts per IP per window")
    login_account_limit: int = Field(
        default=10, ge=1, description="login attempts per account per window"
    )
    login_window_seconds: int = Field(default=300, ge=1)
    register_per_ip_per_hour: int = Field(default=10, ge=1, description="registrations per IP")
    register_global_per_hour: int = Field(
        default=1000, ge=1, description="registrations of the whole service per hour"
    )
    password_change_per_user: int = Field(
        default=5, ge=1, description="password change attempts per user per 15 minutes"
    )

    password_forgot_per_email_per_hour: int = Field(
        default=5, ge=1, description="password reset requests per email address (known or not)"
    )
    password_forgot_per_ip_per_hour: int = Field(
        default=20, ge=1, description="password reset requests per client IP"
    )

    max_api_keys_per_user: int = Field(default=20, ge=1)
    user_status_cache_seconds: float = Field(default=5.0, ge=0)

    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp[s]://[user:password@]host[:port][?starttls=required|off]; "
        "unset: the simulator's sink (development only)",
    )
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, description="per SMTP operation")
    mail_from: str = "Git44 <no-reply@git44.local>"
    public_url: str = Field(
        default="http://localhost:5173",
        description="the SPA, for links in mails (production: its public https:// address)",
    )
    jobs_api_url: str = Field(
        default="http://127.0.0.1:8002", description="jobs-api, for the account data export"
    )
    mail_retry_delays_seconds: list[float] = Field(
        default=[10.0, 60.0, 300.0, 900.0, 1800.0, 3600.0],
        description="delay before attempt 2, 3, ...; 7 attempts over about 2 hours",
    )
    mail_publish_timeout_seconds: float = Field(
        default=3.0, gt=0, description="a request waits this long for the broker's confirm"
    )
    mail_relay_interval_seconds: float = Field(
        default=5.0, gt=0, description="how often mail the broker did not take is published"
    )

    @field_validator("jwt_private_keys", "smtp_url", mode="before")
    @classmethod
    def _blank_means_none(cls, value: object) -> object:
        # an empty secret file (the development override's) configures no key at all
        # (no SMTP server: in development, the simulator's sink)
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @property
    def mail_max_attempts(self) -> int:
        """Tries before a mail is dead-lettered: the first, then one per retry delay."""
        return len(self.mail_retry_delays_seconds) + 1

    def smtp_server_url(self) -> str:
        """The configured SMTP URL; in development, the simulator's sink when unset."""
        return DEV_SMTP_URL if self.smtp_url is None else self.smtp_url.get_secret_value()

    @field_validator("mail_from")
    @classmethod
    def _mail_from_is_an_address(cls, value: str) -> str:
        if "@" not in parseaddr(value)[1]:
            raise ValueError("AUTH_MAIL_FROM must be an address, e.g. 'Git44 <no-reply@host>'")
        return value

    @field_validator("mail_retry_delays_seconds")
    @classmethod
    def _delays_are_not_negative(cls, delays: list[float]) -> list[float]:
        if any(delay < 0 for delay in delays):
            raise ValueError("retry delays cannot be negative")
        return delays

    @model_validator(mode="after")
    def _smtp_url_parses(self) -> Self:
        parse_smtp_url(self.smtp_server_url())  # a ValueError that never quotes the URL
        return self

    @model_validator(mode="after")
    def _enforce_production_rules(self) -> Self:
        if self.is_development:
            return self
        if self.jwt_private_keys is None:
            raise ValueError("AUTH_JWT_PRIVATE_KEYS is required outside development")
        if self.bcrypt_rounds < MIN_PRODUCTION_BCRYPT_ROUNDS:
            raise ValueError(f"AUTH_BCRYPT_ROUNDS must be >= {MIN_PRODUCTION_BCRYPT_ROUNDS}")
        password = self.bootstrap_admin_password
        if password is not None and password.get_secret_value() == DEV_ADMIN_PASSWORD:
            raise ValueError("the development admin password is refused outside development")
        if self.smtp_url is None:
            raise ValueError("AUTH_SMTP_URL is required outside development")
        server = parse_smtp_url(self.smtp_server_url())
        if server.is_development_sink:
            raise ValueError("AUTH_SMTP_URL names the development mail sink")
        if server.password is not None and server.password.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("AUTH_SMTP_URL holds a placeholder password")
        if problem := public_url_problem(self.public_url):
            raise ValueError(f"AUTH_PUBLIC_URL {problem}: mails would link users nowhere")
        return self


def public_url_problem(url: str) -> str | None:
    """Why `url` cannot be the SPA's address in mails to users (None: it can)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return "must be the SPA's https:// address"
    host = parts.hostname.lower()
    if host == "localhost" or host.endswith(".localhost"):
        return "names this machine"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return "names a private address" if not address.is_global else None
