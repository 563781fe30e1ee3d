"""The collection the worker owns and its indexes (created idempotently at start-up)."""

from pymongo import ASCENDING, DESCENDING

from git44_common.mongo import IndexSpec

WEBHOOK_DELIVERIES = "webhook_deliveries"

INDEXES = (
    IndexSpec(
        collection=WEBHOOK_DELIVERIES,
        keys=[("job_id", ASCENDING), ("attempted_at", DESCENDING)],
        name="job_attempted",
    ),
)
