"""The collections the worker owns (`webhook_deliveries`, `result_cache`,
`removal_flights`) and their indexes (created idempotently at start-up).

`webhook_secrets` ({_id: user_id, secret_encrypted, created_at}) is created by jobs-api;
the worker creates a user's secret lazily, in the same format, when none exists
(git44_common.webhook_secrets).
"""

from pymongo import ASCENDING, DESCENDING

from git44_common.collections import REMOVAL_FLIGHTS, RESULT_CACHE, WEBHOOK_DELIVERIES
from git44_common.mongo import IndexSpec, ttl_index

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
    # a registered endpoint's deliveries (jobs-api lists them)
    IndexSpec(
        collection=WEBHOOK_DELIVERIES,
        keys=[("endpoint_id", ASCENDING), ("attempted_at", DESCENDING)],
        name="endpoint_attempted",
        options={"sparse": True},
    ),
    # the result cache and the links in flight (crud/results.py): gone once expired;
    # an admin purges a link's results by `link`
    ttl_index(RESULT_CACHE),
    IndexSpec(collection=RESULT_CACHE, keys=[("link", ASCENDING)], name="link"),
    ttl_index(REMOVAL_FLIGHTS),
)
