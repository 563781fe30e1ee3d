"""Setbacks: how a job run ends when it does not succeed — retry, fail with a refund,
wait for a key, or wait for the job processing the same link.

- retry: `retry_count + 1`, back to `queued` with `next_attempt_at` = now + backoff and
  a delayed `removal.requested`; the next attempt creates a new task;
- fail (retries used up): `failed`, `error`, `completed_at` and, in the same
  transaction, the credit refunded exactly once;
- wait for a key: back to `queued` until the cooldown ends (or a short delay when no
  key is available), keeping the stored task and polls; no retry is spent; the same
  for an upstream whose circuit is open (until its next probe, or its closing);
- wait for a flight: back to `queued` (`flight_key` set) until the leading job ends and
  wakes it, or `WORKER_FLIGHT_RECHECK_SECONDS`; no retry is spent.

A function returns quietly when the job turned out not to be ours any more.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from git44_common.amqp import REMOVAL_REQUESTED, QueueFamily
from git44_common.clock import utc_now
from git44_common.contracts import JobStatus, RemovalRequested, new_event_id
from git44_common.jobs import DEFAULT_MAX_RETRIES
from git44_common.mongo import Document
from git44_worker import metrics
from git44_worker.context import WorkerContext
from git44_worker.crud import failures, results
from git44_worker.crud import jobs as crud
from git44_worker.domain.retry import retry_delay
from git44_worker.exceptions import FlightWait, KeysCoolingDown, KeyWait, UpstreamDown

log = logging.getLogger(__name__)


def _extra(doc: Document) -> dict[str, Any]:
    return {"job_id": doc["_id"], "user_id": doc.get("user_id")}


async def retry_or_fail(ctx: WorkerContext, doc: Document, error: str) -> None:
    """Retry the job if it has retries left, else fail it (and refund)."""
    retry_count = int(doc.get("retry_count") or 0)
    if retry_count < int(doc.get("max_retries", DEFAULT_MAX_RETRIES)):
        await retry(ctx, doc, error, retry_number=retry_count + 1)
    else:
        await fail(ctx, doc, error)


async def retry(ctx: WorkerContext, doc: Document, error: str, *, retry_number: int) -> None:
    s = ctx.settings
    delay = retry_delay(
        retry_number,
        base=s.retry_backoff_seconds,
        factor=s.retry_backoff_factor,
        maximum=s.retry_backoff_max_seconds,
    )
    previous, now = JobStatus(doc["status"]), utc_now()
    saved = await crud.schedule_retry(
        ctx.db,
        doc,
        worker_id=s.worker_id,
        error=error,
        next_attempt_at=now + timedelta(seconds=delay),
        now=now,
    )
    if saved is None:
        return _lost(doc)
    metrics.RETRIES.inc()
    metrics.JOBS.labels("retried").inc()
    log.info("attempt failed, retrying in %.1fs: %s", delay, error, extra=_extra(doc))
    await ctx.notifier.job_changed(saved, previous=previous)
    await requeue(ctx, saved, delay)


async def fail(ctx: WorkerContext, doc: Document, error: str) -> None:
    previous, event_id = JobStatus(doc["status"]), new_event_id()
    failed, refunded = await failures.fail_and_refund(
        ctx.mongo,
        ctx.db,
        doc,
        worker_id=ctx.settings.worker_id,
        error=error,
        event_id=event_id,
        now=utc_now(),
        webhook_pending=await ctx.notifier.webhook_wanted(doc, JobStatus.FAILED),
    )
    if failed is None:
        return _lost(doc)
    if refunded:
        metrics.REFUNDS.inc()
    observe_terminal(failed, outcome="failed")
    log.warning("job failed: %s", error, extra={**_extra(doc), "refunded": refunded})
    await ctx.notifier.job_changed(failed, previous=previous, event_id=event_id)
    await ctx.notifier.request_webhook(failed)


async def wait_for_key(ctx: WorkerContext, doc: Document, wait: KeyWait) -> None:
    now = utc_now()
    until = wait.until if isinstance(wait, KeysCoolingDown | UpstreamDown) else None
    until = until or now + timedelta(seconds=wait.delay_seconds)
    previous = JobStatus(doc["status"])
    circuit = wait.upstream if isinstance(wait, UpstreamDown) else None
    saved = await crud.wait_for_key(
        ctx.db, doc, worker_id=ctx.settings.worker_id, until=until, now=now, circuit=circuit
    )
    if saved is None:
        return _lost(doc)
    metrics.JOBS.labels("waiting").inc()
    log.info("waiting for a key until %s: %s", until.isoformat(), wait.reason, extra=_extra(doc))
    await ctx.notifier.job_changed(saved, previous=previous, progress=False)
    await requeue(ctx, saved, max((until - now).total_seconds(), 0.0))


async def wait_for_flight(ctx: WorkerContext, doc: Document, wait: FlightWait) -> None:
    now = utc_now()
    delay = ctx.settings.flight_recheck_seconds
    previous = JobStatus(doc["status"])
    saved = await crud.wait_for_key(
        ctx.db,
        doc,
        worker_id=ctx.settings.worker_id,
        until=now + timedelta(seconds=delay),
        now=now,
        flight_key=wait.key,
    )
    if saved is None:
        return _lost(doc)
    metrics.FLIGHT_JOINS.inc()
    log.info("waiting for the job processing the same link", extra=_extra(doc))
    await ctx.notifier.job_changed(saved, previous=previous, progress=False)
    if await results.flight_leader(ctx.db, wait.key) != wait.leader:
        # the leader ended before we were queued, so its wake-up missed us: look now
        await crud.wake_flight_followers(ctx.db, wait.key, now=now)
        delay = 0.0
    await requeue(ctx, saved, delay)


async def end_flight(ctx: WorkerContext, doc: Document, key: str, *, succeeded: bool) -> None:
    """The job `doc` led the flight `key` and is done with it: wake the jobs waiting for
    it, which find the result in the cache or lead in turn.

    After a failed attempt the flight is deleted (the job may lead again when it
    retries). After a success it is left for the next job that finds it to replace: the
    cache answers before anyone looks at the flight, its leader has ended, and a write
    per job is saved; the TTL index drops the ones nobody replaces.
    """
    now = utc_now()
    if not succeeded:
        await results.end_flight(ctx.db, key, job_id=str(doc["_id"]))
    for follower in await crud.wake_flight_followers(ctx.db, key, now=now):
        request = RemovalRequested(job_id=str(follower["_id"]), user_id=str(follower["user_id"]))
        await ctx.publisher.publish(
            ctx.publisher.topology.jobs_exchange, REMOVAL_REQUESTED, request
        )


async def requeue(ctx: WorkerContext, doc: Document, delay: float) -> None:
    """Bring the job back after `delay`; raising here leaves the message un-acked."""
    request = RemovalRequested(
        job_id=str(doc["_id"]),
        user_id=str(doc["user_id"]),
        attempt=int(doc.get("retry_count") or 0),
    )
    await ctx.publisher.publish_delayed(QueueFamily.REMOVAL, request, delay)


def observe_terminal(doc: Document, *, outcome: str) -> None:
    metrics.JOBS.labels(outcome).inc()
    metrics.POLLS_PER_JOB.observe(int(doc.get("poll_count") or 0))
    created, completed = doc.get("created_at"), doc.get("completed_at")
    if created is not None and completed is not None:
        metrics.JOB_DURATION.observe(max((completed - created).total_seconds(), 0.0))


def _lost(doc: Document) -> None:
    log.warning("lost the job to another worker", extra=_extra(doc))
