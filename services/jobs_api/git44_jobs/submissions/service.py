"""Submitting a removal: charge a credit and insert the job in one transaction, then publish.

    check links → (idempotency, see git44_jobs.idempotency) → ensure the quota exists →
    result cache? → transaction { charge a credit ; insert job queued (or success,
    `cached`), published false } → publish

A link whose result is cached (git44_jobs.results) gives a job that is already `success`
with no upstream call; it costs `JOBS_CACHE_HIT_CREDITS` (1 or 0: then it is inserted
alone, uncharged).

The transaction is shared with the submissions that arrive while another one runs
(`group_commit.py`): each job is still charged if and only if it is inserted. The job
id is chosen before the transaction, so a retried or concurrent duplicate of an
idempotent request collides on `_id`: its transaction aborts (its credit with it) and
it answers with the job that won.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from git44_common.clock import Clock
from git44_common.contracts import JobStatus
from git44_common.exceptions import InvalidLink, ValidationFailed
from git44_common.faults import fault_point
from git44_common.jobs import Source, new_job_document
from git44_common.links import validate_callback_url, validate_sora_link
from git44_common.mongo import Database, Document, is_duplicate_key_error
from git44_common.tracing import traceparent
from git44_common.webhook_endpoints import EndpointDirectory
from git44_jobs import metrics
from git44_jobs.core.batching import Batcher
from git44_jobs.credits import service as credits
from git44_jobs.outbox.publish import Outbox
from git44_jobs.removals import crud as jobs_crud
from git44_jobs.results.service import ResultCache, complete_from_cache


@dataclass(frozen=True, kw_only=True)
class Submission:
    user_id: str
    source: Source
    input_link: str
    callback_url: str | None = None
    api_key_id: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, kw_only=True)
class LinkRules:
    """Which Sora hosts are accepted; whether callbacks may target private addresses."""

    sora_hosts: tuple[str, ...]
    allow_private_callbacks: bool

    def check(self, input_link: object, callback_url: object = None) -> tuple[str, str | None]:
        """The canonical Sora link and the callback URL, or ValidationFailed (422)."""
        try:
            link = validate_sora_link(input_link, allowed_hosts=self.sora_hosts)
        except InvalidLink as exc:
            raise _invalid("inputLink", str(exc)) from None
        if callback_url is None:
            return link, None
        try:
            callback = validate_callback_url(
                callback_url, allow_private=self.allow_private_callbacks
            )
        except InvalidLink as exc:
            raise _invalid("callbackUrl", str(exc)) from None
        return link, callback


def _invalid(field: str, reason: str) -> ValidationFailed:
    metrics.SUBMISSIONS.labels("invalid").inc()
    error = {"loc": ["body", field], "msg": reason, "type": "invalid_link"}
    return ValidationFailed(reason, errors=[error])


@dataclass(frozen=True, kw_only=True)
class Submitter:
    """Creates charged, queued jobs and publishes them."""

    db: Database
    quotas: credits.Quotas
    batcher: Batcher[Document, bool]
    outbox: Outbox
    cache: ResultCache
    cache_hit_credits: int
    clock: Clock
    max_retries: int
    max_polls: int
    # how long the relay leaves a just-submitted job to the request that publishes it
    request_claim_seconds: float
    # whose endpoints want the success of a job answered from the cache
    endpoints: EndpointDirectory

    async def submit(self, submission: Submission, *, job_id: str) -> Document:
        """The queued job (202), created with `job_id` unless a job with that id exists."""
        if submission.idempotency_key is not None:  # without one, `job_id` is brand new
            existing = await jobs_crud.get_job(self.db, job_id, user_id=submission.user_id)
            if existing is not None:
                return existing
        now = self.clock()
        await self.quotas.ensure(self.db, submission.user_id, now=now)
        job = self._new_job(submission, job_id=job_id, now=now)
        cached = await self.cache.lookup(submission.input_link, submission.user_id, now=now)
        if cached is not None:
            wanted = bool(job.get("callback_url")) or await self.endpoints.wants(
                submission.user_id, JobStatus.SUCCESS
            )
            complete_from_cache(job, cached, now=now, webhook_pending=wanted)
        try:
            if cached is not None and self.cache_hit_credits == 0:
                job["charge"] = None  # nothing to refund, ever
                inserted = await jobs_crud.insert_job(self.db, job)
            else:
                inserted = await self.batcher.submit(job)
        except Exception as exc:
            if not is_duplicate_key_error(exc):
                raise
            inserted = False
        if not inserted:
            return await self._existing_or_refusal(submission.user_id, job_id, now=now)
        metrics.SUBMISSIONS.labels("accepted").inc()
        fault_point("jobs.after_commit")  # tests only: the relay must publish it
        previous = "queued" if cached is not None else None
        return await self.outbox.publish_queued(job, previous=previous)

    def _new_job(self, submission: Submission, *, job_id: str, now: datetime) -> Document:
        job = new_job_document(
            job_id=job_id,
            now=now,
            max_retries=self.max_retries,
            max_polls=self.max_polls,
            **asdict(submission),
        )
        # This request publishes the job itself right after the commit: keep the relay
        # off it meanwhile (released at once if the publish fails), so a normal
        # submission is published once, not also by the relay.
        job["relay_claimed_until"] = now + timedelta(seconds=self.request_claim_seconds)
        if (parent := traceparent()) is not None:
            job["traceparent"] = parent  # a relay that publishes it continues its trace
        return job

    async def _existing_or_refusal(self, user_id: str, job_id: str, *, now: datetime) -> Document:
        existing = await jobs_crud.get_job(self.db, job_id, user_id=user_id)
        if existing is not None:
            return existing
        refusal = await credits.refusal(self.db, user_id, now=now)
        metrics.SUBMISSIONS.labels(refusal.code).inc()
        raise refusal
