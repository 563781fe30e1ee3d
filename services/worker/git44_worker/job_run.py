"""A job run: one claimed job worked through — create the task, poll it, finish, or
hand it to `setbacks` (retry, fail, wait for a key).

    claimed ─► lead the link's flight ─► create task (key lease) ─► store task_id
                    │                      ─► poll … ─► cache the result ─► success
                    │                           │         (wake the jobs that waited)
                    │                           └── upstream error / task failed / polls
                    │                               run out ─► retry | failed+refund
                    └── another job leads it ─► queued until that job ends (no retry spent)
    any step: every key cooling down / no key ─► queued until then (no retry spent)

A job whose link's result is cached never gets here: the consumer completes it at once
(`consumers/removal.py`), as jobs-api does at submission.

A job whose `task_id` is stored (a redelivery, a takeover after a crash, the end of a
key wait) resumes polling that task; it never creates a second one. A retry is a new
attempt and creates a new task: the old one failed or did not finish in `max_polls`
polls, so it is presumed stuck (its id stays in `attempts[]`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from git44_common.clock import utc_now
from git44_common.contracts import JobStatus, new_event_id
from git44_common.faults import fault_point
from git44_common.jobs import DEFAULT_MAX_POLLS, TERMINAL
from git44_common.logs import redact
from git44_common.mongo import Document
from git44_worker import metrics, setbacks
from git44_worker.adapters.provider import Provider
from git44_worker.adapters.removesora import (
    TaskCreated,
    TaskFailed,
    TaskProcessing,
    TaskSucceeded,
    UpstreamError,
)
from git44_worker.callbacks import new_callback_token
from git44_worker.context import WorkerContext
from git44_worker.crud import jobs as crud
from git44_worker.crud import results
from git44_worker.exceptions import AttemptFailed, FlightWait, JobLeaseLost, KeyWait
from git44_worker.job_lease import job_lease_heartbeat

log = logging.getLogger(__name__)
OutcomeT = TypeVar("OutcomeT")

# A first poll sent this much later than planned (a wait for a key) is off schedule.
LATE_POLL_SECONDS = 0.2


async def run_job(ctx: WorkerContext, doc: Document) -> None:
    """Work on `doc`, which this worker has just claimed."""
    await JobRun(ctx, doc).execute()


class JobRun:
    """One run of one job by this worker; `doc` follows every saved change."""

    def __init__(self, ctx: WorkerContext, doc: Document) -> None:
        self.ctx = ctx
        self.doc = doc
        self.job_id = str(doc["_id"])
        self.worker_id = ctx.settings.worker_id
        self.log_extra = {"job_id": self.job_id, "user_id": doc.get("user_id")}
        cache = ctx.settings.result_cache
        # the link's flight (and result cache) key; None: no cache, no flights
        self.flight_key = cache.key(doc["input_link"], doc["user_id"]) if cache.enabled else None
        # where the task's ready time lies (s after its creation), once a poll found it done
        self._ready_window: tuple[float, float] | None = None
        self._created_task = False  # this run created the job's task
        self._first_poll_at: float | None = None  # the policy's, when this one succeeded

    async def execute(self) -> None:
        s = self.ctx.settings
        async with job_lease_heartbeat(
            self.ctx.db,
            self.job_id,
            worker_id=self.worker_id,
            every=s.heartbeat_seconds,
            lease_seconds=s.lease_seconds,
        ):
            try:
                await self._work()
            except KeyWait as wait:
                await setbacks.wait_for_key(self.ctx, self.doc, wait)
            except FlightWait as wait:
                await setbacks.wait_for_flight(self.ctx, self.doc, wait)
            except AttemptFailed as failure:
                await setbacks.retry_or_fail(self.ctx, self.doc, redact(failure.error))
                if self.flight_key is not None:  # the waiting jobs try on their own
                    await setbacks.end_flight(self.ctx, self.doc, self.flight_key, succeeded=False)
            except JobLeaseLost:
                log.warning("lost the job to another worker", extra=self.log_extra)
            except asyncio.CancelledError:
                # Shutting down: let another worker take over now, not after the job lease.
                await crud.give_up_job_lease(
                    self.ctx.db, self.job_id, worker_id=self.worker_id, now=utc_now()
                )
                raise

    async def _work(self) -> None:
        if not self.doc.get("task_id"):
            await self._lead_flight()
            await self._create_task()
        called_back = await self._await_callback()
        if called_back is not None:
            await self._succeed(called_back, polls=0)
            return
        download_url = await self._poll_until_done()
        await self._succeed(download_url)

    def _saved(self, doc: Document | None) -> Document:
        if doc is None:
            raise JobLeaseLost(self.job_id)
        self.doc = doc
        return doc

    async def _lead_flight(self) -> None:
        """Lead the flight for this job's link, or raise FlightWait for its leader."""
        key = self.flight_key
        if key is None:
            return
        for _ in range(3):
            leader = await results.lead_or_join(self.ctx.db, key, job_id=self.job_id, now=utc_now())
            if leader == self.job_id:
                return
            holder = await crud.get_job(self.ctx.db, leader)
            if holder is not None and JobStatus(holder["status"]) not in TERMINAL:
                raise FlightWait(key, leader=leader)
            # the leader ended without ending its flight (cancelled, or crashed right
            # after its success): take its place, unless another job just did
            if await results.replace_leader(
                self.ctx.db, key, leader=leader, job_id=self.job_id, now=utc_now()
            ):
                return
        raise FlightWait(key, leader=leader)

    async def _call(
        self, provider: Provider, op: str, call: Callable[[str], Awaitable[OutcomeT]]
    ) -> OutcomeT:
        """One call to `provider` — under a key lease, or with its own key — let through
        by the circuit breakers; UpstreamDown (the job waits) instead of a failure when
        an upstream on its path is down."""
        breakers = self.ctx.breakers
        permit = await breakers.permit(provider.upstreams)
        metrics.PROVIDER_CALLS.labels(provider.name, op).inc()
        try:
            own_key = provider.own_key()
            if own_key is None:
                outcome = await self.ctx.leaser.call_with_key(job_id=self.job_id, op=op, call=call)
            else:
                metrics.UPSTREAM_CALLS.labels(op).inc()
                outcome = await call(own_key)
        except BaseException:
            await breakers.abandon(permit)
            raise
        down = await breakers.record(permit, outcome)
        if down is not None:
            raise down
        return outcome

    async def _create_task(self) -> None:
        link = str(self.doc["input_link"])
        await self.ctx.breakers.refresh()
        provider = self.ctx.providers.for_new_task(self.ctx.breakers.healthy)
        callback_url, token_hash = self._callback_for(provider.name, provider.callbacks)
        outcome = await self._call(
            provider,
            "create",
            lambda key: provider.create(api_key=key, video_url=link, callback_url=callback_url),
        )
        if not isinstance(outcome, TaskCreated):
            reason = outcome.reason if isinstance(outcome, UpstreamError) else "key refused"
            raise AttemptFailed(f"RemoveSora did not create a task ({reason})")
        fault_point("worker.after_task_created")  # tests only: the gap ADR 0004 accepts
        now = utc_now()
        saved = await crud.store_task(
            self.ctx.db,
            self.doc,
            worker_id=self.worker_id,
            task_id=outcome.task_id,
            provider=provider.name,
            callback_token_hash=token_hash,
            now=now,
            estimated_ready_at=self._estimated_ready_at(now),
        )
        self._saved(saved)
        self._created_task = True
        log.info("task created", extra={**self.log_extra, "task_id": outcome.task_id})

    def _callback_for(self, provider: str, callbacks: bool) -> tuple[str | None, str | None]:
        """The callback URL for a new task (with the hash to store), if the provider
        calls back and a public base URL is set."""
        base = self.ctx.settings.callback_base_url
        if not callbacks or not base:
            return None, None
        token, token_hash = new_callback_token()
        return f"{base.rstrip('/')}/api/providers/{provider}/callback/{token}", token_hash

    async def _await_callback(self) -> str | None:
        """Wait for the provider's callback, up to the policy's first poll and a grace;
        the download link it brought (None: none came, poll as usual). AttemptFailed
        when it said the task failed."""
        if not self.doc.get("callback_token_hash") or int(self.doc.get("poll_count") or 0):
            return None
        waiters = self.ctx.callbacks
        arrived = waiters.register(self.job_id)
        try:
            first_poll = self.ctx.policy.next_delay(poll_number=1, elapsed=self._elapsed())
            wait = first_poll + self.ctx.settings.callback_grace_seconds
            doc = await crud.get_job(self.ctx.db, self.job_id)  # it may have come already
            if doc is not None and not doc.get("callback"):
                try:
                    async with asyncio.timeout(wait):
                        await arrived.wait()
                except TimeoutError:
                    metrics.CALLBACKS.labels("late").inc()
                    return None
                doc = await crud.get_job(self.ctx.db, self.job_id)
        finally:
            waiters.forget(self.job_id)
        result = (doc or {}).get("callback") or {}
        if result.get("task_id") != self.doc.get("task_id"):
            return None
        if result.get("state") == "success" and result.get("output_link"):
            metrics.CALLBACKS.labels("success").inc()
            return str(result["output_link"])
        if result.get("state") == "fail":
            metrics.CALLBACKS.labels("failed").inc()
            raise AttemptFailed(str(result.get("error") or "the task failed upstream"))
        return None

    def _elapsed(self) -> float:
        created = self.doc.get("task_created_at") or self.doc.get("started_at") or utc_now()
        return (utc_now() - created).total_seconds()

    async def _poll_until_done(self) -> str:
        last_processing = 0.0
        # whether the first poll went out when the policy planned it: a task created in
        # this run, its poll not held up by a wait for a key (else the policy learns the
        # interval, but not that its first poll came early or late)
        on_schedule = self._created_task
        max_polls = int(self.doc.get("max_polls", DEFAULT_MAX_POLLS))
        while int(self.doc.get("poll_count") or 0) < max_polls:
            number = int(self.doc.get("poll_count") or 0) + 1
            elapsed = self._elapsed()
            delay = self.ctx.policy.next_delay(poll_number=number, elapsed=elapsed)
            await asyncio.sleep(delay)
            outcome, sent_at = await self._poll_once()
            if number == 1 and sent_at > elapsed + delay + LATE_POLL_SECONDS:
                on_schedule = False
            if isinstance(outcome, TaskSucceeded):
                if number == 1 or last_processing > 0:  # else the lower bound is unknown
                    self.ctx.policy.observe(
                        last_processing_at=last_processing,
                        success_at=sent_at,
                        on_schedule=on_schedule,
                    )
                    self._ready_window = (last_processing, sent_at)
                    self._first_poll_at = self.ctx.policy.first_poll_at
                return outcome.download_url
            if isinstance(outcome, TaskFailed):
                raise AttemptFailed(outcome.error)
            if isinstance(outcome, TaskProcessing):
                last_processing = sent_at
            # An UpstreamError spends a poll but not the attempt: the task lives on.
        raise AttemptFailed(f"the task did not finish within {max_polls} polls")

    async def _poll_once(self) -> tuple[object, float]:
        """The poll's outcome and when it was sent (seconds after the task's creation:
        taken once a key is leased, as the request leaves — the time the policy
        schedules, without the wait for a key)."""
        task_id = str(self.doc["task_id"])
        provider = self.ctx.providers.for_job(self.doc)
        sent_at = 0.0

        async def poll(key: str) -> object:
            nonlocal sent_at
            sent_at = self._elapsed()
            return await provider.status(api_key=key, task_id=task_id)

        outcome = await self._call(provider, "poll", poll)
        if isinstance(outcome, TaskSucceeded):
            return outcome, sent_at  # counted by the success's own write: one write less
        previous, now = JobStatus(self.doc["status"]), utc_now()
        saved = await crud.record_poll(
            self.ctx.db,
            self.doc,
            worker_id=self.worker_id,
            now=now,
            estimated_ready_at=self._estimated_ready_at(now),
        )
        await self.ctx.notifier.job_changed(self._saved(saved), previous=previous)
        return outcome, sent_at

    def _estimated_ready_at(self, now: datetime) -> datetime | None:
        """When the poll policy expects this job's task ready (None: it cannot say)."""
        created = self.doc.get("task_created_at") or now
        after = self.ctx.policy.estimated_ready_after((now - created).total_seconds())
        return None if after is None else created + timedelta(seconds=after)

    async def _succeed(self, download_url: str, *, polls: int = 1) -> None:
        """`polls`: the poll that found the task done, not recorded on its own (0 when
        the provider called back)."""
        previous, event_id, now = JobStatus(self.doc["status"]), new_event_id(), utc_now()
        if self.flight_key is not None:
            # cached before the job succeeds: a crash in between leaves the result where
            # the waiting jobs look first
            await results.remember(
                self.ctx.db,
                self.flight_key,
                link=str(self.doc["input_link"]),
                output_link=download_url,
                expires_at=self.ctx.settings.result_cache.expires_at(download_url, now=now),
                job_id=self.job_id,
                task_id=self.doc.get("task_id"),
                now=now,
            )
        saved = await crud.complete_success(
            self.ctx.db,
            self.doc,
            worker_id=self.worker_id,
            output_link=download_url,
            event_id=event_id,
            now=now,
            polls=polls,
            ready_window=self._ready_window,
            first_poll_at=self._first_poll_at,
            webhook_pending=await self.ctx.notifier.webhook_wanted(self.doc, JobStatus.SUCCESS),
        )
        doc = self._saved(saved)
        setbacks.observe_terminal(doc, outcome="success")
        log.info("job succeeded", extra=self.log_extra)
        await self.ctx.notifier.job_changed(doc, previous=previous, event_id=event_id)
        await self.ctx.notifier.request_webhook(doc)
        if self.flight_key is not None:
            await setbacks.end_flight(self.ctx, doc, self.flight_key, succeeded=True)
