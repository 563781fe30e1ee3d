"""The outbox relay: publishes queued jobs the request path could not (DESIGN section 5).

Every `outbox_interval_seconds` it looks for `queued` jobs that are

- unpublished (`published: false`) for longer than `outbox_grace_seconds` — the broker
  was down, or the process died between the commit and the publish; or
- overdue: their `next_attempt_at` (a worker's delayed retry) passed more than
  `outbox_overdue_seconds` ago without the job moving — the delayed message was lost;

and for `processing`/`polling` jobs whose worker lease expired more than
`outbox_abandoned_seconds` ago: the worker died or lost its database mid-job after
its message was acked, so no message will bring the job back. Re-publishing lets a
worker take it over and resume its stored task (ADR 0004); while the job stays
abandoned this repeats at most every `outbox_claim_seconds`.

Each job is claimed with a compare-and-set (`relay_claimed_until`) so several jobs-api
replicas do not publish it at once; a duplicate would be harmless anyway, since the
worker moves a job only by compare-and-set on its status.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from git44_jobs import metrics
from git44_jobs.context import JobsContext
from git44_jobs.core.db import JOBS
from git44_jobs.publishing import publish_job_event, publish_removal_request

log = logging.getLogger(__name__)

Document = dict[str, Any]


def due_query(
    *, now: datetime, grace_seconds: float, overdue_seconds: float, abandoned_seconds: float
) -> Document:
    """Jobs the relay should publish now (and nobody else is publishing)."""
    return {
        "$and": [
            {"$or": [{"relay_claimed_until": None}, {"relay_claimed_until": {"$lte": now}}]},
            {
                "$or": [
                    {
                        "status": "queued",
                        "published": False,
                        "updated_at": {"$lte": now - timedelta(seconds=grace_seconds)},
                    },
                    {
                        "status": "queued",
                        "next_attempt_at": {"$lte": now - timedelta(seconds=overdue_seconds)},
                    },
                    {
                        "status": {"$in": ["processing", "polling"]},
                        "lease_expires_at": {"$lte": now - timedelta(seconds=abandoned_seconds)},
                    },
                ]
            },
        ],
    }


class OutboxRelay:
    def __init__(self, ctx: JobsContext) -> None:
        self._ctx = ctx

    async def run(self) -> None:
        """Relay forever (a lifespan task; cancelled at shutdown)."""
        interval = self._ctx.settings.outbox_interval_seconds
        while True:
            try:
                await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                if (task := asyncio.current_task()) is not None and task.cancelling():
                    raise asyncio.CancelledError from None  # the error was our own cancel
                log.warning("outbox relay round failed", exc_info=True)
            await asyncio.sleep(interval)

    async def relay_once(self) -> int:
        """One round; returns how many jobs were published."""
        ctx = self._ctx
        jobs = ctx.db[JOBS]
        metrics.OUTBOX_BACKLOG.set(
            await jobs.count_documents({"status": "queued", "published": False})
        )
        now = ctx.now()
        query = self._due(now)
        candidates = [
            doc["_id"]
            async for doc in jobs.find(query, {"_id": 1}).limit(ctx.settings.outbox_batch_size)
        ]
        published = 0
        for job_id in candidates:
            job = await self._claim(job_id, now)
            if job is None:
                continue
            if not await self._publish(job, now):
                break  # the broker is not taking messages: try again next round
            published += 1
        return published

    def _due(self, now: datetime) -> Document:
        settings = self._ctx.settings
        return due_query(
            now=now,
            grace_seconds=settings.outbox_grace_seconds,
            overdue_seconds=settings.outbox_overdue_seconds,
            abandoned_seconds=settings.outbox_abandoned_seconds,
        )

    async def _claim(self, job_id: str, now: datetime) -> Document | None:
        until = now + timedelta(seconds=self._ctx.settings.outbox_claim_seconds)
        return await self._ctx.db[JOBS].find_one_and_update(
            {"_id": job_id, **self._due(now)},
            {"$set": {"relay_claimed_until": until}},
            return_document=ReturnDocument.AFTER,
        )

    async def _publish(self, job: Document, now: datetime) -> bool:
        jobs = self._ctx.db[JOBS]
        if not await publish_removal_request(self._ctx, job):
            await jobs.update_one({"_id": job["_id"]}, {"$set": {"relay_claimed_until": None}})
            return False
        if job["status"] != "queued":
            # abandoned mid-job: the claim stays, so it is re-sent at most once a claim period
            reason = "abandoned"
            metrics.OUTBOX_PUBLISHED.labels(reason).inc()
            log.warning("outbox relay re-sent an abandoned job", extra={"job_id": job["_id"]})
            return True
        was_unpublished = not job.get("published", False)
        fields: Document = {"published": True, "relay_claimed_until": None}
        if not was_unpublished:
            fields["next_attempt_at"] = now  # overdue again only after another full period
        await jobs.update_one({"_id": job["_id"], "status": "queued"}, {"$set": fields})
        reason = "unpublished" if was_unpublished else "overdue"
        metrics.OUTBOX_PUBLISHED.labels(reason).inc()
        log.info("outbox relay published a %s job", reason, extra={"job_id": job["_id"]})
        if was_unpublished:
            await publish_job_event(self._ctx, job, previous=None)
        return True
