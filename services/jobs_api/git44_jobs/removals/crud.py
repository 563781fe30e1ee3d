"""Every jobs-api query on `removal_jobs`. Functions return documents or None; no HTTP errors.

The job document itself is `git44_common.jobs.record` (shared with the worker).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from git44_common.collections import REMOVAL_JOBS
from git44_common.jobs import end_job_with_refund
from git44_common.jobs.states import ACTIVE, CANCEL
from git44_common.mongo import Database, Document, IndexSpec
from git44_common.pagination import keyset_sort


def _index(name: str, *keys: tuple[str, int], partial_filter: Document | None = None) -> IndexSpec:
    return IndexSpec(
        collection=REMOVAL_JOBS, keys=list(keys), name=name, partial_filter=partial_filter
    )


INDEXES = (
    _index("user_created", ("user_id", ASCENDING), ("created_at", DESCENDING),
           ("_id", DESCENDING)),
    _index("user_status_created", ("user_id", ASCENDING), ("status", ASCENDING),
           ("created_at", DESCENDING)),
    _index("user_updated", ("user_id", ASCENDING), ("updated_at", ASCENDING)),
    _index("status_created", ("status", ASCENDING), ("created_at", DESCENDING)),
    _index("created", ("created_at", DESCENDING), ("_id", DESCENDING)),
    _index("task_id", ("task_id", ASCENDING), partial_filter={"task_id": {"$type": "string"}}),
    # the outbox relay's abandoned-job query: in-flight jobs whose lease expired
    _index("status_lease", ("status", ASCENDING), ("lease_expires_at", ASCENDING)),
    # the outbox relay's query: queued jobs not yet published or overdue
    _index("outbox", ("status", ASCENDING), ("published", ASCENDING),
           ("next_attempt_at", ASCENDING)),
    # the worker wakes the jobs waiting for the job processing the same link
    _index("flight", ("flight_key", ASCENDING), ("status", ASCENDING),
           partial_filter={"flight_key": {"$type": "string"}}),
    # a provider's callback finds its job by the task's token (providers/service.py)
    _index("callback_token", ("callback_token_hash", ASCENDING),
           partial_filter={"callback_token_hash": {"$type": "string"}}),
    # the worker wakes the jobs waiting for an upstream's circuit to close, oldest first
    _index("circuit_wait", ("circuit_wait", ASCENDING), ("created_at", ASCENDING),
           partial_filter={"circuit_wait": {"$type": "string"}}),
)  # fmt: skip


async def get_job(db: Database, job_id: str, *, user_id: str | None = None) -> Document | None:
    """The job, or None if it does not exist or belongs to someone other than `user_id`."""
    query: Document = {"_id": job_id}
    if user_id is not None:
        query["user_id"] = user_id
    return await db[REMOVAL_JOBS].find_one(query)


async def find_jobs(db: Database, query: Document, *, limit: int) -> list[Document]:
    """Jobs matching `query`, newest first ((created_at, _id) descending)."""
    cursor = db[REMOVAL_JOBS].find(query).sort(keyset_sort()).limit(limit)
    return [doc async for doc in cursor]


async def jobs_updated_since(
    db: Database, user_id: str, *, since: datetime, limit: int
) -> list[Document]:
    """The user's jobs changed after `since`, oldest change first."""
    cursor = (
        db[REMOVAL_JOBS]
        .find({"user_id": user_id, "updated_at": {"$gt": since}})
        .sort("updated_at", 1)
        .limit(limit)
    )
    return [doc async for doc in cursor]


async def insert_jobs(db: Database, jobs: list[Document], *, session: AsyncClientSession) -> None:
    """Insert in order; a duplicate `_id` raises (and aborts the transaction)."""
    await db[REMOVAL_JOBS].insert_many(jobs, ordered=True, session=session)


async def insert_job(db: Database, job: Document) -> bool:
    """Insert one job outside the submission transaction (one that charges nothing)."""
    await db[REMOVAL_JOBS].insert_one(job)
    return True


async def transition_job(
    db: Database,
    query: Document,
    update: Document | list[Document],
    *,
    session: AsyncClientSession,
) -> Document | None:
    """Compare-and-set: `update` if `query` (status included) still matches; the job before."""
    return await db[REMOVAL_JOBS].find_one_and_update(
        query, update, session=session, return_document=ReturnDocument.BEFORE
    )


