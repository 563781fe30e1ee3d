"""Idempotency-Key on POST /api/removal: one job and one credit per key."""

from __future__ import annotations

import asyncio

from git44_common.mongo import Database
from tests.integration.jobs.support import Jobs, Users
from tests.utils.requests import sora_link


async def test_ten_concurrent_requests_with_one_key_make_one_job_and_charge_once(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    user = await users.create(quota={"total": 20})
    headers = {**users.bearer(user), "Idempotency-Key": "order-42"}
    body = {"inputLink": sora_link()}
    responses = await asyncio.gather(
        *(jobs.client.post("/api/removal", json=body, headers=headers) for _ in range(10))
    )
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await mongo_db.removal_jobs.count_documents({"user_id": user}) == 1
    quota = await mongo_db.user_quotas.find_one({"_id": user})
    assert quota["remaining_quota"] == 19


async def test_a_repeat_answers_the_original_response(jobs: Jobs, users: Users) -> None:
    user = await users.create()
    headers = {**users.bearer(user), "Idempotency-Key": "k1"}
    body = {"inputLink": sora_link()}
    first = await jobs.client.post("/api/removal", json=body, headers=headers)
    again = await jobs.client.post("/api/removal", json=body, headers=headers)
    assert again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    quota = (await jobs.client.get("/api/removal/quota", headers=users.bearer(user))).json()
    assert quota["remainingQuota"] == 499


async def test_the_same_key_with_another_body_is_409(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    user = await users.create()
    headers = {**users.bearer(user), "Idempotency-Key": "k2"}
    await jobs.client.post("/api/removal", json={"inputLink": sora_link()}, headers=headers)
    other = await jobs.client.post("/api/removal", json={"inputLink": sora_link()}, headers=headers)
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_conflict"
    assert await mongo_db.removal_jobs.count_documents({"user_id": user}) == 1


async def test_keys_are_per_user(jobs: Jobs, users: Users) -> None:
    alice, bob = await users.create(), await users.create()
    body = {"inputLink": sora_link()}
    a = await jobs.client.post(
        "/api/removal", json=body, headers={**users.bearer(alice), "Idempotency-Key": "same"}
    )
    b = await jobs.client.post(
        "/api/removal", json=body, headers={**users.bearer(bob), "Idempotency-Key": "same"}
    )
    assert a.status_code == b.status_code == 202
    assert a.json()["id"] != b.json()["id"]


async def test_a_refused_request_can_be_retried_with_its_key(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    user = await users.create(quota={"total": 0})
    headers = {**users.bearer(user), "Idempotency-Key": "k3"}
    body = {"inputLink": sora_link()}
    refused = await jobs.client.post("/api/removal", json=body, headers=headers)
    assert refused.status_code == 402
    await mongo_db.user_quotas.update_one(
        {"_id": user}, {"$inc": {"remaining_quota": 1, "total_quota": 1}}
    )
    accepted = await jobs.client.post("/api/removal", json=body, headers=headers)
    assert accepted.status_code == 202


async def test_a_malformed_key_is_422(jobs: Jobs, users: Users) -> None:
    user = await users.create()
    response = await jobs.client.post(
        "/api/removal",
        json={"inputLink": sora_link()},
        headers={**users.bearer(user), "Idempotency-Key": "x" * 300},
    )
    assert response.status_code == 422
