"""The collections jobs-api owns and their indexes (created idempotently at start-up).

jobs-api also reads auth's `users` and `api_keys` (through git44_common.security).
"""

from pymongo import ASCENDING, DESCENDING

from git44_common.mongo import IndexSpec

JOBS = "removal_jobs"
QUOTAS = "user_quotas"
IDEMPOTENCY_KEYS = "idempotency_keys"
RATE_LIMITS = "api_rate_limits"
WEBHOOK_SECRETS = "webhook_secrets"
AUDIT_LOG = "audit_log"
USERS = "users"

INDEXES = (
    IndexSpec(
        collection=JOBS,
        keys=[("user_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
        name="user_created",
    ),
    IndexSpec(
        collection=JOBS,
        keys=[("user_id", ASCENDING), ("status", ASCENDING), ("created_at", DESCENDING)],
        name="user_status_created",
    ),
    IndexSpec(
        collection=JOBS,
        keys=[("user_id", ASCENDING), ("updated_at", ASCENDING)],
        name="user_updated",
    ),
    IndexSpec(
        collection=JOBS,
        keys=[("status", ASCENDING), ("created_at", DESCENDING)],
        name="status_created",
    ),
    IndexSpec(
        collection=JOBS,
        keys=[("created_at", DESCENDING), ("_id", DESCENDING)],
        name="created",
    ),
    IndexSpec(
        collection=JOBS,
        keys=[("task_id", ASCENDING)],
        name="task_id",
        partial_filter={"task_id": {"$type": "string"}},
    ),
    # the outbox relay's abandoned-job query: in-flight jobs whose lease expired
    IndexSpec(
        collection=JOBS,
        keys=[("status", ASCENDING), ("lease_expires_at", ASCENDING)],
        name="status_lease",
    ),
    # the outbox relay's query: queued jobs not yet published or overdue
    IndexSpec(
        collection=JOBS,
        keys=[("status", ASCENDING), ("published", ASCENDING), ("next_attempt_at", ASCENDING)],
        name="outbox",
    ),
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
        collection=RATE_LIMITS,
        keys=[("expires_at", ASCENDING)],
        name="expires_ttl",
        expire_after_seconds=0,
    ),
    IndexSpec(
        collection=AUDIT_LOG,
        keys=[("at", DESCENDING)],
        name="at",
    ),
)
