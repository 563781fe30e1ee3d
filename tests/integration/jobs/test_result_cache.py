"""Submissions answered from the result cache: the 202 is already `success` and
`cached`, charged per JOBS_CACHE_HIT_CREDITS; expiring or purged results are not used;
the job's message (which brings its webhook) is published, by the relay if need be."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aio_pika.abc import AbstractRobustConnection

from git44_common.collections import RESULT_CACHE
from git44_common.mongo import Database
from tests.integration.jobs.support import Jobs, Users, queue_depth
from tests.integration.jobs.test_outbox import BrokerDown
from tests.utils.requests import sora_link
from tests.utils.waiting import eventually

OUTPUT = "https://cdn.example/clean.mp4?expires=9999999999&signature=ab"


async def cache(db: Database, link: str, *, expires_in: float = 3600, user: str = "") -> None:
    key = f"user:{user}:{link}" if user else f"shared:{link}"
    await db[RESULT_CACHE].insert_one(
        {
            "_id": key,
            "link": link,
            "output_link": OUTPUT,
            "expires_at": datetime.now(UTC) + timedelta(seconds=expires_in),
            "job_id": "earlier-job",
            "task_id": "t-1",
            "stored_at": datetime.now(UTC),
        }
    )


async def submit(jobs: Jobs, users: Users, user: str, link: str) -> dict[str, Any]:
    response = await jobs.client.post(
        "/api/removal", json={"inputLink": link}, headers=users.bearer(user)
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def remaining(jobs: Jobs, users: Users, user: str) -> int:
    quota = await jobs.client.get("/api/removal/quota", headers=users.bearer(user))
    return int(quota.json()["remainingQuota"])


async def test_a_cached_link_answers_success_at_once_and_costs_one_credit(
    jobs: Jobs, users: Users, mongo_db: Database, amqp_connection: AbstractRobustConnection
) -> None:
    user, link = await users.create(), sora_link()
    await cache(mongo_db, link)
    before = await remaining(jobs, users, user)

    job = await submit(jobs, users, user, link)

    assert (job["status"], job["cached"], job["outputLink"]) == ("success", True, OUTPUT)
    assert job["completedAt"] is not None
    assert job["taskId"] is None
    assert await remaining(jobs, users, user) == before - 1
    stored = await mongo_db.removal_jobs.find_one({"_id": job["id"]})
    assert stored is not None
    assert stored["charge"] == "reserved"
    # its message goes out like any job's: the worker sends its pending webhook
    queue = jobs.context.topology.removal_queue
    assert await queue_depth(amqp_connection, queue) == 1
    miss = await submit(jobs, users, user, sora_link())
    assert (miss["status"], miss["cached"]) == ("queued", False)


async def test_a_free_cache_hit_charges_nothing(
    start_jobs: Callable[..., Any], users: Users, mongo_db: Database
) -> None:
    async with start_jobs(cache_hit_credits=0) as jobs:
        user, link = await users.create(), sora_link()
        await cache(mongo_db, link)
        before = await remaining(jobs, users, user)
        job = await submit(jobs, users, user, link)
        assert (job["status"], job["cached"]) == ("success", True)
        assert await remaining(jobs, users, user) == before
        stored = await mongo_db.removal_jobs.find_one({"_id": job["id"]})
        assert stored is not None
        assert stored["charge"] is None


async def test_results_near_expiry_other_users_or_disabled_scope_are_not_used(
    start_jobs: Callable[..., Any], users: Users, mongo_db: Database
) -> None:
    user, other = await users.create(), await users.create()
    expiring, own = sora_link(), sora_link()
    await cache(mongo_db, expiring, expires_in=60)  # under the 600 s minimum
    await cache(mongo_db, own, user=other)
    async with start_jobs(result_cache_scope="user") as jobs:
        assert (await submit(jobs, users, user, own))["status"] == "queued"
        assert (await submit(jobs, users, other, own))["status"] == "success"
        assert (await submit(jobs, users, user, expiring))["status"] == "queued"
    shared = sora_link()
    await cache(mongo_db, shared)
    async with start_jobs(result_cache_scope="off") as jobs:
        assert (await submit(jobs, users, user, shared))["status"] == "queued"


async def test_a_cache_hit_saved_while_the_broker_is_down_is_published_by_the_relay(
    jobs: Jobs, users: Users, mongo_db: Database, amqp_connection: AbstractRobustConnection
) -> None:
    user, link = await users.create(), sora_link()
    await cache(mongo_db, link)
    real_publisher = jobs.context.outbox.publisher
    jobs.context.outbox.publisher = BrokerDown()
    job = await submit(jobs, users, user, link)
    assert job["status"] == "success"
    jobs.context.outbox.publisher = real_publisher

    async def published() -> bool:
        stored = await mongo_db.removal_jobs.find_one({"_id": job["id"]})
        return stored is not None and stored["published"] is True

    await eventually(published, within=15)
    queue = jobs.context.topology.removal_queue
    assert await queue_depth(amqp_connection, queue) == 1


async def test_an_admin_purges_a_link_and_its_next_job_is_queued(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    user, admin, link = await users.create(), await users.create(role="admin"), sora_link()
    await cache(mongo_db, link)
    await cache(mongo_db, link, user=user)
    headers = users.bearer(admin, role="admin")

    not_a_link = await jobs.client.delete(
        "/api/admin/result-cache", params={"link": "https://evil.example/x"}, headers=headers
    )
    assert not_a_link.status_code == 422
    assert not_a_link.json()["errors"][0]["loc"] == ["query", "link"]
    refused = await jobs.client.delete(
        "/api/admin/result-cache", params={"link": link}, headers=users.bearer(user)
    )
    assert refused.status_code == 403
    purged = await jobs.client.delete(
        "/api/admin/result-cache", params={"link": link + "/"}, headers=headers
    )

    assert purged.status_code == 200, purged.text
    assert purged.json() == {"link": link, "purged": 2}
    assert (await submit(jobs, users, user, link))["status"] == "queued"
    audit = await mongo_db.audit_log.find_one({"action": "result_cache.purge"})
    assert audit is not None
    assert audit["target"] == link
