"""The indexes of every collection jobs-api owns, created idempotently at start-up.

Each domain declares its own beside its queries (`<domain>/crud.py`). jobs-api also
reads auth's `users` and `api_keys` (through git44_common.security).
"""

from git44_jobs.admin import crud as admin
from git44_jobs.dead_letters import crud as dead_letters
from git44_jobs.idempotency import crud as idempotency
from git44_jobs.live import crud as live
from git44_jobs.ratelimits import crud as ratelimits
from git44_jobs.removals import crud as removals
from git44_jobs.webhooks import crud as webhooks

INDEXES = (
    *removals.INDEXES,
    *idempotency.INDEXES,
    *ratelimits.INDEXES,
    *live.INDEXES,
    *admin.INDEXES,
    *dead_letters.INDEXES,
    *webhooks.ENDPOINT_INDEXES,
)
