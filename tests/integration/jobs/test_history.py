"""GET /api/removal/user/jobs, retry and cancel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from git44_common.mongo import Database
from tests.integration.jobs.support import Jobs, Users
from tests.utils.requests import sora_link
from tests.utils.waiting import eventually


async def _submit(jobs: Jobs, headers: dict[str, str]) -> str:
    response = await jobs.client.post(
        "/api/removal", json={"inputLink": sora_link()}, headers=headers
    )
    assert response.status_code == 202
    return str(response.json()["id"])


async def test_pages_are_newest_first_and_stable_under_new_submissions(
    jobs: Jobs, users: Users
) -> None:
    user = await users.create()
    headers = users.bearer(user)
    created = [await _submit(jobs, headers) for _ in range(5)]
    first = (await jobs.client.get("/api/removal/user/jobs?limit=2", headers=headers)).json()
    assert [j["id"] for j in first["data"]] == created[::-1][:2]
    await _submit(jobs, headers)  # a new job between pages shifts nothing
    seen = [j["id"] for j in first["data"]]
    cursor = first["nextCursor"]
    while cursor:
        page = (
            await jobs.client.get(
                f"/api/removal/user/jobs?limit=2&cursor={cursor}", headers=headers
            )
        ).json()
        seen += [j["id"] for j in page["data"]]
        cursor = page["nextCursor"]
    assert seen == created[::-1]


async def test_the_list_filters_by_status_and_shows_only_own_jobs(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    user, other = await users.create(), await users.create()
    mine = await _submit(jobs, users.bearer(user))
    await _submit(jobs, users.bearer(other))
    await mongo_db.removal_jobs.update_one({"_id": mine}, {"$set": {"status": "success"}})
    await _submit(jobs, users.bearer(user))
    done = await jobs.client.get(
        "/api/removal/user/jobs?status=success", headers=users.bearer(user)
    )
    assert [j["id"] for j in done.json()["data"]] == [mine]
    everything = await jobs.client.get("/api/removal/user/jobs", headers=users.bearer(user))
    assert len(everything.json()["data"]) == 2
    assert everything.headers["etag"]
    bad = await jobs.client.get("/api/removal/user/jobs?cursor=zzz", headers=users.bearer(user))
    assert bad.status_code == 422
    bad_status = await jobs.client.get(
        "/api/removal/user/jobs?status=nope", headers=users.bearer(user)
    )
    assert bad_status.status_code == 422


async def test_cancel_refunds_the_credit_once(jobs: Jobs, users: Users, mongo_db: Database) -> None:
    user = await users.create(quota={"total": 3})
    headers = users.bearer(user)
    job_id = await _submit(jobs, headers)
    cancelled = await jobs.client.post(f"/api/removal/{job_id}/cancel", headers=headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = await jobs.client.post(f"/api/removal/{job_id}/cancel", headers=headers)
    assert again.status_code == 409
    quota = await mongo_db.user_quotas.find_one({"_id": user})
    assert (quota["remaining_quota"], quota["daily_used"]) == (3, 0)
    stored = await mongo_db.removal_jobs.find_one({"_id": job_id})
    assert (stored["charge"], stored["version"]) == ("refunded", 2)


async def test_cancelling_a_job_whose_charge_was_refunded_refunds_nothing(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    """An admin's retry is on the house (charge stays refunded): cancelling it later
    must not give the credit back a second time."""
    user = await users.create(quota={"total": 3})
    headers = users.bearer(user)
    job_id = await _submit(jobs, headers)
    await mongo_db.removal_jobs.update_one({"_id": job_id}, {"$set": {"charge": "refunded"}})
    cancelled = await jobs.client.post(f"/api/removal/{job_id}/cancel", headers=headers)
    assert cancelled.status_code == 200
    quota = await mongo_db.user_quotas.find_one({"_id": user})
    assert (quota["remaining_quota"], quota["daily_used"]) == (2, 1)
    stored = await mongo_db.removal_jobs.find_one({"_id": job_id})
    assert (stored["status"], stored["charge"], stored["version"]) == ("cancelled", "refunded", 2)


async def test_someone_elses_job_cannot_be_cancelled(jobs: Jobs, users: Users) -> None:
    owner, other = await users.create(), await users.create()
    job_id = await _submit(jobs, users.bearer(owner))
    response = await jobs.client.post(f"/api/removal/{job_id}/cancel", headers=users.bearer(other))
    assert response.status_code == 404


async def test_a_running_job_cannot_be_cancelled(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    user = await users.create()
    job_id = await _submit(jobs, users.bearer(user))
    await mongo_db.removal_jobs.update_one({"_id": job_id}, {"$set": {"status": "processing"}})
    response = await jobs.client.post(f"/api/removal/{job_id}/cancel", headers=users.bearer(user))
    assert response.status_code == 409


async def test_retry_requeues_a_failed_job_and_charges_a_credit(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    user = await users.create(quota={"total": 5})
    headers = users.bearer(user)
    job_id = await _submit(jobs, headers)
    not_failed = await jobs.client.post(f"/api/removal/{job_id}/retry", headers=headers)
    assert not_failed.status_code == 409
    # what the worker does when retries are exhausted: failed, credit refunded
    await mongo_db.removal_jobs.update_one(
        {"_id": job_id},
        {
            "$set": {"status": "failed", "charge": "refunded", "error": "upstream failed",
                     "retry_count": 3, "task_id": "t1", "completed_at": datetime.now(UTC)},
            "$inc": {"version": 2},
        },
    )  # fmt: skip
    await mongo_db.user_quotas.update_one({"_id": user}, {"$inc": {"remaining_quota": 1}})
    retried = await jobs.client.post(f"/api/removal/{job_id}/retry", headers=headers)
    assert retried.status_code == 202
    body = retried.json()
    assert (body["status"], body["retryCount"], body["error"], body["taskId"]) == (
        "queued", 0, None, None,
    )  # fmt: skip
    stored = await mongo_db.removal_jobs.find_one({"_id": job_id})
    assert stored["charge"] == "reserved"
    assert await eventually(lambda: _published(mongo_db, job_id))  # set after the confirm
    quota = await mongo_db.user_quotas.find_one({"_id": user})
    assert quota["remaining_quota"] == 4


async def test_retry_without_credits_is_402(jobs: Jobs, users: Users, mongo_db: Database) -> None:
    user = await users.create(quota={"total": 1})
    headers = users.bearer(user)
    job_id = await _submit(jobs, headers)
    await mongo_db.removal_jobs.update_one(
        {"_id": job_id}, {"$set": {"status": "failed", "charge": "refunded"}}
    )
    response = await jobs.client.post(f"/api/removal/{job_id}/retry", headers=headers)
    assert response.status_code == 402
    assert (await mongo_db.removal_jobs.find_one({"_id": job_id}))["status"] == "failed"


async def _published(db: Database, job_id: str) -> bool:
    stored = await db.removal_jobs.find_one({"_id": job_id})
    return bool(stored and stored["published"])


async def test_page_sizes_follow_the_settings(start_jobs: Any, users: Users) -> None:
    async with start_jobs(page_size_default=2, page_size_max=3) as jobs:
        user = await users.create()
        headers = users.bearer(user)
        for _ in range(4):
            await _submit(jobs, headers)
        default = (await jobs.client.get("/api/removal/user/jobs", headers=headers)).json()
        assert len(default["data"]) == 2
        assert default["nextCursor"]
        largest = await jobs.client.get("/api/removal/user/jobs?limit=3", headers=headers)
        assert len(largest.json()["data"]) == 3
        too_many = await jobs.client.get("/api/removal/user/jobs?limit=4", headers=headers)
        assert too_many.status_code == 422
        assert too_many.headers["content-type"] == "application/problem+json"
        assert too_many.json()["errors"][0]["loc"] == ["query", "limit"]
