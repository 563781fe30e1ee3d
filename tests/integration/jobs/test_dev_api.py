"""The Dev API (`/api/v1`, X-API-Key): submissions with callbacks, batches, rate limit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from git44_common.mongo import Database
from git44_common.webhook_secrets import open_secret
from tests.integration.jobs.support import Jobs, Users
from tests.utils.requests import sora_link

HOOK = "https://hooks.example.com/git44"


async def test_an_integration_submits_with_a_callback_and_reads_its_signing_secret(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    user = await users.create()
    headers = {"X-API-Key": await users.api_key(user)}
    created = await jobs.client.post(
        "/api/v1/removals", json={"inputLink": sora_link(), "callbackUrl": HOOK}, headers=headers
    )
    assert created.status_code == 202, created.text
    job = created.json()
    assert (job["status"], job["callbackUrl"]) == ("queued", HOOK)
    stored = await mongo_db.removal_jobs.find_one({"_id": job["id"]})
    assert (stored["source"], stored["callback_url"]) == ("api", HOOK)
    assert stored["api_key_id"] is not None

    secret = (await jobs.client.get("/api/v1/webhook-secret", headers=headers)).json()
    assert secret["secret"].startswith("whsec_")
    stored_secret = await mongo_db.webhook_secrets.find_one({"_id": user})
    assert open_secret(stored_secret, jobs.context.webhook_keys) == secret["secret"]

    read = await jobs.client.get(f"/api/v1/removals/{job['id']}", headers=headers)
    assert read.json()["id"] == job["id"]
    listed = await jobs.client.get("/api/v1/removals", headers=headers)
    assert [j["id"] for j in listed.json()["data"]] == [job["id"]]
    quota = await jobs.client.get("/api/v1/quota", headers=headers)
    assert quota.json()["remainingQuota"] == 499


async def test_private_or_plain_http_callbacks_are_422(jobs: Jobs, users: Users) -> None:
    user = await users.create()
    headers = {"X-API-Key": await users.api_key(user)}
    for url in ["http://hooks.example.com/x", "https://127.0.0.1/x", "https://localhost/x",
                "https://10.0.0.5/x", "ftp://hooks.example.com"]:  # fmt: skip
        response = await jobs.client.post(
            "/api/v1/removals", json={"inputLink": sora_link(), "callbackUrl": url},
            headers=headers,
        )  # fmt: skip
        assert response.status_code == 422, url
        assert response.json()["errors"][0]["loc"] == ["body", "callbackUrl"]


async def test_bad_or_revoked_keys_are_401(jobs: Jobs, users: Users, mongo_db: Database) -> None:
    user = await users.create()
    key = await users.api_key(user)
    assert (
        await jobs.client.get("/api/v1/quota", headers={"X-API-Key": "g44_nope"})
    ).status_code == 401
    assert (await jobs.client.get("/api/v1/quota")).status_code == 401
    await mongo_db.api_keys.update_one(
        {"user_id": user}, {"$set": {"revoked_at": datetime.now(UTC)}}
    )
    assert (await jobs.client.get("/api/v1/quota", headers={"X-API-Key": key})).status_code == 401
    # a bearer token is not an API key
    assert (await jobs.client.get("/api/v1/quota", headers=users.bearer(user))).status_code == 401


async def test_each_key_is_rate_limited(start_jobs: Callable[..., Any], users: Users) -> None:
    async with start_jobs(api_key_rate_limit=3) as jobs:
        user = await users.create()
        first, second = await users.api_key(user), await users.api_key(user)
        statuses = [
            (await jobs.client.get("/api/v1/quota", headers={"X-API-Key": first})).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 200]
        limited = await jobs.client.get("/api/v1/quota", headers={"X-API-Key": first})
        assert limited.status_code == 429
        assert limited.json()["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
        other = await jobs.client.get("/api/v1/quota", headers={"X-API-Key": second})
        assert other.status_code == 200


async def test_a_batch_charges_and_reports_each_item(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    user = await users.create(quota={"total": 2})
    headers = {"X-API-Key": await users.api_key(user)}
    items = [{"inputLink": sora_link()}, {"inputLink": "http://evil.example.com/p/x"},
             {"inputLink": sora_link()}, {"inputLink": sora_link()}]  # fmt: skip
    response = await jobs.client.post(
        "/api/v1/removals/batch", json={"items": items}, headers=headers
    )
    assert response.status_code == 200
    results = response.json()["data"]
    assert [r["status"] for r in results] == [202, 422, 202, 402]
    assert results[3]["problem"]["code"] == "quota_exhausted"
    assert await mongo_db.removal_jobs.count_documents({"user_id": user}) == 2
    too_many = await jobs.client.post(
        "/api/v1/removals/batch", json={"items": [{"inputLink": sora_link()}] * 21},
        headers=headers,
    )  # fmt: skip
    assert too_many.status_code == 422


async def test_a_repeated_batch_with_its_key_charges_nothing_more(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    user = await users.create(quota={"total": 10})
    headers = {"X-API-Key": await users.api_key(user), "Idempotency-Key": "batch-1"}
    body = {"items": [{"inputLink": sora_link()}, {"inputLink": sora_link()}]}
    first = await jobs.client.post("/api/v1/removals/batch", json=body, headers=headers)
    again = await jobs.client.post("/api/v1/removals/batch", json=body, headers=headers)
    assert [r["job"]["id"] for r in first.json()["data"]] == [
        r["job"]["id"] for r in again.json()["data"]
    ]
    assert (await mongo_db.user_quotas.find_one({"_id": user}))["remaining_quota"] == 8


async def test_the_dev_api_cancels_and_retries_with_the_spa_routes_rules_and_codes(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    """The same steps through `/api/removal` (bearer) and `/api/v1/removals` (API key):
    the same answers and problem codes, and `Location` on every 202."""

    async def walk(prefix: str, headers: dict[str, str]) -> list[tuple[int, str | None]]:
        seen: list[tuple[int, str | None]] = []

        async def post(path: str, **kwargs: Any) -> Any:
            response = await jobs.client.post(f"{prefix}{path}", headers=headers, **kwargs)
            is_problem = response.headers["content-type"].startswith("application/problem")
            seen.append((response.status_code, response.json()["code"] if is_problem else None))
            return response

        created = await post("", json={"inputLink": sora_link()})
        job_id = created.json()["id"]
        assert created.headers["Location"] == f"{prefix}/{job_id}"
        cancelled = await post(f"/{job_id}/cancel")
        assert cancelled.json()["status"] == "cancelled"
        await post(f"/{job_id}/cancel")  # no longer queued
        await post(f"/{job_id}/retry")  # not failed
        await post("/no-such-job/cancel")
        await post("/no-such-job/retry")
        # what the worker does when retries are exhausted: failed, credit refunded
        await mongo_db.removal_jobs.update_one(
            {"_id": job_id},
            {"$set": {"status": "failed", "charge": "refunded", "error": "upstream failed"},
             "$inc": {"version": 1}},
        )  # fmt: skip
        retried = await post(f"/{job_id}/retry")
        assert retried.headers["Location"] == f"{prefix}/{job_id}"
        assert retried.json()["status"] == "queued"
        await post(f"/{job_id}/retry")  # queued again: not failed
        return seen

    spa_user, dev_user = await users.create(), await users.create()
    spa = await walk("/api/removal", users.bearer(spa_user))
    dev = await walk("/api/v1/removals", {"X-API-Key": await users.api_key(dev_user)})
    assert spa == dev
    assert [status for status, _ in dev] == [202, 200, 409, 409, 404, 404, 202, 409]
    for user in (spa_user, dev_user):  # submitted, refunded by the cancel, charged by the retry
        quota = await mongo_db.user_quotas.find_one({"_id": user})
        assert quota["remaining_quota"] == 499


async def test_a_dev_retry_without_credits_is_402_as_on_the_spa_route(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    user = await users.create(quota={"total": 1})
    headers = {"X-API-Key": await users.api_key(user)}
    created = await jobs.client.post(
        "/api/v1/removals", json={"inputLink": sora_link()}, headers=headers
    )
    job_id = created.json()["id"]
    await mongo_db.removal_jobs.update_one(
        {"_id": job_id}, {"$set": {"status": "failed", "charge": "refunded"}}
    )
    response = await jobs.client.post(f"/api/v1/removals/{job_id}/retry", headers=headers)
    assert response.status_code == 402
    assert response.json()["code"] == "quota_exhausted"
    assert "Location" not in response.headers
