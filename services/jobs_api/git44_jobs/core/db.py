"""The indexes of the collections jobs-api owns (created idempotently at start-up).

jobs-api also reads auth's `users` and `api_keys` (through git44_common.security).
"""

from pymongo import ASCENDING, DESCENDING

from git44_common.collections import (
    API_RATE_LIMITS,
    AUDIT_LOG,
    IDEMPOTENCY_KEYS,
    REMOVAL_JOBS,
)
from git44_common.mongo import Document, IndexSpec


def _jobs_index(
    name: str, *keys: tuple[str, int], partial_filter: Document | None = None
) -> IndexSpec:
    return IndexSpec(
        collection=REMOVAL_JOBS, keys=list(keys), name=name, partial_filter=partial_filter
    )


INDEXES = (
    _jobs_index("user_created", ("user_id", ASCENDING), ("created_at", DESCENDING),
                ("_id", DESCENDING)),
    _jobs_index("user_status_created", ("user_id", ASCENDING), ("status", ASCENDING),
                ("created_at", DESCENDING)),
    _jobs_index("user_updated", ("user_id", ASCENDING), ("updated_at", ASCENDING)),
    _jobs_index("status_created", ("status", ASCENDING), ("created_at", DESCENDING)),
    _jobs_index("created", ("created_at", DESCENDING), ("_id", DESCENDING)),
    _jobs_index("task_id", ("task_id", ASCENDING),
                partial_filter={"task_id": {"$type": "string"}}),
    # the outbox relay's abandoned-job query: in-flight jobs whose lease expired
    _jobs_index("status_lease", ("status", ASCENDING), ("lease_expires_at", ASCENDING)),
    # the outbox relay's query: queued jobs not yet published or overdue
    _jobs_index("outbox", ("status", ASCENDING), ("published", ASCENDING),
                ("next_attempt_at", ASCENDING)),
    IndexSpec(
        collection=IDEMPOTENCY_KEYS,
        keys=[("user_id", ASCENDING), ("key", ASCENDING)],
        name="user_key_unique",
        unique=True,
    ),
    IndexSpec(
        collection=IDEMPOTENCY_KEYS,
        keys=[("created_at", ASCENDING)],
        name="created_ttl",
        expire_after_seconds=24 * 3600,
    ),
    # one counter document per API key and window; gone once the window is over
    IndexSpec(
        collection=API_RATE_LIMITS,
        keys=[("expires_at", ASCENDING)],
        name="expires_ttl",
        expire_after_seconds=0,
    ),
    IndexSpec(collection=AUDIT_LOG, keys=[("at", DESCENDING)], name="at"),
)  # fmt: skip
