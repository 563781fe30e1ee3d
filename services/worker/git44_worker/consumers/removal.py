"""Consumer of `git44.removal`: claim the job, run it (`job_run`), ack when state is saved.

What a `RemovalRequested` leads to, by the job's state:

- missing, success, failed, cancelled → ack and drop (a pending webhook request of a
  terminal job is published first);
- queued with no task yet, its link's result cached → success at once (queued →
  success, `cached: true`, no upstream call), with its event and webhook;
- queued, due → claimed (queued → processing) and worked on;
- queued, `next_attempt_at` ahead (a retry backoff or a key cooldown) → re-delayed for
  the remainder, since delay tiers are coarse;
- processing/polling with an expired job lease (its worker died) → taken over,
  resuming from the stored `task_id`;
- processing/polling leased by a live worker → re-delayed until the job lease would have
  expired: if that worker is alive the job will be done by then, else we take over.

The handler returns only after the state is saved, so the message is acked then.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from aio_pika.abc import AbstractIncomingMessage

from git44_common.amqp import Publisher, QueueFamily
from git44_common.clock import utc_now
from git44_common.contracts import JobStatus, RemovalRequested, new_event_id
from git44_common.jobs import TERMINAL
from git44_common.mongo import Document
from git44_worker import metrics, setbacks
from git44_worker.context import WorkerContext
from git44_worker.crud import jobs as crud
from git44_worker.crud import results
from git44_worker.domain.retry import DUE_TOLERANCE_SECONDS, is_due, seconds_until
from git44_worker.job_run import run_job

log = logging.getLogger(__name__)

# A live job lease is waited out a little past its end, so the takeover finds it expired.
LEASE_MARGIN_SECONDS = 0.5


class RemovalConsumer:
    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.db = ctx.db
        self.publisher: Publisher = ctx.publisher

    async def handle(self, request: RemovalRequested, message: AbstractIncomingMessage) -> None:
        """Handle one `removal.requested` message (the consumer acks when this returns)."""
        claimed = await self.claim(request)
        if claimed is not None:
            await run_job(self.ctx, claimed)

    async def claim(self, request: RemovalRequested) -> Document | None:
        """The job, claimed by this worker; None when there is nothing to do now."""
        doc = await crud.get_job(self.db, request.job_id)
        if doc is None:
            log.warning("dropping a request for an unknown job", extra={"job_id": request.job_id})
            return None
        status = JobStatus(doc["status"])
        if status in TERMINAL:
            await self.ctx.notifier.request_webhook(doc)
            return None
        if status is JobStatus.QUEUED:
            if not doc.get("task_id") and await self._complete_from_cache(doc):
                return None
            return await self._claim_queued(request, doc)
        return await self._take_over(request, doc)

    async def _complete_from_cache(self, doc: Document) -> bool:
        """True when the job was completed with its link's cached result."""
        cache = self.settings.result_cache
        if not cache.enabled:
            return False
        now = utc_now()
        key = cache.key(doc["input_link"], doc["user_id"])
        cached = await results.find_usable(self.db, key, usable_after=cache.usable_after(now))
        metrics.RESULT_CACHE.labels("miss" if cached is None else "hit").inc()
        if cached is None:
            return False
        event_id = new_event_id()
        done = await crud.complete_from_cache(
            self.db,
            doc,
            output_link=cached["output_link"],
            event_id=event_id,
            now=now,
            webhook_pending=await self.ctx.notifier.webhook_wanted(doc, JobStatus.SUCCESS),
        )
        if done is None:  # cancelled or claimed meanwhile: the usual path decides
            return False
        setbacks.observe_terminal(done, outcome="success")
        log.info("job completed from the result cache", extra={"job_id": doc["_id"]})
        await self.ctx.notifier.job_changed(done, previous=JobStatus.QUEUED, event_id=event_id)
        await self.ctx.notifier.request_webhook(done)
        return True

    async def _claim_queued(self, request: RemovalRequested, doc: Document) -> Document | None:
        now = utc_now()
        if not is_due(doc.get("next_attempt_at"), now):
            await self._redelay(request, seconds_until(doc.get("next_attempt_at"), now))
            return None
        claimed = await crud.claim_queued_job(
            self.db,
            request.job_id,
            worker_id=self.settings.worker_id,
            now=now,
            lease_seconds=self.settings.lease_seconds,
            due_by=now + timedelta(seconds=DUE_TOLERANCE_SECONDS),  # as `is_due` above
        )
        if claimed is not None:
            # the claim that ends a wait is no news (the job was processing before)
            await self.ctx.notifier.job_changed(
                claimed, previous=JobStatus.QUEUED, progress=not claimed.get("waiting")
            )
            return claimed
        # Another worker claimed it between our read and our write, or it went back to
        # waiting meanwhile (a cancel ends it): never drop a queued job's message.
        current = await crud.get_job(self.db, request.job_id)
        if current is None or JobStatus(current["status"]) in TERMINAL:
            return None
        if JobStatus(current["status"]) is JobStatus.QUEUED:
            await self._redelay(request, seconds_until(current.get("next_attempt_at"), utc_now()))
            return None
        return await self._take_over(request, current)

    async def _take_over(self, request: RemovalRequested, doc: Document) -> Document | None:
        now = utc_now()
        expires_at = doc.get("lease_expires_at")
        if is_due(expires_at, now):
            taken = await crud.take_over_expired_job(
                self.db,
                request.job_id,
                worker_id=self.settings.worker_id,
                now=now,
                lease_seconds=self.settings.lease_seconds,
            )
            if taken is not None:
                log.info("took over a job whose worker stopped", extra={"job_id": request.job_id})
                return taken
        await self._redelay(request, seconds_until(expires_at, now) + LEASE_MARGIN_SECONDS)
        return None

    async def _redelay(self, request: RemovalRequested, seconds: float) -> None:
        tier = await self.publisher.publish_delayed(QueueFamily.REMOVAL, request, seconds)
        log.debug(
            "re-delayed by %ss (wanted %.1fs)", tier, seconds, extra={"job_id": request.job_id}
        )
