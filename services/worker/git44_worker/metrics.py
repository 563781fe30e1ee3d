"""The worker's Prometheus metrics (module-level: created once per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOBS = Counter(
    "git44_worker_jobs_total",
    "Jobs that reached an outcome in this worker: success, failed, retried, waiting.",
    ["outcome"],
)
JOB_DURATION = Histogram(
    "git44_worker_job_duration_seconds",
    "From job creation to its terminal state (success or failed).",
    buckets=(1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 300, 600, 1800, 3600),
)
POLLS_PER_JOB = Histogram(
    "git44_worker_polls_per_job",
    "Polls of the last attempt of a job that reached a terminal state.",
    buckets=(0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16),
)
UPSTREAM_CALLS = Counter(
    "git44_worker_upstream_calls_total",
    "Calls to RemoveSora through ScraperAPI, by operation (create, poll).",
    ["op"],
)
PROVIDER_CALLS = Counter(
    "git44_worker_provider_calls_total",
    "Calls made to each provider (removesora, kie), by operation (create, poll).",
    ["provider", "op"],
)
UPSTREAM_CALLS_BY_KEY = Counter(
    "git44_worker_upstream_calls_by_key_total",
    "Upstream calls (each one ScraperAPI credit) by key id, operation (create, poll) and "
    "outcome (the key release's: ok, limited, error).",
    ["key_id", "op", "outcome"],
)
UPSTREAM_RESPONSES = Counter(
    "git44_worker_upstream_responses_total",
    "Answers of ScraperAPI/RemoveSora by HTTP status ('error' when there was none).",
    ["status"],
)
RETRIES = Counter("git44_worker_retries_total", "Job attempts that failed and were retried.")
REFUNDS = Counter("git44_worker_refunds_total", "Credits refunded for failed jobs.")
CALLBACKS = Counter(
    "git44_worker_callbacks_total",
    "Tasks of providers that call back: success/failed (completed with no poll), late "
    "(not waited for longer: polled as usual).",
    ["outcome"],
)
UPSTREAM_OUTCOMES = Counter(
    "git44_worker_upstream_outcomes_total",
    "Each upstream on a call's path (scraperapi, removesora, kie), by whether it answered "
    "or failed (5xx or no answer: what the circuit breaker counts).",
    ["upstream", "outcome"],
)
CIRCUIT_STATE = Gauge(
    "git44_worker_upstream_circuit_state",
    "An upstream's circuit as this worker last read it: 0 closed, 1 open, 2 half-open.",
    ["upstream"],
)
CIRCUIT_OPENED = Counter(
    "git44_worker_upstream_circuit_opened_total",
    "Circuits this worker opened (sustained upstream failures).",
    ["upstream"],
)
CIRCUIT_HELD = Counter(
    "git44_worker_upstream_calls_held_total",
    "Upstream calls not made because the upstream's circuit was open (the job waited).",
    ["upstream"],
)
WEBHOOK_ENDPOINTS_DISABLED = Counter(
    "git44_worker_webhook_endpoints_disabled_total",
    "Registered webhook endpoints disabled after failing for WORKER_WEBHOOK_DISABLE_AFTER_SECONDS.",
)
WEBHOOK_DELIVERIES = Counter(
    "git44_worker_webhook_deliveries_total",
    "Webhook delivery attempts by outcome: delivered, retrying, gave_up, refused.",
    ["outcome"],
)
RESULT_CACHE = Counter(
    "git44_worker_result_cache_total",
    "Jobs picked up with no task yet, by whether their link's result was cached (hit, miss).",
    ["outcome"],
)
FLIGHT_JOINS = Counter(
    "git44_worker_flight_joins_total",
    "Jobs that waited for another job processing the same link instead of a task of their own.",
)
