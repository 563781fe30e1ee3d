"""Settings of the worker (environment prefix `WORKER_`; shared with jobs-api: the webhook
secrets' key list, `WEBHOOK_SECRETS_ENCRYPTION_KEY`, and the result cache's rules,
`JOBS_RESULT_CACHE_*`)."""

import os
import socket
import uuid
from typing import ClassVar, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from git44_common.result_cache import ResultCacheSettings
from git44_common.webhook_secrets import WebhookSecretsSettings


def default_worker_id() -> str:
    """Unique per process: a restarted worker must not mistake its old leases for its own."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


KNOWN_PROVIDERS = frozenset({"removesora", "kie"})


class WorkerSettings(WebhookSecretsSettings, ResultCacheSettings):
    model_config = SettingsConfigDict(env_prefix="WORKER_", extra="ignore")

    service_name: ClassVar[str] = "worker"
    development_only: ClassVar[tuple[str, ...]] = ("webhook_allow_private",)

    port: int = 9103  # health and metrics only
    worker_id: str = Field(default_factory=default_worker_id)
    concurrency: int = Field(default=3, ge=1, le=256, description="jobs in flight (prefetch)")

    # upstream
    scraperapi_url: str = "http://127.0.0.1:8090/"
    removesora_url: str = "http://127.0.0.1:8090/removesora"
    scraperapi_timeout_seconds: float = Field(
        default=70.0, gt=0, description="ScraperAPI retries for up to 70 s before a 500"
    )
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    # the providers, in the order of preference: a new task goes to the first whose
    # circuits are closed (adapters/provider.py); "removesora" and "kie"
    providers: str = "removesora"
    # optional weights to share new tasks among the healthy providers, e.g.
    # "removesora:3,kie:1" (none: always the first healthy one in the order)
    provider_weights: str = ""
    # the kie-style provider (adapters/kie.py): its base URL and API keys (comma-separated)
    kie_url: str = "http://127.0.0.1:8090/kie"
    kie_api_keys: SecretStr | None = None
    kie_timeout_seconds: float = Field(default=30.0, gt=0)
    # providers that call back get `<this>/api/providers/<name>/callback/<token>` (the
    # gateway's public address; None: no callbacks, every task is polled)
    callback_base_url: str | None = None
    callback_grace_seconds: float = Field(default=5.0, ge=0)

    @property
    def provider_order(self) -> list[str]:
        return [name.strip() for name in self.providers.split(",") if name.strip()]

    @property
    def provider_weight_map(self) -> dict[str, float]:
        weights: dict[str, float] = {}
        for entry in self.provider_weights.split(","):
            if entry.strip():
                name, _, value = entry.partition(":")
                weights[name.strip()] = float(value)
        return weights

    @property
    def kie_key_list(self) -> list[str]:
        if self.kie_api_keys is None:
            return []
        keys = self.kie_api_keys.get_secret_value().split(",")
        return [key.strip() for key in keys if key.strip()]

    # polling (max_polls itself is stored on each job)
    poll_policy: Literal["fixed", "adaptive", "frontier"] = Field(
        default="frontier",
        description=(
            "frontier (default; ~2.15 upstream calls per job and ready→success p50 ~0.7 s"
            " on the pipeline bench, docs/benchmarks.md): first poll at the learnt"
            " poll_first_quantile,"
            " second just after the learnt maximum; fixed: every poll after poll_min..max"
            " seconds (the seed's); adaptive: polls at quantiles of midpoints (more calls)."
            " frontier and adaptive follow fixed until they have learnt"
        ),
    )
    poll_first_quantile: float = Field(
        default=0.85,
        gt=0.5,
        lt=1.0,
        description=(
            "frontier: the quantile of the learnt ready times its first poll aims at; higher"
            " means fewer second polls (upstream calls) and a later first look (latency)"
        ),
    )
    poll_min_seconds: float = Field(default=3.0, ge=0)
    poll_max_seconds: float = Field(default=5.0, ge=0)
    adaptive_min_samples: int = Field(
        default=5, ge=1, description="adaptive and frontier: successes seen before they leave fixed"
    )

    # a job whose link another job is processing waits for it; its leader wakes it at
    # the end, this is the fallback for a lost wake-up
    flight_recheck_seconds: float = Field(default=5.0, gt=0)

    # claiming, retries, waiting for keys
    lease_seconds: float = Field(default=30.0, gt=0, description="job lease without heartbeat")
    heartbeat_seconds: float = Field(default=10.0, gt=0)
    retry_backoff_seconds: float = Field(default=5.0, ge=0, description="first retry delay")
    retry_backoff_factor: float = Field(default=3.0, ge=1)
    retry_backoff_max_seconds: float = Field(default=600.0, ge=0)
    key_acquire_timeout_seconds: float = Field(
        default=10.0, gt=0, description="key-manager may hold an acquire ~2 s for a free slot"
    )
    key_unavailable_delay_seconds: float = Field(
        default=30.0, ge=0, description="wait when no key is configured or key-manager is down"
    )
    key_wait_seconds: float = Field(
        default=10.0,
        ge=0,
        description="wait this long in process for a key (busy, no_keys, short cooldown)",
    )
    max_key_swaps: int = Field(default=20, ge=1, description="403/429 key changes per step")

    # circuit breakers on ScraperAPI and RemoveSora (breaker.py)
    breaker_enabled: bool = True
    breaker_consecutive_failures: int = Field(default=5, ge=1)
    breaker_window_calls: int = Field(default=20, ge=2)
    breaker_window_seconds: float = Field(default=30.0, gt=0)
    breaker_failure_ratio: float = Field(default=0.5, gt=0, le=1)
    breaker_probe_seconds: float = Field(default=10.0, gt=0)
    breaker_probe_max_seconds: float = Field(default=60.0, gt=0)
    breaker_refresh_seconds: float = Field(
        default=1.0, ge=0, description="how often a worker reads the shared circuits"
    )

    # webhooks
    # one overall deadline per delivery attempt: resolve, connect, send and read
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_delays_seconds: list[float] = Field(
        default=[30.0, 120.0, 600.0, 1200.0, 1800.0],
        description="delay before attempt 2, 3, ...; 6 attempts over about an hour",
    )
    webhook_allow_private: bool = Field(
        default=False, description="development only: deliver to private/loopback hosts"
    )
    webhook_endpoint_cache_seconds: float = Field(
        default=5.0, ge=0, description="how long a user's registered endpoints are cached"
    )
    webhook_disable_after_seconds: float = Field(
        default=5 * 24 * 3600.0,
        gt=0,
        description="an endpoint failing every attempt this long is disabled (owner mailed)",
    )

    @property
    def webhook_max_attempts(self) -> int:
        return len(self.webhook_retry_delays_seconds) + 1

    @model_validator(mode="after")
    def _providers_are_known_and_configured(self) -> Self:
        order = self.provider_order
        unknown = set(order) - KNOWN_PROVIDERS
        if not order or unknown or len(set(order)) != len(order):
            raise ValueError(
                f"providers must name each of {sorted(KNOWN_PROVIDERS)} at most once, "
                f"got {self.providers!r}"
            )
        try:
            weights = self.provider_weight_map
        except ValueError:
            raise ValueError("provider_weights must look like 'removesora:3,kie:1'") from None
        if set(weights) - set(order) or any(w < 0 for w in weights.values()):
            raise ValueError("provider_weights names only configured providers, weights >= 0")
        if "kie" in order and not self.kie_key_list:
            raise ValueError("the kie provider needs kie_api_keys")
        return self

    @model_validator(mode="after")
    def _polls_are_ordered(self) -> Self:
        if self.poll_max_seconds < self.poll_min_seconds:
            raise ValueError("poll_max_seconds must be >= poll_min_seconds")
        return self
