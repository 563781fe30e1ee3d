"""Compare-and-set updates of `removal_jobs` by the worker (and the refund of a failure).

Every update after the claim is filtered on the job being active (processing|polling)
AND leased by this worker, so a worker whose lease expired and was taken over can
never overwrite the new owner's progress: its update matches nothing (None/False).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from git44_common.contracts import JobStatus
from git44_common.job_states import ACTIVE
from git44_common.mongo import Database

JOBS = "removal_jobs"
ACTIVE_STATUSES = sorted(str(s) for s in ACTIVE)
Document = dict[str, Any]


def owned(job_id: str, worker_id: str) -> Document:
    return {"_id": job_id, "status": {"$in": ACTIVE_STATUSES}, "lease_owner": worker_id}


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


async def get_job(db: Database, job_id: str) -> Document | None:
    return await db[JOBS].find_one({"_id": job_id})


async def _find_and_set(db: Database, filter_: Document, update: Document) -> Document | None:
    return await db[JOBS].find_one_and_update(filter_, update, return_document=ReturnDocument.AFTER)


async def claim_queued_job(
    db: Database, job_id: str, *, worker_id: str, now: datetime, lease_seconds: float
) -> Document | None:
    """queued (and due) → processing, leased to `worker_id`; None if not claimable."""
    due = {"$or": [{"next_attempt_at": None}, {"next_attempt_at": {"$lte": now}}]}
    lease = {"lease_owner": worker_id, "lease_expires_at": now + timedelta(seconds=lease_seconds)}
    return await _find_and_set(
        db,
        {"_id": job_id, "status": JobStatus.QUEUED.value, **due},
        {
            "$set": {
                "status": JobStatus.PROCESSING.value,
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
    """Take over an active job whose lease expired (its worker died); status unchanged."""
    return await _find_and_set(
        db,
        {
            "_id": job_id,
            "status": {"$in": ACTIVE_STATUSES},
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


async def renew_lease(
    db: Database, job_id: str, *, worker_id: str, now: datetime, lease_seconds: float
) -> bool:
    """Extend our lease; False when the job is no longer ours."""
    result = await db[JOBS].update_one(
        owned(job_id, worker_id),
        {"$set": {"lease_expires_at": now + timedelta(seconds=lease_seconds)}},
    )
    return result.matched_count == 1


async def give_up_lease(db: Database, job_id: str, *, worker_id: str, now: datetime) -> None:
    """Let another worker take the job over at once (we are shutting down)."""
    await db[JOBS].update_one(owned(job_id, worker_id), {"$set": {"lease_expires_at": now}})


async def store_task(
    db: Database, job: Document, *, worker_id: str, task_id: str, now: datetime
) -> Document | None:
    """Record the created upstream task (before any poll), still `processing`."""
    fields: Document = {"task_id": task_id, "task_created_at": now, "poll_count": 0}
    if job.get("started_at") is None:
        fields["started_at"] = now
    return await _find_and_set(
        db,
        {**owned(job["_id"], worker_id), "status": JobStatus.PROCESSING.value, "task_id": None},
        {"$set": {**fields, "updated_at": now}, "$inc": {"version": 1}},
    )


async def record_poll(
    db: Database, job: Document, *, worker_id: str, now: datetime
) -> Document | None:
    """One poll done: `polling`, poll_count + 1."""
    return await _find_and_set(
        db,
        {**owned(job["_id"], worker_id), "task_id": job["task_id"]},
        {
            "$set": {"status": JobStatus.POLLING.value, "updated_at": now},
            "$inc": {"poll_count": 1, "version": 1},
        },
    )


def released_lease() -> Document:
    return {"lease_owner": None, "lease_expires_at": None}


async def complete_success(
    db: Database, job: Document, *, worker_id: str, output_link: str, event_id: str, now: datetime
) -> Document | None:
    """→ success with the download link; a webhook is pending if the job has a callback."""
    return await _find_and_set(
        db,
        owned(job["_id"], worker_id),
        {
            "$set": {
                "status": JobStatus.SUCCESS.value,
                "output_link": output_link,
                "error": None,
                "completed_at": now,
                "updated_at": now,
                "webhook_pending": bool(job.get("callback_url")),
                "webhook_event_id": event_id,
                **released_lease(),
            },
            "$push": {"attempts": attempt_record(job, outcome="success", error=None, now=now)},
            "$inc": {"version": 1},
        },
    )


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
        owned(job["_id"], worker_id),
        {
            "$set": {
                "status": JobStatus.QUEUED.value,
                "error": error,
                "next_attempt_at": next_attempt_at,
                "task_id": None,
                "task_created_at": None,
                "poll_count": 0,
                "updated_at": now,
                **released_lease(),
            },
            "$push": {"attempts": attempt_record(job, outcome="retry", error=error, now=now)},
            "$inc": {"retry_count": 1, "version": 1},
        },
    )


async def wait_for_key(
    db: Database, job: Document, *, worker_id: str, until: datetime, now: datetime
) -> Document | None:
    """→ queued until `until`, keeping task and polls: no retry spent."""
    return await _find_and_set(
        db,
        owned(job["_id"], worker_id),
        {
            "$set": {
                "status": JobStatus.QUEUED.value,
                "next_attempt_at": until,
                "updated_at": now,
                **released_lease(),
            },
            "$inc": {"version": 1},
        },
    )


async def mark_webhook_requested(db: Database, job_id: str) -> None:
    await db[JOBS].update_one({"_id": job_id}, {"$set": {"webhook_pending": False}})
