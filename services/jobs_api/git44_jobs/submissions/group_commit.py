"""The submission transaction, shared by the submissions that arrive while one runs
(the batcher in `core/batching.py`; ADR 0005).

DESIGN section 5 wants a job's credit and its insert in one transaction:

    transaction { charge each user's n credits (one update per distinct n; a user
                  with fewer left: one at a time until refused) ;
                  insert_many(accepted jobs) ;
                  published flags waiting (outbox/flags.py) }

so each job is still charged if and only if it is inserted, and a user's quota
document is written once per batch instead of once per request (concurrent
transactions on one hot document conflict and retry). A duplicate `_id` — concurrent
copies of one idempotent request — aborts the batch; its jobs are then committed one
transaction each, which tells the duplicates apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from git44_common.clock import Clock
from git44_common.mongo import Database, Document, MongoClient, is_duplicate_key_error
from git44_jobs.core.batching import Batcher
from git44_jobs.credits import crud as credits_crud
from git44_jobs.outbox.flags import PublishedFlags
from git44_jobs.removals import crud as jobs_crud


async def charge_and_insert(
    mongo: MongoClient,
    db: Database,
    jobs: list[Document],
    *,
    now: datetime,
    flags: Sequence[str] = (),
) -> set[str]:
    """One transaction: credits charged for as many of `jobs` as their users' quotas
    allow (in order), those jobs inserted, the `flags` set published; the ids of the
    inserted jobs."""
    by_user: dict[str, list[Document]] = {}
    for job in jobs:
        by_user.setdefault(job["user_id"], []).append(job)
    counts = {user_id: len(own) for user_id, own in by_user.items()}
    accepted: list[Document] = []

    async def unit(session: AsyncClientSession) -> None:
        accepted.clear()  # with_transaction may run the unit again
        granted = await credits_crud.charge_users(db, counts, now=now, session=session)
        for user_id, own in by_user.items():
            accepted.extend(own[: granted[user_id]])
        if accepted:
            await jobs_crud.insert_jobs(db, accepted, session=session)
        if flags:  # last: see outbox/flags.py
            await jobs_crud.mark_published(db, list(flags), session=session)

    async with mongo.start_session() as session:
        # retries the whole unit on transient errors (a write conflict on a quota
        # document with another replica, a refund or an admin change)
        await session.with_transaction(unit)
    return {job["_id"] for job in accepted}


def submission_batcher(
    mongo: MongoClient, db: Database, clock: Clock, *, max_batch: int, flags: PublishedFlags
) -> Batcher[Document, bool]:
    """Per job: True if it was inserted with its credit, False if its quota refused it;
    a duplicate `_id` raises that job's DuplicateKeyError. Waiting outbox flags ride
    along."""

    async def flush(jobs: list[Document]) -> list[bool | BaseException]:
        taken = flags.take()
        try:
            inserted = await charge_and_insert(mongo, db, jobs, now=clock(), flags=taken)
        except Exception as exc:
            flags.give_back(taken)
            if len(jobs) == 1 or not is_duplicate_key_error(exc):
                raise
            return [await _commit_alone(mongo, db, job, clock) for job in jobs]
        return [job["_id"] in inserted for job in jobs]

    return Batcher(flush, max_batch=max_batch, name="submissions")


async def _commit_alone(
    mongo: MongoClient, db: Database, job: Document, clock: Clock
) -> bool | BaseException:
    try:
        return job["_id"] in await charge_and_insert(mongo, db, [job], now=clock())
    except Exception as exc:
        return exc
