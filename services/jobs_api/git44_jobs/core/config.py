"""Settings of the jobs-api service (environment prefix `JOBS_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from git44_common.settings import ServiceSettings


class JobsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JOBS_", extra="ignore")

    service_name: ClassVar[str] = "jobs-api"

    port: int = 8002
