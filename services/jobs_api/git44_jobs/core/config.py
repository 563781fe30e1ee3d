"""Settings of the jobs-api service (environment prefix `JOBS_`; the webhook secrets' key
list, shared with the worker, is `WEBHOOK_SECRETS_ENCRYPTION_KEY`; the result cache's
rules `JOBS_RESULT_CACHE_*` are the worker's too; whether unverified users may submit is
auth's `AUTH_REQUIRE_EMAIL_VERIFICATION`)."""

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from git44_common.result_cache import ResultCacheSettings
from git44_common.settings import EmailVerificationSettings
from git44_common.webhook_secrets import WebhookSecretsSettings


class JobsSettings(WebhookSecretsSettings, EmailVerificationSettings, ResultCacheSettings):
    model_config = SettingsConfigDict(env_prefix="JOBS_", extra="ignore")

    service_name: ClassVar[str] = "jobs-api"
    development_only: ClassVar[tuple[str, ...]] = ("allow_private_callbacks",)

    port: int = 8002

    # quota given to a user on first use
    default_total_quota: int = Field(default=500, ge=0)
    default_daily_limit: int = Field(default=50, ge=0)

    # copied into every new job; the worker enforces them
    max_retries: int = Field(default=3, ge=0)
    max_polls: int = Field(default=8, ge=1)

    # what a submission answered from the result cache costs: 1 (the user gets the
    # product; the operator saves the upstream cost) or 0
    cache_hit_credits: int = Field(default=1, ge=0, le=1)

    sora_hosts: tuple[str, ...] = ("sora.chatgpt.com",)
    # development only: callback URLs on http/private addresses (local webhook receivers)
    allow_private_callbacks: bool = False

    # registered webhook endpoints (ADR 0012)
    webhook_endpoints_per_user: int = Field(default=10, ge=1, le=100)
    # after a rotation the replaced secret keeps signing this long (both signatures sent)
    webhook_rotation_overlap_seconds: float = Field(default=86400.0, ge=0)
    # how long a user's endpoints are cached when a job ends here (cancel, cache hit)
    webhook_endpoint_cache_seconds: float = Field(default=5.0, ge=0)

    # request path: submissions arriving while a transaction runs share the next one
    # (group commit, ADR 0005); at most this many jobs per transaction
    submit_batch_max: int = Field(default=64, ge=1, le=1000)
    # request path: how long to wait for a publisher confirm before leaving it to the relay
    publish_timeout_seconds: float = Field(default=3.0, gt=0)

    # outbox relay
    outbox_interval_seconds: float = Field(default=1.0, gt=0)
    outbox_grace_seconds: float = Field(default=2.0, ge=0)
    outbox_overdue_seconds: float = Field(default=600.0, gt=0)
    outbox_claim_seconds: float = Field(default=30.0, gt=0)
    # a processing/polling job whose worker lease expired this long ago is re-sent
    outbox_abandoned_seconds: float = Field(default=60.0, gt=0)
    # How long the relay leaves a just-submitted job to the request that publishes it. It
    # outlasts the request time limit (30 s): under load a live request can take seconds
    # between commit and publish, and the relay must not publish its job a second time.
    # A failed publish releases the claim at once; only a crashed process waits this out.
    request_claim_seconds: float = Field(default=45.0, gt=0)
    outbox_batch_size: int = Field(default=100, ge=1)

    # rate limits, shared by every replica (docs/api.md): per API key per window, per
    # user (SPA and every API key together) and for the whole service
    api_key_rate_limit: int = Field(default=120, ge=1)
    api_key_rate_window_seconds: int = Field(default=60, ge=1)
    user_requests_per_minute: int = Field(default=600, ge=1)
    user_submissions_per_minute: int = Field(default=60, ge=1)
    global_submissions_per_minute: int = Field(default=3000, ge=1)
    batch_max_items: int = Field(default=20, ge=1, le=100)

    # SSE
    sse_heartbeat_seconds: float = Field(default=15.0, gt=0)
    sse_queue_size: int = Field(default=256, ge=1)
    sse_replay_window_seconds: float = Field(default=3600.0, gt=0)
    sse_replay_limit: int = Field(default=200, ge=1)
    # streams a user may hold open at once, on all replicas together
    sse_streams_per_user: int = Field(default=10, ge=1, le=1000)

    # lists: `limit` when none is given, and the largest accepted (shown in OpenAPI)
    page_size_default: int = Field(default=20, ge=1)
    page_size_max: int = Field(default=100, ge=1)

    # token verification
    user_status_cache_seconds: float = Field(default=30.0, ge=0)
