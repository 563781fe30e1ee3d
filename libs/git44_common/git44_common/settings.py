"""The settings base every service builds its `Settings` on.

Sources, highest priority first:
1. arguments passed to the constructor (tests);
2. the service's own prefixed environment (`AUTH_PORT`, `WORKER_CONCURRENCY`, ...);
3. the shared, unprefixed environment for what all services have in common
   (`MONGODB_URL`, `AMQP_URL`, `GIT44_ENV`, ... — see `SHARED_ENV`);
4. files in the secrets directory named by `GIT44_SECRETS_DIR` (Docker/Kubernetes
   secrets: one file per field, named like the prefixed variable, e.g. `auth_jwt_private_key`);
5. for a shared setting, the file named like its unprefixed variable
   (`webhook_secrets_encryption_key`): one file serves every service that reads it.

Secrets are `SecretStr`. A secret still holding a placeholder value is refused unless
the environment is `development` or `test` (after the template's
`_enforce_non_default_secrets`); so are `MONGODB_URL` and `AMQP_URL` without a user or
with a placeholder password: production's MongoDB and RabbitMQ require authentication.
"""

from __future__ import annotations

import os
import warnings
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

from git44_common.faults import parse_fault_points

# The template's placeholders, RabbitMQ's default account and the development override's
# passwords (deploy/dev-secrets): none of them is a secret.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changethis", "change-me", "changeme", "secret", "password", "guest", "git44-dev-only"}
)
# MongoDB mechanisms whose credential is not a password in the URL (x.509, AWS, Kerberos, OIDC)
_PASSWORDLESS_MECHANISMS = frozenset({"MONGODB-X509", "MONGODB-AWS", "GSSAPI", "MONGODB-OIDC"})

# field name -> environment variable shared by every service
SHARED_ENV: dict[str, str] = {
    "environment": "GIT44_ENV",
    "fault_points": "GIT44_FAULT_POINTS",
    "mongodb_url": "MONGODB_URL",
    "mongodb_db": "MONGODB_DB",
    "amqp_url": "AMQP_URL",
    "amqp_namespace": "AMQP_NAMESPACE",
    "log_level": "LOG_LEVEL",
    "log_json": "LOG_JSON",
    "jwks_url": "JWKS_URL",
    "jwt_issuer": "JWT_ISSUER",
    "jwt_audience": "JWT_AUDIENCE",
    "webhook_secrets_encryption_key": "WEBHOOK_SECRETS_ENCRYPTION_KEY",
    "sessions_poll_seconds": "SESSIONS_POLL_SECONDS",
    # auth decides who is verified, jobs-api refuses their submissions: one switch for both
    "require_email_verification": "AUTH_REQUIRE_EMAIL_VERIFICATION",
    # jobs-api reads the result cache at submission, the worker reads and fills it
    # (git44_common.result_cache): one set of rules for both
    "result_cache_scope": "JOBS_RESULT_CACHE_SCOPE",
    "result_cache_ttl_seconds": "JOBS_RESULT_CACHE_TTL_SECONDS",
    "result_cache_min_validity_seconds": "JOBS_RESULT_CACHE_MIN_VALIDITY_SECONDS",
}


