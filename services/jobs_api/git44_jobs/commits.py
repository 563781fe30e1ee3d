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

Outbox flags: after the broker confirmed `removal.requested`, the job id waits in
`OutboxMarks` (the request does not). The next submission transaction sets
`published: true` for every waiting id as its last statement; when none comes within
`linger` seconds, a transaction of their own does. If the flag is lost (crash,
database error), the relay re-publishes the job once its claim lapses, and the worker
drops the duplicate by compare-and-set.

The flag is written only inside transactions, and as the transaction's last write to
`removal_jobs`: on SecantusDB a plain write that conflicts with an open transaction
retries while holding the collection, so a transaction writing that collection again
afterwards waits for it until a socket timeout (a deadlock mongod does not have; seen
with a cancel right after the 202). The worker's plain claim may conflict with the
flag; with nothing after it but the commit, it only waits for that commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from git44_common.mongo import Database, MongoClient, is_duplicate_key_error
from git44_jobs import crud
from git44_jobs.coalesce import Coalescer

log = logging.getLogger(__name__)

Document = dict[str, Any]


async def reserve_and_insert(
    mongo: MongoClient,
    db: Database,
    jobs: list[Document],
    *,
    now: datetime,
    marks: Sequence[str] = (),
) -> set[str]:
    """One transaction: credits reserved for as many of `jobs` as their users' quotas
    allow (in order), those jobs inserted, the `marks` flagged published; the ids of the
    inserted jobs."""
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
        if marks:  # last: see the module docstring
            await crud.mark_published(db, list(marks), session=session)

    async with mongo.start_session() as session:
        # retries the whole unit on transient errors (a write conflict on a quota
        # document with another replica, a refund or an admin change)
        await session.with_transaction(unit)
    return {job["_id"] for job in accepted}


class OutboxMarks:
    """Ids of jobs whose `removal.requested` was confirmed, waiting for their flag."""

    def __init__(self, mongo: MongoClient, db: Database, *, linger: float = 0.05) -> None:
        self._mongo = mongo
        self._db = db
        self._linger = linger
        self._ids: list[str] = []
        self._flusher: asyncio.Task[None] | None = None

    def add(self, job_id: str) -> None:
        self.give_back([job_id])

    def take(self) -> list[str]:
        """Every waiting id (for a transaction about to run)."""
        ids, self._ids = self._ids, []
        return ids

    def give_back(self, ids: list[str]) -> None:
        """Ids whose transaction failed wait again."""
        self._ids.extend(ids)
        if ids and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.create_task(self._flush_when_idle(), name="outbox-marks")

    async def close(self) -> None:
        """Flag what is still waiting (at shutdown)."""
        if self._flusher is not None:
            self._flusher.cancel()
        await self._flush(self.take())

    async def _flush_when_idle(self) -> None:
        while self._ids:
            await asyncio.sleep(self._linger)  # a submission transaction may take them
            await self._flush(self.take())

    async def _flush(self, ids: list[str]) -> None:
        if not ids:
            return
        try:
            async with self._mongo.start_session() as session:

                async def unit(session: Any) -> None:
                    await crud.mark_published(self._db, ids, session=session)

                await session.with_transaction(unit)
        except Exception as exc:
            log.warning("outbox flags not set; the relay will publish again: %s", exc.__class__)


def submission_commits(
    mongo: MongoClient,
    db: Database,
    clock: Callable[[], datetime],
    *,
    max_batch: int,
    marks: OutboxMarks,
) -> Coalescer[Document, bool]:
    """Per job: True if it was inserted with its credit, False if its quota refused it;
    a duplicate `_id` raises that job's DuplicateKeyError. Waiting outbox flags ride
    along."""

    async def flush(jobs: list[Document]) -> list[bool | BaseException]:
        taken = marks.take()
        try:
            inserted = await reserve_and_insert(mongo, db, jobs, now=clock(), marks=taken)
        except Exception as exc:
            marks.give_back(taken)
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
