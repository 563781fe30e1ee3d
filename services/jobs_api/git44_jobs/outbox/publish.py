"""Publishing after commit: `removal.requested` for the worker and the job event.

A failure here never fails the request: the job is saved with `published: false` and
the outbox relay (`relay.py`) publishes it once the broker answers again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from git44_common.amqp import (
    REMOVAL_REQUESTED,
    WEBHOOK_DELIVER,
    AmqpError,
    Publisher,
    Topology,
    job_event_key,
)
from git44_common.contracts import RemovalRequested
from git44_common.jobs import job_event
from git44_common.mongo import Database, Document
from git44_common.webhook_endpoints import ended_job_request
from git44_jobs.outbox.flags import PublishedFlags
from git44_jobs.removals import crud as jobs_crud

log = logging.getLogger(__name__)


@dataclass
class Outbox:
    """Publishes jobs after their commit; `publisher` may be swapped at run time (tests,
    broker outages). Every publish waits at most `timeout` seconds for its confirm."""

    publisher: Publisher
    topology: Topology
    db: Database
    flags: PublishedFlags
    timeout: float

    async def request_removal(self, job: Document) -> bool:
        """Send the job to the worker with a publisher confirm; True when the broker took it."""
        message = RemovalRequested(
            job_id=job["_id"], user_id=job["user_id"], attempt=job.get("retry_count", 0)
        )
        try:
            await self.publisher.publish(
                self.topology.jobs_exchange,
                REMOVAL_REQUESTED,
                message,
                message_id=f"{job['_id']}:{job.get('version', 1)}",
                timeout=self.timeout,
            )
        except (AmqpError, OSError, RuntimeError) as exc:
            log.warning("removal request not published; the outbox relay will: %s", exc.__class__)
            return False
        return True

    async def announce(self, job: Document, *, previous: str | None) -> None:
        """Best effort: a job event for SSE and webhooks (the job store stays the truth)."""
        event = job_event(job, previous=previous)
        try:
            # bounded like the request's own publish: with the broker down, the response
            # waits for neither longer than `timeout`
            await self.publisher.publish_event(
                job_event_key(job["status"]), event, timeout=self.timeout
            )
        except (AmqpError, OSError, RuntimeError) as exc:
            log.warning("job event not published: %s", exc.__class__)

    async def request_webhook(self, job: Document) -> None:
        """Ask the worker to send an ended job's pending webhook (a cancel here). If the
        broker does not take it, the flag stays: the worker that gets the job's own
        message (queued or delayed; the outbox relay publishes one that never left)
        asks for it then."""
        if not job.get("webhook_pending") or not job.get("webhook_event_id"):
            return
        request = ended_job_request(job)
        try:
            await self.publisher.publish(
                self.topology.jobs_exchange,
                WEBHOOK_DELIVER,
                request,
                message_id=request.event_id,
                timeout=self.timeout,
            )
        except (AmqpError, OSError, RuntimeError) as exc:
            log.warning("webhook request not published; the job's message brings it: %s", exc)
            return
        await jobs_crud.mark_webhook_requested(self.db, str(job["_id"]))

    async def publish_queued(self, job: Document, *, previous: str | None) -> Document:
        """Publish a freshly queued job and announce it (both at once); once confirmed, its
        outbox flag is left to the next transaction (`flags.PublishedFlags`). The job."""
        published, _ = await asyncio.gather(
            self.request_removal(job), self.announce(job, previous=previous)
        )
        if published:
            self.flags.add(job["_id"])
        else:
            await jobs_crud.release_relay_claim(self.db, job["_id"])
        return job
