"""The admin panel's numbers."""

from __future__ import annotations

from git44_common.schemas import ApiModel, IsoTime


class QuotaUsage(ApiModel):
    users: int
    total_credits: int
    remaining_credits: int
    used_credits: int
    daily_used_today: int


class ProviderStats(ApiModel):
    """The jobs whose current task is at one provider: `calls` is their tasks' creates
    and polls (the provider's credits), `calledBack` those completed by the provider's
    callback with no poll."""

    jobs: int
    succeeded: int
    failed: int
    calls: int
    called_back: int


class StatsPublic(ApiModel):
    jobs_by_status: dict[str, int]
    total_jobs: int
    success_rate: float | None
    avg_processing_seconds: float | None
    p95_processing_seconds: float | None
    queue_depth: int | None
    dead_letters: int | None
    # upstream (ScraperAPI) calls, each a credit: made by jobs' attempts, and saved by
    # jobs completed from the result cache (at the average cost of an upstream success)
    upstream_calls: int
    upstream_calls_saved: int
    by_provider: dict[str, ProviderStats] = {}
    quota: QuotaUsage
    generated_at: IsoTime
