"""Settings of the worker (environment prefix `WORKER_`)."""

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from git44_common.settings import ServiceSettings


class WorkerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WORKER_", extra="ignore")

    service_name: ClassVar[str] = "worker"

    port: int = 9103  # health and metrics only
    concurrency: int = Field(default=3, ge=1, le=256, description="jobs in flight (prefetch)")
    scraperapi_url: str = "http://127.0.0.1:8090/"
    removesora_url: str = "http://127.0.0.1:8090/removesora"