async def cancel_with_refund(
    db: Database,
    job_id: str,
    *,
    user_id: str,
    now: datetime,
    session: AsyncClientSession,
    webhook_event_id: str | None = None,
) -> Document | None:
    """queued → cancelled and the credit back, in the caller's transaction; the job after,
    or None when it is not the user's queued job. With `webhook_event_id`, the job's
    `removal.cancelled` webhook is pending under that id."""
    query = {"_id": job_id, "user_id": user_id, **CANCEL.query()}
    fields: Document = {"error": None}
    if webhook_event_id is not None:
        fields.update(webhook_pending=True, webhook_event_id=webhook_event_id)
    job, _ = await end_job_with_refund(
        db, query, status=CANCEL.target, now=now, session=session, fields=fields
    )
    return job


async def mark_webhook_requested(db: Database, job_id: str) -> None:
    await db[REMOVAL_JOBS].update_one({"_id": job_id}, {"$set": {"webhook_pending": False}})


# --- the outbox (publishing `removal.requested`; see git44_jobs.outbox) ---------------


async def mark_published(db: Database, job_ids: list[str], *, session: AsyncClientSession) -> None:
    """Set the outbox flag of jobs whose `removal.requested` the broker confirmed."""
    await db[REMOVAL_JOBS].update_many(
        {"_id": {"$in": job_ids}},
        {"$set": {"published": True, "relay_claimed_until": None}},
        session=session,
    )


async def release_relay_claim(db: Database, job_id: str) -> None:
    """Let the outbox relay take the job now (its publish failed here)."""
    await db[REMOVAL_JOBS].update_one({"_id": job_id}, {"$set": {"relay_claimed_until": None}})


async def count_unpublished(db: Database) -> int:
    waiting = [{"status": "queued"}, {"status": "success", "cached": True}]
    return await db[REMOVAL_JOBS].count_documents({"$or": waiting, "published": False})


def relay_due_query(
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
                    {  # answered from the result cache: its webhook waits for this message
                        "status": "success",
                        "cached": True,
                        "published": False,
                        "updated_at": {"$lte": now - timedelta(seconds=grace_seconds)},
                    },
                    {  # cancelled before its message left, with a webhook still to ask for
                        "status": "cancelled",
                        "published": False,
                        "webhook_pending": True,
                        "updated_at": {"$lte": now - timedelta(seconds=grace_seconds)},
                    },
                    {
                        "status": {"$in": sorted(str(s) for s in ACTIVE)},
                        "lease_expires_at": {"$lte": now - timedelta(seconds=abandoned_seconds)},
                    },
                ]
            },
        ],
    }


async def find_due_ids(db: Database, due: Document, *, limit: int) -> list[str]:
    return [doc["_id"] async for doc in db[REMOVAL_JOBS].find(due, {"_id": 1}).limit(limit)]


async def claim_for_relay(
    db: Database, job_id: str, *, due: Document, until: datetime
) -> Document | None:
    """The job, claimed for the relay until `until` if it is still due; else None."""
    return await db[REMOVAL_JOBS].find_one_and_update(
        {"_id": job_id, **due},
        {"$set": {"relay_claimed_until": until}},
        return_document=ReturnDocument.AFTER,
    )


async def mark_relayed(db: Database, job_id: str, fields: Document, *, status: str) -> None:
    """The relay published the job (still in `status`): set its outbox `fields`."""
    await db[REMOVAL_JOBS].update_one({"_id": job_id, "status": status}, {"$set": fields})


# --- the admin panel's numbers ---------------------------------------------------------


async def count_by_status(db: Database) -> dict[str, int]:
    pipeline: list[Document] = [{"$group": {"_id": "$status", "count": {"$sum": 1}}}]
    cursor = await db[REMOVAL_JOBS].aggregate(pipeline)
    return {doc["_id"]: int(doc["count"]) async for doc in cursor}


async def recent_durations(db: Database, *, sample: int) -> list[float]:
    """Seconds from start to completion of the latest `sample` successful jobs."""
    query: dict[str, Any] = {
        "status": "success",
        "started_at": {"$ne": None},
        "completed_at": {"$ne": None},
    }
    cursor = (
        db[REMOVAL_JOBS]
        .find(query, {"started_at": 1, "completed_at": 1})
        .sort("completed_at", -1)
        .limit(sample)
    )
    return [(doc["completed_at"] - doc["started_at"]).total_seconds() async for doc in cursor]


