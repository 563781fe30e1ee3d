"""A user's jobs-side data: exported (`GET /api/removal/export`) and forgotten when
auth announces `AccountDeleted` — idle jobs at once, a job at the upstream once it has
ended; nobody else's data is touched."""

from __future__ import annotations

from datetime import UTC, datetime

from git44_common.amqp import ACCOUNT_DELETED
from git44_common.collections import WEBHOOK_DELIVERIES
from git44_common.contracts import AccountDeleted
from git44_common.mongo import Database, Document
from tests.integration.jobs.support import Jobs, Users
from tests.utils.requests import sora_link
from tests.utils.waiting import eventually

# the in-flight job is looked at again after the accounts delay tier (10 s)
IN_FLIGHT_GONE_WITHIN = 30.0


async def submit(jobs: Jobs, users: Users, user_id: str, *, key: str | None = None) -> str:
    headers = users.bearer(user_id) | ({"Idempotency-Key": key} if key else {})
    response = await jobs.client.post(
        "/api/removal", json={"inputLink": sora_link()}, headers=headers
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def announce_deletion(jobs: Jobs, user_id: str) -> None:
    publisher = jobs.app.state.runtime.publisher
    event = AccountDeleted(user_id=user_id, deleted_at=datetime.now(UTC))
    await publisher.publish(publisher.topology.jobs_exchange, ACCOUNT_DELETED, event)


def delivery_attempt(job_id: str, user_id: str, attempt: int, status_code: int | None) -> Document:
    """A `webhook_deliveries` record as the worker writes it."""
    return {
        "job_id": job_id,
        "event_id": f"evt-{job_id}",
        "url": "https://hooks.example.com/git44",
        "attempt": attempt,
        "status_code": status_code,
        "latency_ms": 12.5,
        "error": None if status_code else "timeout",
        "next_retry_at": None,
        "attempted_at": datetime(2026, 11, 30, 12, 0, attempt, tzinfo=UTC),
        "user_id": user_id,
    }


async def test_the_export_holds_the_callers_quota_jobs_and_deliveries_only(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    user, other = await users.create(), await users.create()
    first, second = await submit(jobs, users, user), await submit(jobs, users, user)
    others = await submit(jobs, users, other)
    await mongo_db[WEBHOOK_DELIVERIES].insert_many(
        [
            delivery_attempt(first, user, 1, None),
            delivery_attempt(first, user, 2, 200),
            delivery_attempt(others, other, 1, 200),
        ]
    )

    response = await jobs.client.get("/api/removal/export", headers=users.bearer(user))

    assert response.status_code == 200, response.text
    document = response.json()
    assert {job["id"] for job in document["jobs"]} == {first, second}
    assert document["quota"]["remainingQuota"] == document["quota"]["totalQuota"] - 2
    deliveries = document["webhookDeliveries"]
    assert [(d["jobId"], d["attempt"], d["statusCode"]) for d in deliveries] == [
        (first, 2, 200),
        (first, 1, None),
    ]
    assert deliveries[1]["error"] == "timeout"
    assert deliveries[0]["attemptedAt"] == "2026-11-30T12:00:02.000Z"
    assert "userId" not in deliveries[0]


async def test_a_deleted_account_loses_its_jobs_quota_and_idempotency_keys(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    user, other = await users.create(), await users.create()
    idle = await submit(jobs, users, user, key="k-1")
    in_flight = await submit(jobs, users, user)
    others = await submit(jobs, users, other)
    # a worker holds this one: it is at the upstream
    await mongo_db.removal_jobs.update_one({"_id": in_flight}, {"$set": {"status": "processing"}})
    # dead letters an operator had taken over from the broker (their bodies name the user)
    await mongo_db.dead_letters.insert_many(
        [{"_id": "letter-user", "user_id": user}, {"_id": "letter-other", "user_id": other}]
    )

    await announce_deletion(jobs, user)

    async def forgotten() -> bool:
        # one pass deletes these one after another: wait for the last, not the first
        left = (
            await mongo_db.removal_jobs.find_one({"_id": idle}),
            await mongo_db.user_quotas.find_one({"_id": user}),
            await mongo_db.idempotency_keys.find_one({"user_id": user}),
            await mongo_db.dead_letters.find_one({"_id": "letter-user"}),
        )
        return all(document is None for document in left)

    await eventually(forgotten, within=10)
    assert await mongo_db.dead_letters.find_one({"_id": "letter-other"}) is not None
    assert await mongo_db.removal_jobs.find_one({"_id": in_flight}) is not None
    assert await mongo_db.removal_jobs.find_one({"_id": others}) is not None
    assert await mongo_db.user_quotas.find_one({"_id": other}) is not None

    await mongo_db.removal_jobs.update_one({"_id": in_flight}, {"$set": {"status": "success"}})

    async def in_flight_gone() -> bool:
        return await mongo_db.removal_jobs.find_one({"_id": in_flight}) is None

    await eventually(in_flight_gone, within=IN_FLIGHT_GONE_WITHIN, every=0.5)
    assert await mongo_db.removal_jobs.find_one({"_id": others}) is not None
