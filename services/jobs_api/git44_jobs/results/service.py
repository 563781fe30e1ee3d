"""A submission answered from the result cache: the job is born `success`, `cached: true`.

Its credit follows `JOBS_CACHE_HIT_CREDITS` (1: charged like any job, in the same
transaction as its insert; 0: free). Its event and webhook go the usual way: jobs-api
publishes `removal.requested` after the commit (the outbox relay does if that fails),
and the worker, finding the job already ended, sends its pending webhook.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from git44_common.contracts import JobStatus, new_event_id
from git44_common.exceptions import InvalidLink, ValidationFailed
from git44_common.links import validate_sora_link
from git44_common.mongo import Database, Document
from git44_common.result_cache import ResultCachePolicy
from git44_jobs import metrics
from git44_jobs.results import crud


@dataclass(frozen=True, kw_only=True)
class ResultCache:
    db: Database
    policy: ResultCachePolicy

    async def lookup(self, link: str, user_id: str, *, now: datetime) -> Document | None:
        """The usable cached result for a new job of `user_id` for `link`, or None."""
        if not self.policy.enabled:
            return None
        key = self.policy.key(link, user_id)
        found = await crud.find_usable(self.db, key, usable_after=self.policy.usable_after(now))
        metrics.RESULT_CACHE.labels("miss" if found is None else "hit").inc()
        return found


async def purge(db: Database, link: str, *, sora_hosts: tuple[str, ...]) -> tuple[str, int]:
    """Forget every cached result of `link`: (its canonical form, how many were purged);
    ValidationFailed (422) if it is no Sora share link."""
    try:
        canonical = validate_sora_link(link, allowed_hosts=sora_hosts)
    except InvalidLink as exc:
        error = {"loc": ["query", "link"], "msg": str(exc), "type": "invalid_link"}
        raise ValidationFailed(str(exc), errors=[error]) from None
    return canonical, await crud.purge_link(db, canonical)


def complete_from_cache(
    job: Document, cached: Document, *, now: datetime, webhook_pending: bool
) -> None:
    """Make the new job `job` a success with the cached result (queued → success);
    `webhook_pending`: its webhook is to be sent (callback URL, subscribed endpoint)."""
    job.update(
        status=str(JobStatus.SUCCESS),
        output_link=cached["output_link"],
        cached=True,
        started_at=now,
        completed_at=now,
        webhook_pending=webhook_pending,
        webhook_event_id=new_event_id(),
        attempts=[
            {
                "number": 1,
                "started_at": now,
                "ended_at": now,
                "outcome": "cached",
                "error": None,
                "task_id": None,
                "polls": 0,
            }
        ],  # fmt: skip
    )
