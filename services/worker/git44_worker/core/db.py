"""The collections the worker owns and their indexes (created idempotently at start-up).

`webhook_secrets` ({_id: user_id, secret_encrypted, created_at}) is created by jobs-api;
the worker creates a user's secret lazily, in the same format, when none exists
(git44_common.webhook_secrets).
"""

from pymongo import ASCENDING, DESCENDING

from git44_common.collections import WEBHOOK_DELIVERIES
from git44_common.mongo import IndexSpec

INDEXES = (
    IndexSpec(
        collection=WEBHOOK_DELIVERIES,
        keys=[("job_id", ASCENDING), ("attempted_at", DESCENDING)],
        name="job_attempted",
    ),
    IndexSpec(
        collection=WEBHOOK_DELIVERIES,
        keys=[("event_id", ASCENDING), ("attempt", DESCENDING)],
        name="event_attempt",
    ),
    # the owner's export (jobs-api) and deletion; attempts without an owner at start-up
    IndexSpec(
        collection=WEBHOOK_DELIVERIES,
        keys=[("user_id", ASCENDING), ("attempted_at", DESCENDING)],
        name="user_attempted",
    ),
)
