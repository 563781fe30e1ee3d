"""Settings of the key-manager service (environment prefix `KEYS_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from git44_common.settings import ServiceSettings


class KeysSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KEYS_", extra="ignore")

    service_name: ClassVar[str] = "key-manager"

    port: int = 8004
