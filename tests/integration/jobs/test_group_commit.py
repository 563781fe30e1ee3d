"""Group commit (submissions/group_commit.py) on a real MongoDB-wire server: one transaction
for many submissions still charges a job if and only if it is inserted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo.errors import BulkWriteError

from git44_common.jobs import new_job_document, new_job_id
from git44_common.mongo import Database, MongoClient, ensure_indexes, is_duplicate_key_error
from git44_common.quota import new_quota_document
from git44_jobs.core.batching import Batcher
from git44_jobs.core.db import INDEXES
from git44_jobs.outbox.flags import PublishedFlags
from git44_jobs.submissions.group_commit import charge_and_insert, submission_batcher

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def job(user_id: str, job_id: str | None = None) -> dict[str, Any]:
    return new_job_document(
        job_id=job_id or new_job_id(), user_id=user_id, source="web",
        input_link="https://sora.chatgpt.com/p/s_0123456789ab", now=NOON,
        max_retries=3, max_polls=8,
    )  # fmt: skip


def commits_on(mongo: MongoClient, db: Database, *, max_batch: int) -> Batcher[Any, bool]:
    return submission_batcher(
        mongo, db, lambda: NOON, max_batch=max_batch, flags=PublishedFlags(mongo, db)
    )


async def quotas(db: Database, **users: tuple[int, int]) -> None:
    """users: name=(remaining credits, daily limit)."""
    await ensure_indexes(db, INDEXES)
    for name, (total, daily) in users.items():
        await db.user_quotas.insert_one(
            new_quota_document(name, total=total, daily_limit=daily, now=NOON)
        )


async def remaining(db: Database) -> dict[str, tuple[int, int]]:
    return {q["_id"]: (q["remaining_quota"], q["daily_used"]) async for q in db.user_quotas.find()}


async def test_one_transaction_charges_exactly_the_jobs_it_inserts(
    mongo_client: MongoClient, mongo_db: Database
) -> None:
    # rich: plenty; two: 2 credits for 3 jobs; capped: daily limit 1; broke: nothing left
    await quotas(mongo_db, rich=(100, 100), two=(2, 100), capped=(100, 1), broke=(0, 100))
    batch = [
        job("rich"), job("two"), job("capped"), job("broke"), job("two"),
        job("rich"), job("two"), job("capped"),
    ]  # fmt: skip
    inserted = await charge_and_insert(mongo_client, mongo_db, batch, now=NOON)
    expected = [0, 1, 2, 4, 5]  # each user's jobs in arrival order, as far as credits go
    assert inserted == {batch[i]["_id"] for i in expected}
    stored = {j["_id"] async for j in mongo_db.removal_jobs.find({}, {"_id": 1})}
    assert stored == inserted
    assert await remaining(mongo_db) == {
        "rich": (98, 2), "two": (0, 2), "capped": (99, 1), "broke": (0, 0),
    }  # fmt: skip


async def test_a_duplicate_id_aborts_the_batch_then_each_job_commits_alone(
    mongo_client: MongoClient, mongo_db: Database
) -> None:
    await quotas(mongo_db, a=(10, 10), b=(10, 10))
    taken = job("a")
    await charge_and_insert(mongo_client, mongo_db, [taken], now=NOON)  # 1 credit of a
    copy, fresh_a, fresh_b = job("a", taken["_id"]), job("a"), job("b")
    with pytest.raises(BulkWriteError) as aborted:
        await charge_and_insert(mongo_client, mongo_db, [fresh_a, copy, fresh_b], now=NOON)
    assert is_duplicate_key_error(aborted.value)
    assert await remaining(mongo_db) == {"a": (9, 1), "b": (10, 0)}  # nothing kept

    # through the coalescer: the batch falls back to one transaction per job
    commits = commits_on(mongo_client, mongo_db, max_batch=10)
    results = await asyncio.gather(
        *(commits.submit(j) for j in (job("a"), job("a", taken["_id"]), job("b"))),
        return_exceptions=True,
    )
    assert (results[0], results[2]) == (True, True)
    assert isinstance(results[1], BaseException)
    assert is_duplicate_key_error(results[1])
    assert await remaining(mongo_db) == {"a": (8, 2), "b": (9, 1)}
    assert await mongo_db.removal_jobs.count_documents({}) == 3


async def test_concurrent_submissions_of_many_users_never_exceed_any_quota(
    mongo_client: MongoClient, mongo_db: Database
) -> None:
    users = {f"u{i}": (i, 100) for i in range(6)}  # u0 has 0 credits ... u5 has 5
    await quotas(mongo_db, **users)
    commits = commits_on(mongo_client, mongo_db, max_batch=16)
    jobs = [job(f"u{i % 6}") for i in range(60)]  # 10 jobs per user
    results = await asyncio.gather(*(commits.submit(j) for j in jobs))
    accepted = [j for j, ok in zip(jobs, results, strict=True) if ok]
    per_user = {u: sum(1 for j in accepted if j["user_id"] == u) for u in users}
    assert per_user == {f"u{i}": i for i in range(6)}
    assert await mongo_db.removal_jobs.count_documents({}) == len(accepted) == 15
    assert all(left == 0 for left, _ in (await remaining(mongo_db)).values())


async def published(db: Database) -> set[str]:
    return {j["_id"] async for j in db.removal_jobs.find({"published": True}, {"_id": 1})}


async def test_outbox_flags_ride_along_with_the_next_submission_transaction(
    mongo_client: MongoClient, mongo_db: Database
) -> None:
    await quotas(mongo_db, a=(10, 10))
    marks = PublishedFlags(mongo_client, mongo_db, linger=60)  # never flushes by itself here
    commits = submission_batcher(mongo_client, mongo_db, lambda: NOON, max_batch=10, flags=marks)
    first = job("a")
    assert await commits.submit(first) is True
    marks.add(first["_id"])
    assert await published(mongo_db) == set()
    second = job("a")
    assert await commits.submit(second) is True  # its transaction flags the first job
    assert await published(mongo_db) == {first["_id"]}
    assert marks.take() == []
    await marks.close()


async def test_outbox_flags_are_set_on_their_own_when_no_submission_comes(
    mongo_client: MongoClient, mongo_db: Database
) -> None:
    await quotas(mongo_db, a=(10, 10))
    marks = PublishedFlags(mongo_client, mongo_db, linger=0.01)
    jobs = [job("a"), job("a")]
    await charge_and_insert(mongo_client, mongo_db, jobs, now=NOON)
    for j in jobs:
        marks.add(j["_id"])
    for _ in range(100):
        if await published(mongo_db) == {j["_id"] for j in jobs}:
            break
        await asyncio.sleep(0.05)
    assert await published(mongo_db) == {j["_id"] for j in jobs}
    await marks.close()
