"""The request path's database writes, coalesced (see coalesce.py and ADR 0005).

Submissions: DESIGN section 5 wants a job's credit and its insert in one transaction.
Submissions that arrive while a transaction runs share the next one:

    transaction { reserve each user's n credits (one update per distinct n; a user
                  with fewer left: one at a time until refused) ;
                  insert_many(accepted jobs) }

so each job is still charged if and only if it is inserted, and a user's quota
document is written once per batch instead of once per request (concurrent
transactions on one hot document conflict and retry). A duplicate `_id` — concurrent
copies of one idempotent request — aborts the batch; its jobs are then committed one
transaction each, which tells the duplicates apart.

Outbox flags: after the broker confirmed `removal.requested`, the job's `published`
flag is set by one `update_many` for every job confirmed meanwhile. The request does
not wait for it: if it is lost (crash, database error), the relay re-publishes the
job once its claim lapses, and the worker drops the duplicate by compare-and-set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from git44_common.mongo import Database, MongoClient, is_duplicate_key_error
from git44_jobs import crud
from git44_jobs.coalesce import Coalescer

log = logging.getLogger(__name__)

Document = dict[str, Any]


async def reserve_and_insert(
    mongo: MongoClient, db: Database, jobs: list[Document], *, now: datetime
) -> set[str]:
    """One transaction: credits reserved for as many of `jobs` as their users' quotas
    allow (in order), those jobs inserted; the ids of the inserted jobs."""
    by_user: dict[str, list[Document]] = {}
    for job in jobs:
        by_user.setdefault(job["user_id"], []).append(job)
    accepted: list[Document] = []

    counts = {user_id: len(own) for user_id, own in by_user.items()}

    async def unit(session: Any) -> None:
        accepted.clear()  # with_transaction may run the unit again
        granted = await crud.reserve_for_users(db, counts, now=now, session=session)
        for user_id, own in by_user.items():
            accepted.extend(own[: granted[user_id]])
        if accepted:
            await crud.insert_jobs(db, accepted, session=session)

    async with mongo.start_session() as session:
        # retries the whole unit on transient errors (a write conflict on a quota
        # document with another replica, a refund or an admin change)
        await session.with_transaction(unit)
    return {job["_id"] for job in accepted}


def submission_commits(
    mongo: MongoClient, db: Database, clock: Callable[[], datetime], *, max_batch: int
) -> Coalescer[Document, bool]:
    """Per job: True if it was inserted with its credit, False if its quota refused it;
    a duplicate `_id` raises that job's DuplicateKeyError."""

    async def flush(jobs: list[Document]) -> list[bool | BaseException]:
        try:
            inserted = await reserve_and_insert(mongo, db, jobs, now=clock())
        except Exception as exc:
            if len(jobs) == 1 or not is_duplicate_key_error(exc):
                raise
            return [await _commit_alone(mongo, db, job, clock) for job in jobs]
        return [job["_id"] in inserted for job in jobs]

    return Coalescer(flush, max_batch=max_batch, name="submissions")


async def _commit_alone(
    mongo: MongoClient, db: Database, job: Document, clock: Callable[[], datetime]
) -> bool | BaseException:
    try:
        return job["_id"] in await reserve_and_insert(mongo, db, [job], now=clock())
    except Exception as exc:
        return exc


def published_marks(db: Database, *, max_batch: int) -> Coalescer[str, None]:
    """Job ids whose `removal.requested` was confirmed: `published: true` in one update."""

    async def flush(job_ids: list[str]) -> list[None | BaseException]:
        try:
            await crud.mark_published(db, job_ids)
        except Exception as exc:
            log.warning("outbox flags not set; the relay will publish again: %s", exc.__class__)
        return [None] * len(job_ids)

    return Coalescer(flush, max_batch=max_batch, name="published-marks")