async def provider_totals(db: Database) -> dict[str, dict[str, int]]:
    """Per provider holding a job's current task: jobs, succeeded, failed, polls and
    completed by the provider's callback (no poll)."""
    pipeline: list[Document] = [
        {"$match": {"provider": {"$type": "string"}}},
        {
            "$group": {
                "_id": "$provider",
                "jobs": {"$sum": 1},
                "succeeded": {"$sum": {"$cond": [{"$eq": ["$status", "success"]}, 1, 0]}},
                "failed": {"$sum": {"$cond": [{"$eq": ["$status", "failed"]}, 1, 0]}},
                "polls": {"$sum": {"$ifNull": ["$poll_count", 0]}},
                "called_back": {"$sum": {"$cond": [{"$ifNull": ["$callback.state", False]}, 1, 0]}},
            }
        },
    ]
    return {
        str(row["_id"]): {key: int(value) for key, value in row.items() if key != "_id"}
        async for row in await db[REMOVAL_JOBS].aggregate(pipeline)
    }


async def upstream_call_totals(db: Database) -> dict[tuple[str, bool], dict[str, int]]:
    """Per (status, cached): jobs, and the upstream calls their attempts made (a create
    for each attempt that got a task, plus its polls; the running attempt of an active
    job included)."""
    task_of = {"$ifNull": ["$attempts.task_id", None]}
    ended: list[Document] = [
        {"$unwind": "$attempts"},
        {
            "$group": {
                "_id": {"status": "$status", "cached": {"$ifNull": ["$cached", False]}},
                "creates": {"$sum": {"$cond": [{"$ne": [task_of, None]}, 1, 0]}},
                "polls": {"$sum": {"$ifNull": ["$attempts.polls", 0]}},
            }
        },
    ]
    counted: list[Document] = [
        {
            "$group": {
                "_id": {"status": "$status", "cached": {"$ifNull": ["$cached", False]}},
                "jobs": {"$sum": 1},
                "running_creates": {
                    "$sum": {"$cond": [{"$ne": [{"$ifNull": ["$task_id", None]}, None]}, 1, 0]}
                },
                "running_polls": {"$sum": {"$ifNull": ["$poll_count", 0]}},
            }
        },
    ]
    totals: dict[tuple[str, bool], dict[str, int]] = {}
    async for row in await db[REMOVAL_JOBS].aggregate(counted):
        group = totals.setdefault((row["_id"]["status"], bool(row["_id"]["cached"])), {})
        group["jobs"] = int(row["jobs"])
        running = row["_id"]["status"] in {str(s) for s in ACTIVE}
        group["calls"] = int(row["running_creates"] + row["running_polls"]) if running else 0
    async for row in await db[REMOVAL_JOBS].aggregate(ended):
        group = totals.setdefault((row["_id"]["status"], bool(row["_id"]["cached"])), {})
        group["calls"] = group.get("calls", 0) + int(row["creates"] + row["polls"])
    return totals


async def delete_idle_user_jobs(db: Database, user_id: str) -> int:
    """Delete the user's jobs no worker holds (queued or ended); how many.

    A job a worker claims meanwhile is either deleted first (its claim then finds
    nothing) or claimed first (and left for `count_active_user_jobs` to report).
    """
    active = sorted(str(s) for s in ACTIVE)
    result = await db[REMOVAL_JOBS].delete_many({"user_id": user_id, "status": {"$nin": active}})
    return result.deleted_count


async def count_active_user_jobs(db: Database, user_id: str) -> int:
    """How many of the user's jobs are at the upstream (processing or polling)."""
    active = sorted(str(s) for s in ACTIVE)
    return await db[REMOVAL_JOBS].count_documents({"user_id": user_id, "status": {"$in": active}})


# --- provider callbacks (git44_jobs.providers) -----------------------------------------


async def job_of_callback(db: Database, token_hash: str, provider: str) -> Document | None:
    return await db[REMOVAL_JOBS].find_one(
        {"callback_token_hash": token_hash, "provider": provider}
    )


async def store_callback(db: Database, job_id: str, result: Document) -> Document | None:
    """The job with `result` stored, unless a callback was stored already (a replay)."""
    return await db[REMOVAL_JOBS].find_one_and_update(
        {"_id": job_id, "callback": None},
        {"$set": {"callback": result}},
        return_document=ReturnDocument.AFTER,
    )
