"""Settings of the auth service (environment prefix `AUTH_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from git44_common.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore")

    service_name: ClassVar[str] = "auth"

    port: int = 8001
