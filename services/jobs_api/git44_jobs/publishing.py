"""Publishing after commit: `removal.requested` for the worker and the job event.

A failure here never fails the request: the job is saved with `published: false` and
the outbox relay (`outbox.py`) publishes it once the broker answers again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from git44_common.amqp import REMOVAL_REQUESTED, AmqpError, job_event_key
from git44_common.contracts import JobEvent, JobStatus, RemovalRequested
from git44_jobs import crud
from git44_jobs.context import JobsContext

log = logging.getLogger(__name__)


async def publish_removal_request(ctx: JobsContext, job: dict[str, Any]) -> bool:
    """Send the job to the worker with a publisher confirm; True when the broker took it."""
    message = RemovalRequested(
        job_id=job["_id"], user_id=job["user_id"], attempt=job.get("retry_count", 0)
    )
    try:
        await ctx.publisher.publish(
            ctx.topology.jobs_exchange,
            REMOVAL_REQUESTED,
            message,
            message_id=f"{job['_id']}:{job.get('version', 1)}",
            timeout=ctx.settings.publish_timeout_seconds,
        )
    except (AmqpError, OSError, RuntimeError) as exc:
        log.warning("removal request not published; the outbox relay will: %s", exc.__class__)
        return False
    return True


async def publish_job_event(ctx: JobsContext, job: dict[str, Any], *, previous: str | None) -> None:
    """Best effort: a job event for SSE and webhooks (the job store stays the truth)."""
    event = JobEvent(
        job_id=job["_id"],
        user_id=job["user_id"],
        status=JobStatus(job["status"]),
        previous_status=JobStatus(previous) if previous else None,
        retry_count=job.get("retry_count", 0),
        poll_count=job.get("poll_count", 0),
        output_link=job.get("output_link"),
        error=job.get("error"),
        occurred_at=job.get("updated_at") or ctx.now(),
    )
    try:
        # bounded like the request's own publish: with the broker down, the response
        # waits for neither longer than `publish_timeout_seconds`
        await ctx.publisher.publish_event(
            job_event_key(job["status"]), event, timeout=ctx.settings.publish_timeout_seconds
        )
    except (AmqpError, OSError, RuntimeError) as exc:
        log.warning("job event not published: %s", exc.__class__)


async def publish_queued_job(
    ctx: JobsContext, job: dict[str, Any], *, previous: str | None
) -> dict[str, Any]:
    """Publish a freshly queued job and announce it (both at once); once confirmed, its
    outbox flag is left to the next transaction (commits.OutboxMarks). The job."""
    published, _ = await asyncio.gather(
        publish_removal_request(ctx, job), publish_job_event(ctx, job, previous=previous)
    )
    if published:
        ctx.published.add(job["_id"])
    else:
        await crud.release_relay_claim(ctx.db, job["_id"])
    return job
