"""Settings of the key-manager service (environment prefix `KEYS_`)."""

from typing import ClassVar, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from git44_common.encryption import EncryptionKeys
from git44_common.settings import ServiceSettings


class KeysSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KEYS_", extra="ignore")

    service_name: ClassVar[str] = "key-manager"

    port: int = 8004
    encryption_key: EncryptionKeys = Field(
        default=SecretStr("changethis"),
        description="key list (newest first) the ScraperAPI keys are encrypted and "
        "fingerprinted under (git44_common.encryption)",
    )
    seed_keys: str = Field(
        default="", description="comma-separated ScraperAPI keys added at start-up (dev/test only)"
    )
    default_max_concurrency: int = Field(default=5, ge=1, le=1000)
    cooldown_seconds: float = Field(default=3600.0, gt=0)
    lease_seconds: float = Field(
        default=90.0,
        gt=0,
        description="a lease frees its slot by itself after this long (longer than a "
        "worker's upstream call may last)",
    )
    replica_heartbeat_seconds: float = Field(
        default=2.0,
        gt=0,
        description="how often a replica renews its registration and recomputes its share "
        "of every key's max_concurrency (one database write)",
    )
    replica_ttl_seconds: float = Field(
        default=10.0,
        gt=0,
        description="a replica that has not renewed its registration for this long stops "
        "leasing; the others take its share once its leases expired too (plus "
        "lease_seconds)",
    )
    usage_flush_seconds: float = Field(
        default=5.0, gt=0, description="how often the keys' usage counters are written"
    )
    shutdown_drain_seconds: float = Field(
        default=5.0,
        ge=0,
        description="at shutdown, how long a replica waits for its leases to come back "
        "before it leaves (the others take its share at once when none is left)",
    )
    acquire_wait_seconds: float = Field(
        default=2.0, ge=0, description="how long acquire waits for a slot when every key is busy"
    )
    busy_retry_seconds: float = Field(
        default=1.0, gt=0, description="cooldown answered when every key stayed busy"
    )
    maintenance_interval_seconds: float = Field(default=2.0, gt=0)
    # ScraperAPI (its free `/account` endpoint: each key's credits and concurrency)
    scraperapi_url: str = "http://127.0.0.1:8090/"
    # how often each key's plan is read (0: never); a key with this many credits left
    # or fewer is limited before it runs out
    account_check_seconds: float = Field(default=300.0, ge=0)
    credit_reserve: int = Field(default=50, ge=0)
    # a key answering 429 (too many concurrent requests) is not leased for this long,
    # doubling while the 429s go on, up to the max
    backoff_seconds: float = Field(default=2.0, gt=0)
    backoff_max_seconds: float = Field(default=30.0, gt=0)
    rpc_prefetch: int = Field(default=64, ge=1)
    release_prefetch: int = Field(default=32, ge=1)
    admin_status_cache_seconds: float = Field(default=30.0, ge=0)

    @property
    def seed_key_list(self) -> list[str]:
        return [key.strip() for key in self.seed_keys.split(",") if key.strip()]

    @model_validator(mode="after")
    def _heartbeats_well_within_the_ttl(self) -> Self:
        if self.replica_ttl_seconds < 2 * self.replica_heartbeat_seconds:
            raise ValueError(
                "KEYS_REPLICA_TTL_SECONDS must be at least twice KEYS_REPLICA_HEARTBEAT_SECONDS"
            )
        return self

    @model_validator(mode="after")
    def _seed_keys_only_in_development(self) -> Self:
        if self.seed_key_list and not self.is_development:
            raise ValueError("KEYS_SEED_KEYS is for development and tests only")
        return self
