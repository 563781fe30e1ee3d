"""Settings of the auth service (environment prefix `AUTH_`).

Signing keys: `AUTH_JWT_PRIVATE_KEYS` (or the secrets file `auth_jwt_private_keys`)
holds one or more PEM-encoded Ed25519 private keys. The first one signs; all of them
are published in the JWKS, so rotating is "put the new key first, remove the old one
once its tokens have expired" (docs/auth.md). In development and test a key is
generated at start-up when none is configured; production refuses to start without one.
"""

from typing import ClassVar, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from git44_common.settings import ServiceSettings

DEV_ADMIN_PASSWORD = "git44-dev-admin"  # what `make run` seeds; refused in production
MIN_PRODUCTION_BCRYPT_ROUNDS = 12


class AuthSettings(ServiceSettings):
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

    max_api_keys_per_user: int = Field(default=20, ge=1)
    user_status_cache_seconds: float = Field(default=5.0, ge=0)

    @field_validator("jwt_private_keys", mode="before")
    @classmethod
    def _blank_means_none(cls, value: object) -> object:
        # an empty secret file (the development override's) configures no key at all
        if isinstance(value, str) and not value.strip():
            return None
        return value

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
        return self
