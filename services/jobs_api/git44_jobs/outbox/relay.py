"""The outbox relay: publishes queued jobs the request path could not (DESIGN section 5).

Every `outbox_interval_seconds` it looks for `queued` jobs that are

- unpublished (`published: false`) for longer than `outbox_grace_seconds` — the broker
  was down, or the process died between the commit and the publish; or
- overdue: their `next_attempt_at` (a worker's delayed retry) passed more than
  `outbox_overdue_seconds` ago without the job moving — the delayed message was lost;

for `success` jobs answered from the result cache and unpublished as long (their
webhook is sent by the worker that gets their message);

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

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel

from git44_common.clock import Clock
from git44_common.mongo import Database, Document
from git44_common.tasks import run_every
from git44_common.tracing import restored, tracer
from git44_jobs import metrics
from git44_jobs.outbox.publish import Outbox
from git44_jobs.removals import crud as jobs_crud

log = logging.getLogger(__name__)
TRACER = tracer(__name__)


@dataclass(frozen=True, kw_only=True)
class RelayTiming:
    """The relay's settings (JOBS_OUTBOX_*; see core/config.py)."""

    outbox_interval_seconds: float
    outbox_grace_seconds: float
    outbox_overdue_seconds: float
    outbox_abandoned_seconds: float
    outbox_claim_seconds: float
    outbox_batch_size: int

    @classmethod
    def of(cls, settings: BaseModel) -> RelayTiming:
        """The relay's values of `settings`."""
        return cls(**settings.model_dump(include=set(cls.__dataclass_fields__)))


class OutboxRelay:
    def __init__(self, db: Database, outbox: Outbox, timing: RelayTiming, clock: Clock) -> None:
        self._db = db
        self._outbox = outbox
        self._timing = timing
        self._clock = clock

    async def run(self) -> None:
        """Relay forever (a lifespan task; cancelled at shutdown)."""
        await run_every(self._timing.outbox_interval_seconds, self.relay_once, what="outbox relay")

    async def relay_once(self) -> int:
        """One round; returns how many jobs were published."""
        metrics.OUTBOX_BACKLOG.set(await jobs_crud.count_unpublished(self._db))
        now = self._clock()
        due = self._due(now)
        candidates = await jobs_crud.find_due_ids(
            self._db, due, limit=self._timing.outbox_batch_size
        )
        published = 0
        for job_id in candidates:
            until = now + timedelta(seconds=self._timing.outbox_claim_seconds)
            job = await jobs_crud.claim_for_relay(self._db, job_id, due=due, until=until)
            if job is None:
                continue
            if not await self._publish(job, now):
                break  # the broker is not taking messages: try again next round
            published += 1
        return published

    def _due(self, now: datetime) -> Document:
        timing = self._timing
        return jobs_crud.relay_due_query(
            now=now,
            grace_seconds=timing.outbox_grace_seconds,
            overdue_seconds=timing.outbox_overdue_seconds,
            abandoned_seconds=timing.outbox_abandoned_seconds,
        )

    async def _publish(self, job: Document, now: datetime) -> bool:
        """Publish `job` in the trace of the submission that stored it."""
        with (
            restored(job.get("traceparent")),
            TRACER.start_as_current_span(
                "outbox relay", attributes={"git44.job_id": str(job["_id"])}
            ),
        ):
            return await self._publish_in_trace(job, now)

    async def _publish_in_trace(self, job: Document, now: datetime) -> bool:
        if not await self._outbox.request_removal(job):
            await jobs_crud.release_relay_claim(self._db, job["_id"])
            return False
        if job["status"] in ("processing", "polling"):
            # abandoned mid-job: the claim stays, so it is re-sent at most once a claim period
            metrics.OUTBOX_PUBLISHED.labels("abandoned").inc()
            log.warning("outbox relay re-sent an abandoned job", extra={"job_id": job["_id"]})
            return True
        was_unpublished = not job.get("published", False)
        fields: Document = {"published": True, "relay_claimed_until": None}
        if not was_unpublished:
            fields["next_attempt_at"] = now  # overdue again only after another full period
        await jobs_crud.mark_relayed(self._db, job["_id"], fields, status=job["status"])
        reason = "unpublished" if was_unpublished else "overdue"
        metrics.OUTBOX_PUBLISHED.labels(reason).inc()
        log.info("outbox relay published a %s job", reason, extra={"job_id": job["_id"]})
        if was_unpublished:
            await self._outbox.announce(job, previous=None)
        return True
