"""Compare-and-set updates of `removal_jobs` by the worker (the failure, with its refund,
is in `crud.failures`).

Each transition filters on its `Transition.query()` (git44_common.jobs.states). Every
update after the claim is also filtered on the job lease being this worker's
(`lease_owner`), so a worker whose job lease expired and was taken over can never
overwrite the new owner's progress: its update matches nothing (None/False).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo import ReturnDocument

from git44_common.collections import REMOVAL_JOBS
from git44_common.contracts import JobStatus
from git44_common.jobs.states import (
    ACTIVE,
    CACHE_HIT,
    CLAIM,
    RECORD_POLL,
    REQUEUE_ACTIVE,
    STORE_TASK,
    SUCCEED,
    Transition,
)
from git44_common.mongo import Database, Document

ACTIVE_QUERY: Document = {"status": {"$in": sorted(str(s) for s in ACTIVE)}}


def owned(job_id: str, worker_id: str, move: Transition | None = None) -> Document:
    """Our job: leased by `worker_id`, in a status `move` starts from (default: active)."""
    status = move.query() if move is not None else ACTIVE_QUERY
    return {"_id": job_id, **status, "lease_owner": worker_id}


def attempt_record(job: Document, *, outcome: str, error: str | None, now: datetime) -> Document:
    return {
        "number": int(job.get("retry_count") or 0) + 1,
        "started_at": job.get("task_created_at") or job.get("started_at"),
        "ended_at": now,
        "outcome": outcome,
        "error": error,
        "task_id": job.get("task_id"),
        "polls": int(job.get("poll_count") or 0),
    }


def released_job_lease() -> Document:
    return {"lease_owner": None, "lease_expires_at": None}


async def get_job(db: Database, job_id: str) -> Document | None:
    return await db[REMOVAL_JOBS].find_one({"_id": job_id})


async def _find_and_set(db: Database, filter_: Document, update: Document) -> Document | None:
    return await db[REMOVAL_JOBS].find_one_and_update(
        filter_, update, return_document=ReturnDocument.AFTER
    )


async def claim_queued_job(
    db: Database,
    job_id: str,
    *,
    worker_id: str,
    now: datetime,
    lease_seconds: float,
    due_by: datetime | None = None,
) -> Document | None:
    """queued (and due by `due_by`, default `now`) → processing, leased to `worker_id`;
    None if not claimable."""
    due_by = due_by or now
    due = {"$or": [{"next_attempt_at": None}, {"next_attempt_at": {"$lte": due_by}}]}
    lease = {"lease_owner": worker_id, "lease_expires_at": now + timedelta(seconds=lease_seconds)}
    return await _find_and_set(
        db,
        {"_id": job_id, **CLAIM.query(), **due},
        {
            "$set": {
                "status": str(CLAIM.target),
                **lease,
                "next_attempt_at": None,
                "updated_at": now,
            },
            "$inc": {"version": 1},
        },
    )


async def take_over_expired_job(
    db: Database, job_id: str, *, worker_id: str, now: datetime, lease_seconds: float
) -> Document | None:
    """Take over an active job whose job lease expired (its worker died); status unchanged."""
    return await _find_and_set(
        db,
        {
            "_id": job_id,
            **ACTIVE_QUERY,
            "$or": [{"lease_expires_at": {"$lt": now}}, {"lease_expires_at": None}],
        },
        {
            "$set": {
                "lease_owner": worker_id,
                "lease_expires_at": now + timedelta(seconds=lease_seconds),
                "updated_at": now,
            }
        },
    )


async def renew_job_lease(
    db: Database, job_id: str, *, worker_id: str, now: datetime, lease_seconds: float
) -> bool:
    """Extend our job lease; False when the job is no longer ours."""
    result = await db[REMOVAL_JOBS].update_one(
        owned(job_id, worker_id),
        {"$set": {"lease_expires_at": now + timedelta(seconds=lease_seconds)}},
    )
    return result.matched_count == 1


async def give_up_job_lease(db: Database, job_id: str, *, worker_id: str, now: datetime) -> None:
    """Let another worker take the job over at once (we are shutting down)."""
    await db[REMOVAL_JOBS].update_one(owned(job_id, worker_id), {"$set": {"lease_expires_at": now}})


async def store_task(
    db: Database,
    job: Document,
    *,
    worker_id: str,
    task_id: str,
    now: datetime,
    estimated_ready_at: datetime | None = None,
    provider: str | None = None,
    callback_token_hash: str | None = None,
) -> Document | None:
    """Record the created upstream task (before any poll), its provider and the hash of
    its callback token (None: it is polled), still `processing`."""
    fields: Document = {
        "task_id": task_id,
        "provider": provider,
        "callback_token_hash": callback_token_hash,
        "task_created_at": now,
        "poll_count": 0,
        "estimated_ready_at": estimated_ready_at,
    }
    if job.get("started_at") is None:
        fields["started_at"] = now
    return await _find_and_set(
        db,
        {**owned(job["_id"], worker_id, STORE_TASK), "task_id": None},
        {"$set": {**fields, "updated_at": now}, "$inc": {"version": 1}},
    )


async def record_poll(
    db: Database,
    job: Document,
    *,
    worker_id: str,
    now: datetime,
    estimated_ready_at: datetime | None = None,
) -> Document | None:
    """One poll done: `polling`, poll_count + 1 (and the new estimate of readiness)."""
    fields: Document = {"estimated_ready_at": estimated_ready_at} if estimated_ready_at else {}
    return await _find_and_set(
        db,
        {**owned(job["_id"], worker_id, RECORD_POLL), "task_id": job["task_id"]},
        {
            "$set": {"status": str(RECORD_POLL.target), "updated_at": now, **fields},
            "$inc": {"poll_count": 1, "version": 1},
        },
    )


async def complete_success(
    db: Database,
    job: Document,
    *,
    worker_id: str,
    output_link: str,
    event_id: str,
    now: datetime,
    polls: int = 0,
    ready_window: tuple[float, float] | None = None,
    first_poll_at: float | None = None,
    webhook_pending: bool = False,
) -> Document | None:
    """→ success with the download link, counting `polls` more polls (the one that found
    the task done is recorded here, not on its own); `webhook_pending`: its webhook
    is to be sent (a callback URL or a subscribed endpoint). `ready_window`
    (low, high]: where the task's ready time lay, in
    seconds after its creation — what the poll policy learnt from this job, kept so
    that a worker starting later learns it too (`recent_learning`), with
    `first_poll_at`, where the policy sent first polls then."""
    update = _success_update(
        job,
        output_link=output_link,
        event_id=event_id,
        now=now,
        polls=polls,
        webhook_pending=webhook_pending,
    )
    if ready_window is not None:
        update["$set"]["ready_window"] = [round(ready_window[0], 3), round(ready_window[1], 3)]
    if first_poll_at is not None:
        update["$set"]["first_poll_at"] = round(first_poll_at, 3)
    return await _find_and_set(db, owned(job["_id"], worker_id, SUCCEED), update)


def _success_update(
    job: Document,
    *,
    output_link: str,
    event_id: str,
    now: datetime,
    cached: bool = False,
    polls: int = 0,
    webhook_pending: bool,
) -> Document:
    """→ success with `output_link`; its webhook pending if `webhook_pending`."""
    job = {**job, "poll_count": int(job.get("poll_count") or 0) + polls}
    fields: Document = {"cached": True, "next_attempt_at": None} if cached else {}
    if cached and job.get("started_at") is None:
        fields["started_at"] = now
    outcome = "cached" if cached else "success"
    return {
        "$set": {
            "status": str(JobStatus.SUCCESS),
            "output_link": output_link,
            "error": None,
            "completed_at": now,
            "updated_at": now,
            "webhook_pending": webhook_pending,
            "webhook_event_id": event_id,
            "estimated_ready_at": None,
            **fields,
            **released_job_lease(),
        },
        "$push": {"attempts": attempt_record(job, outcome=outcome, error=None, now=now)},
        "$inc": {"version": 1, "poll_count": polls},
    }


async def schedule_retry(
    db: Database,
    job: Document,
    *,
    worker_id: str,
    error: str,
    next_attempt_at: datetime,
    now: datetime,
) -> Document | None:
    """→ queued with retry_count + 1; the next attempt creates a new task."""
    return await _find_and_set(
        db,
        owned(job["_id"], worker_id, REQUEUE_ACTIVE),
        {
            "$set": {
                "status": str(REQUEUE_ACTIVE.target),
                "error": error,
                "next_attempt_at": next_attempt_at,
                "task_id": None,
                "task_created_at": None,
                "poll_count": 0,
                "waiting": False,
                "updated_at": now,
                **released_job_lease(),
            },
            "$push": {"attempts": attempt_record(job, outcome="retry", error=error, now=now)},
            "$inc": {"retry_count": 1, "version": 1},
        },
    )


async def wait_for_key(
    db: Database,
    job: Document,
    *,
    worker_id: str,
    until: datetime,
    now: datetime,
    flight_key: str | None = None,
    circuit: str | None = None,
) -> Document | None:
    """→ queued until `until`, keeping task and polls: no retry spent. With `flight_key`
    the job waits for the job leading that flight instead, which wakes it earlier; with
    `circuit`, for that upstream's circuit to close (which wakes it too)."""
    fields: Document = {"flight_key": flight_key} if flight_key is not None else {}
    if circuit is not None:
        fields["circuit_wait"] = circuit
    return await _find_and_set(
        db,
        owned(job["_id"], worker_id, REQUEUE_ACTIVE),
        {
            "$set": {
                "status": str(REQUEUE_ACTIVE.target),
                "next_attempt_at": until,
                "updated_at": now,
                "waiting": True,  # the claim that ends the wait is no progress news
                **fields,
                **released_job_lease(),
            },
            "$inc": {"version": 1},
        },
    )


