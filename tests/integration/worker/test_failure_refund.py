"""The worker's failure path (`crud.failures.fail_and_refund`) against its own job-lease
heartbeat: one write of the job, the credit back once, no stall on SecantusDB."""

from __future__ import annotations

import time
from datetime import timedelta

from git44_common.clock import utc_now
from git44_common.collections import REMOVAL_JOBS, USER_QUOTAS
from git44_common.mongo import Database, MongoClient
from git44_worker.crud.failures import fail_and_refund
from git44_worker.crud.jobs import renew_job_lease
from tests.utils.background import repeating
from tests.utils.factories import charged_quota, removal_job


async def test_a_job_failing_while_its_lease_is_renewed_refunds_once_without_stalling(
    mongo_client: MongoClient, mongo_db: Database
) -> None:
    job = removal_job(user_id="u1", status="polling", lease_owner="w1")
    job["lease_expires_at"] = utc_now() + timedelta(seconds=30)
    await mongo_db[REMOVAL_JOBS].insert_one(job)
    await mongo_db[USER_QUOTAS].insert_one(charged_quota("u1", charged=1))

    async def heartbeat() -> None:
        await renew_job_lease(mongo_db, job["_id"], worker_id="w1", now=utc_now(), lease_seconds=30)
        # and a plain write of several jobs at once (the relay's or an operator's), the
        # kind that holds a collection on SecantusDB while it conflicts
        await mongo_db[REMOVAL_JOBS].update_many(
            {"_id": {"$in": [job["_id"]]}, "lease_owner": "w1"},
            {"$set": {"lease_expires_at": utc_now() + timedelta(seconds=30)}},
        )

    async def fail() -> tuple[dict | None, bool]:
        return await fail_and_refund(
            mongo_client, mongo_db, job, worker_id="w1", error="upstream failed",
            event_id="e1", now=utc_now(),
        )  # fmt: skip

    async with repeating(heartbeat) as beats:
        started = time.monotonic()
        failed, refunded = await fail()
        elapsed = time.monotonic() - started
    assert beats.count > 0
    assert refunded
    assert failed is not None
    assert (failed["status"], failed["charge"], failed["lease_owner"]) == (
        "failed",
        "refunded",
        None,
    )
    assert [a["outcome"] for a in failed["attempts"]] == ["failed"]
    # the stall this guards against lasts until the 30 s socket timeout; alone the failure
    # takes ~0.1 s, under a full test run up to ~1.5 s (the heartbeat shares the server)
    assert elapsed < 5.0, f"the failure took {elapsed:.2f} s"
    # a replay (redelivered message) finds the job no longer ours: nothing refunded twice
    assert await fail() == (None, False)
    quota = await mongo_db[USER_QUOTAS].find_one({"_id": "u1"})
    assert (quota["remaining_quota"], quota["daily_used"]) == (500, 0)
