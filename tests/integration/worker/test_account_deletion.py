"""A deleted account's webhook deliveries: every attempt records the job's user, and
`AccountDeleted` deletes that user's attempts (and no one else's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from git44_common.amqp import ACCOUNT_DELETED
from git44_common.collections import WEBHOOK_DELIVERIES
from git44_common.contracts import AccountDeleted, WebhookDeliveryRequested
from git44_common.mongo import Database
from tests.integration.worker.conftest import Jobs, StartWorker
from tests.utils.receiver import Receiver, serving_receiver
from tests.utils.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serving_receiver("/hook") as hooks:
        yield hooks


async def attempts_of(db: Database, user_id: str) -> int:
    return await db[WEBHOOK_DELIVERIES].count_documents({"user_id": user_id})


async def test_a_deleted_users_deliveries_are_deleted(
    start_worker: StartWorker, jobs: Jobs, receiver: Receiver
) -> None:
    await start_worker()
    job = await jobs.submit(callback_url=receiver.url, status="failed", error="it broke")
    request = WebhookDeliveryRequested(job_id=job["_id"], event_id=f"evt-{job['_id']}")
    topology = jobs.publisher.topology
    await jobs.publisher.publish(topology.jobs_exchange, "webhook.deliver", request)
    await eventually(lambda: attempts_of(jobs.db, jobs.user_id), within=10)
    someone_else = {"_id": "other-attempt", "user_id": "someone-else", "job_id": "j"}
    await jobs.db[WEBHOOK_DELIVERIES].insert_one(someone_else)

    event = AccountDeleted(user_id=jobs.user_id, deleted_at=datetime.now(UTC))
    await jobs.publisher.publish(topology.jobs_exchange, ACCOUNT_DELETED, event)

    async def none_left() -> bool:
        return await attempts_of(jobs.db, jobs.user_id) == 0

    await eventually(none_left, within=10)
    assert await attempts_of(jobs.db, "someone-else") == 1


async def test_attempts_recorded_without_their_owner_get_it_at_start_up(
    start_worker: StartWorker, jobs: Jobs
) -> None:
    job = await jobs.submit(status="success")
    now = datetime.now(UTC)
    legacy = [
        {"_id": "legacy-1", "job_id": job["_id"], "attempt": 1, "attempted_at": now},
        {"_id": "legacy-2", "job_id": job["_id"], "attempt": 2, "attempted_at": now},
        {"_id": "orphan-1", "job_id": "job-long-gone", "attempt": 1, "attempted_at": now},
    ]
    await jobs.db[WEBHOOK_DELIVERIES].insert_many(legacy)

    await start_worker()

    owned = jobs.db[WEBHOOK_DELIVERIES].find({"_id": {"$in": ["legacy-1", "legacy-2"]}})
    assert [doc["user_id"] async for doc in owned] == [jobs.user_id, jobs.user_id]
    assert await jobs.db[WEBHOOK_DELIVERIES].find_one({"_id": "orphan-1"}) is None
