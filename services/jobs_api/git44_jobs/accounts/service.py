"""Forgetting a deleted user: every jobs-api document that names them.

Jobs at the upstream (processing, polling) belong to a worker until they end, so they
are left alone and looked at again later (`consumer.py`); the worker may still refund
a failed one into the quota, which the next pass deletes again. Rate-limit counters
and stream slots name the user too but expire within minutes on their own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from git44_common.mongo import Database, Document
from git44_jobs.credits import crud as credits
from git44_jobs.dead_letters import crud as dead_letters
from git44_jobs.idempotency import crud as idempotency
from git44_jobs.removals import crud as removals
from git44_jobs.webhooks import crud as webhooks

log = logging.getLogger(__name__)
# far above any real account's history; the export stays one bounded document
EXPORT_JOBS_MAX = 100_000
EXPORT_DELIVERIES_MAX = 100_000


async def list_jobs_for_export(db: Database, user_id: str) -> list[Document]:
    """Every job of the user, newest first."""
    return await removals.find_jobs(db, {"user_id": user_id}, limit=EXPORT_JOBS_MAX)


async def list_deliveries_for_export(db: Database, user_id: str) -> list[Document]:
    """Every webhook delivery attempt for the user's jobs, newest first."""
    return await webhooks.list_user_deliveries(db, user_id, limit=EXPORT_DELIVERIES_MAX)


@dataclass(frozen=True)
class ForgetPass:
    jobs_deleted: int
    jobs_in_flight: int

    @property
    def done(self) -> bool:
        """Nothing left, and nothing deleted that a delivery of its webhook may follow."""
        return not (self.jobs_deleted or self.jobs_in_flight)


async def forget_user(db: Database, user_id: str) -> ForgetPass:
    """Delete what can be deleted now, and say what is left."""
    deleted = await removals.delete_idle_user_jobs(db, user_id)
    await credits.delete_quota(db, user_id)
    await webhooks.delete_secret(db, user_id)
    await webhooks.delete_user_endpoints(db, user_id)
    await idempotency.delete_user_records(db, user_id)
    await dead_letters.delete_user_letters(db, user_id)
    in_flight = await removals.count_active_user_jobs(db, user_id)
    log.info(
        "deleted user's data forgotten",
        extra={"user_id": user_id, "jobs_deleted": deleted, "jobs_in_flight": in_flight},
    )
    return ForgetPass(jobs_deleted=deleted, jobs_in_flight=in_flight)