async def complete_from_cache(
    db: Database,
    job: Document,
    *,
    output_link: str,
    event_id: str,
    now: datetime,
    webhook_pending: bool,
) -> Document | None:
    """queued → success with a cached result (no upstream call); None if the job moved."""
    update = _success_update(
        job,
        output_link=output_link,
        event_id=event_id,
        now=now,
        cached=True,
        webhook_pending=webhook_pending,
    )
    return await _find_and_set(db, {"_id": job["_id"], **CACHE_HIT.query()}, update)


async def wake_flight_followers(db: Database, key: str, *, now: datetime) -> list[Document]:
    """The queued jobs waiting for the flight `key`, made due now."""
    waiting = {"flight_key": key, "status": "queued"}
    followers = [doc async for doc in db[REMOVAL_JOBS].find(waiting, {"user_id": 1})]
    if followers:
        ids = [doc["_id"] for doc in followers]
        await db[REMOVAL_JOBS].update_many(
            {**waiting, "_id": {"$in": ids}}, {"$set": {"next_attempt_at": now}}
        )
    return followers


async def mark_webhook_requested(db: Database, job_id: str) -> None:
    await db[REMOVAL_JOBS].update_one({"_id": job_id}, {"$set": {"webhook_pending": False}})


@dataclass(frozen=True)
class Learnt:
    """What earlier workers learnt: their tasks' ready windows (oldest first) and where
    they sent first polls at their latest successes (newest first)."""

    windows: list[tuple[float, float]]
    first_polls: list[float]


async def recent_learning(
    db: Database, *, limit: int, since: datetime, max_seconds: float = 2.0
) -> Learnt:
    """The `ready_window`s (and `first_poll_at`s) of the latest `limit` successes created
    after `since` that have one. Read once at start-up, newest first through the
    `status_created` index, for at most `max_seconds` (then the server stops it: an
    ExecutionTimeout)."""
    cursor = (
        db[REMOVAL_JOBS]
        .find(
            {
                "status": str(JobStatus.SUCCESS),
                "created_at": {"$gte": since},
                "ready_window": {"$type": "array"},
            },
            {"ready_window": 1, "first_poll_at": 1},
        )
        .sort([("status", 1), ("created_at", -1)])
        .limit(limit)
        .max_time_ms(int(max_seconds * 1000))
    )
    docs = [doc async for doc in cursor if len(doc["ready_window"]) == 2]
    windows = [(float(d["ready_window"][0]), float(d["ready_window"][1])) for d in docs]
    first_polls = [float(d["first_poll_at"]) for d in docs if d.get("first_poll_at")]
    return Learnt(windows=windows[::-1], first_polls=first_polls)