def connection_credentials_problem(url: str) -> str | None:
    """Why a MongoDB or AMQP URL may not be used in production — it names no user, or its
    password is a placeholder — or None. Never quotes the URL: it holds the password."""
    parts = urlsplit(url)
    query = {key.lower(): values for key, values in parse_qs(parts.query).items()}
    if _PASSWORDLESS_MECHANISMS.intersection(query.get("authmechanism", [])):
        return None
    if not parts.username:
        return "names no user"
    if unquote(parts.password or "").strip().lower() in PLACEHOLDER_SECRETS:
        return "holds a placeholder password"
    return None


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class _SharedEnvSource(PydanticBaseSettingsSource):
    """Reads the unprefixed variables of `SHARED_ENV` for the fields a class has."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        env_name = SHARED_ENV.get(field_name)
        if env_name is None:
            return None, field_name, False
        return os.environ.get(env_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, _, _ = self.get_field_value(field, field_name)
            if value is not None:
                values[field_name] = value
        return values


class _SharedSecretsSource(_SharedEnvSource):
    """Reads the secret files named like the `SHARED_ENV` variables, in lower case."""

    def __init__(self, settings_cls: type[BaseSettings], secrets_dir: str) -> None:
        super().__init__(settings_cls)
        self._secrets_dir = Path(secrets_dir)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        env_name = SHARED_ENV.get(field_name)
        path = self._secrets_dir / env_name.lower() if env_name else None
        if path is None or not path.is_file():
            return None, field_name, False
        return path.read_text(encoding="utf-8").strip(), field_name, False


class ServiceSettings(BaseSettings):
    """What every Git44 service is configured with; subclasses add their own fields."""

    # Settings hold secrets: a validation error names the field, never the value.
    model_config = SettingsConfigDict(
        extra="ignore", case_sensitive=False, hide_input_in_errors=True
    )

    service_name: ClassVar[str] = "git44"

    environment: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    mongodb_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongodb_db: str = "git44"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    amqp_namespace: str = Field(
        default="", description="suffix for every exchange and queue name (test isolation)"
    )
    log_level: str = "INFO"
    log_json: bool = True
    jwks_url: str = "http://127.0.0.1:8001/.well-known/jwks.json"
    jwt_issuer: str = "git44-auth"
    jwt_audience: str = "git44"
    request_timeout_seconds: float = Field(default=30.0, gt=0)
    sessions_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        le=4,
        description="how often ended sessions are read from MongoDB, in case an event "
        "was missed (the 5 s bound on refusing an ended session's tokens)",
    )

    fault_points: str = Field(
        default="",
        description="test-only fault points (git44_common.faults), `name=probability,...`; "
        "refused unless GIT44_ENV=test",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            env_settings,
            _SharedEnvSource(settings_cls),
        ]
        secrets_dir = os.environ.get("GIT44_SECRETS_DIR")
        if secrets_dir:
            sources.append(SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir))
            sources.append(_SharedSecretsSource(settings_cls, secrets_dir))
        return tuple(sources)

    @property
    def is_development(self) -> bool:
        return self.environment in (Environment.DEVELOPMENT, Environment.TEST)

    # Flags that loosen a safety check for local work (e.g. webhooks to 127.0.0.1):
    # refused outside development and tests, whatever the environment says.
    development_only: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _refuse_development_flags(self) -> Self:
        if not self.is_development:
            for name in self.development_only:
                if getattr(self, name):
                    variable = f"{self.model_config.get('env_prefix', '')}{name}".upper()
                    raise ValueError(f"{variable} is for development and tests only")
        return self

    @model_validator(mode="after")
    def _refuse_fault_points_outside_tests(self) -> Self:
        if not self.fault_points.strip():
            return self
        if self.environment is not Environment.TEST:
            raise ValueError("GIT44_FAULT_POINTS is for tests only (GIT44_ENV=test)")
        parse_fault_points(self.fault_points)
        return self

    @model_validator(mode="after")
    def _enforce_non_default_secrets(self) -> Self:
        for name in type(self).model_fields:
            value = getattr(self, name)
            if not isinstance(value, SecretStr):
                continue
            if value.get_secret_value().strip().lower() not in PLACEHOLDER_SECRETS:
                continue
            message = f"{type(self).__name__}.{name} holds a placeholder value; set a real secret"
            if not self.is_development:
                raise ValueError(message)
            warnings.warn(message, stacklevel=2)
        return self

    @model_validator(mode="after")
    def _refuse_connections_without_credentials(self) -> Self:
        if self.is_development:
            return self
        for variable, url in (("MONGODB_URL", self.mongodb_url), ("AMQP_URL", self.amqp_url)):
            if problem := connection_credentials_problem(url):
                raise ValueError(
                    f"{variable} {problem}; production connects with real credentials "
                    f"(the secret file {variable.lower()})"
                )
        return self


class EmailVerificationSettings(ServiceSettings):
    """The settings of the services that refuse unverified users something (auth: new
    API keys; jobs-api: submissions). Both read AUTH_REQUIRE_EMAIL_VERIFICATION, so they
    cannot disagree about it."""

    require_email_verification: bool | None = Field(
        default=None,
        description="refuse unverified users submissions and new API keys; "
        "unset: on in production, off in development and test",
    )

    @property
    def email_verification_required(self) -> bool:
        if self.require_email_verification is None:
            return not self.is_development
        return self.require_email_verification
