"""jobs-api's Prometheus metrics (module-level: created once per process)."""

from prometheus_client import Counter, Gauge

SUBMISSIONS = Counter(
    "git44_jobs_submissions_total",
    "Removal submissions by outcome (accepted, replayed, invalid, quota_exhausted, "
    "daily_limit_reached).",
    ["outcome"],
)
QUOTA_REJECTIONS = Counter(
    "git44_jobs_quota_rejections_total",
    "Submissions and retries refused by the quota, by reason.",
    ["reason"],
)
SSE_SUBSCRIBERS = Gauge(
    "git44_jobs_sse_subscribers",
    "Server-Sent Events streams open on this instance.",
)
OUTBOX_BACKLOG = Gauge(
    "git44_jobs_outbox_backlog",
    "Queued jobs not yet published to the broker (as last seen by the relay).",
)
OUTBOX_PUBLISHED = Counter(
    "git44_jobs_outbox_published_total",
    "Jobs the outbox relay published (unpublished or overdue).",
    ["reason"],
)
RESULT_CACHE = Counter(
    "git44_jobs_result_cache_total",
    "Submissions looked up in the result cache, by outcome (hit: answered at once, miss).",
    ["outcome"],
)
