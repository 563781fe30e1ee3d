"""The one refund (`git44_common.jobs.end_job_with_refund`) on a real MongoDB-wire server."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from git44_common.collections import REMOVAL_JOBS, USER_QUOTAS
from git44_common.jobs import JobStatus, end_job_with_refund, new_job_document
from git44_common.mongo import Database, Document, MongoClient
from git44_common.quota import new_quota_document, reserve_update
from tests.utils.background import repeating

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ATTEMPT = {"number": 1, "outcome": "failed", "error": "$upstream said no", "ended_at": NOON}


async def charged_job(db: Database, *, status: str = "polling", owner: str = "w1") -> Document:
    """A job whose credit was taken (the quota shows it) and that `owner` holds."""
    await db[USER_QUOTAS].insert_one(new_quota_document("u1", total=5, daily_limit=5, now=NOON))
    await db[USER_QUOTAS].update_one({"_id": "u1"}, reserve_update(NOON))
    job = new_job_document(
        job_id="j1", user_id="u1", source="web", input_link="https://sora.chatgpt.com/p/s_1",
        now=NOON,
    )  # fmt: skip
    job |= {"status": status, "lease_owner": owner, "lease_expires_at": NOON}
    await db[REMOVAL_JOBS].insert_one(job)
    return job


async def fail(client: MongoClient, db: Database, query: Document) -> tuple[Document | None, bool]:
    async with client.start_session() as session:

        async def unit(session: object) -> tuple[Document | None, bool]:
            return await end_job_with_refund(
                db, query, status=JobStatus.FAILED, now=NOON, session=session,  # type: ignore[arg-type]
                fields={"error": "$upstream said no", "lease_owner": None}, attempt=ATTEMPT,
            )  # fmt: skip

        return await session.with_transaction(unit)


async def test_a_failure_flips_status_and_charge_in_one_write_and_refunds_once(
    mongo_client: MongoClient, mongo_db: Database
) -> None:
    await charged_job(mongo_db)
    query = {"_id": "j1", "status": {"$in": ["processing", "polling"]}, "lease_owner": "w1"}
    after, refunded = await fail(mongo_client, mongo_db, query)
    assert refunded
    assert after is not None
    assert (after["status"], after["charge"], after["version"]) == ("failed", "refunded", 2)
    # values are set as given, even one that looks like a field path
    assert after["error"] == "$upstream said no"
    assert after["lease_owner"] is None
    assert [a["error"] for a in after["attempts"]] == ["$upstream said no"]
    quota = await mongo_db[USER_QUOTAS].find_one({"_id": "u1"})
    assert (quota["remaining_quota"], quota["daily_used"]) == (5, 0)
    # a replay matches nothing (the job is no longer active): nothing refunded twice
    assert await fail(mongo_client, mongo_db, query) == (None, False)
    quota = await mongo_db[USER_QUOTAS].find_one({"_id": "u1"})
    assert quota["remaining_quota"] == 5


async def test_a_job_whose_charge_was_already_refunded_refunds_nothing(
    mongo_client: MongoClient, mongo_db: Database
) -> None:
    await charged_job(mongo_db)
    await mongo_db[REMOVAL_JOBS].update_one({"_id": "j1"}, {"$set": {"charge": "refunded"}})
    after, refunded = await fail(mongo_client, mongo_db, {"_id": "j1"})
    assert after is not None
    assert after["status"] == "failed"
    assert not refunded
    quota = await mongo_db[USER_QUOTAS].find_one({"_id": "u1"})
    assert quota["remaining_quota"] == 4


async def test_a_failure_while_the_job_lease_is_renewed_refunds_once_without_stalling(
    mongo_client: MongoClient, mongo_db: Database
) -> None:
    """Regression: the worker's failure path used to write the job twice in one
    transaction; a lease renewal (a plain write) between the two held the transaction
    up on SecantusDB until a socket timeout."""
    await charged_job(mongo_db)
    owned = {"_id": "j1", "status": {"$in": ["processing", "polling"]}, "lease_owner": "w1"}

    async def renew_lease() -> None:
        until = datetime.now(UTC) + timedelta(seconds=30)
        # a multi-document write, as in docs/reliability.md's reproduction (a plain
        # single-document update does not hold the collection on SecantusDB)
        await mongo_db[REMOVAL_JOBS].update_many(owned, {"$set": {"lease_expires_at": until}})

    async with repeating(renew_lease) as renewals:
        started = time.monotonic()
        after, refunded = await fail(mongo_client, mongo_db, owned)
        elapsed = time.monotonic() - started
    assert renewals.count > 0
    assert refunded
    assert after is not None
    assert after["status"] == "failed"
    # the stall this guards against lasts until the 30 s socket timeout; alone the refund
    # takes ~0.1 s, under a full test run up to ~1.5 s (the heartbeat shares the server)
    assert elapsed < 5.0, f"the refund took {elapsed:.2f} s"
    quota = await mongo_db[USER_QUOTAS].find_one({"_id": "u1"})
    assert quota["remaining_quota"] == 5
