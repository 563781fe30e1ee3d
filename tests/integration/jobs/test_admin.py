"""Admin routes: job search, free retries, quota changes (audited), stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from git44_common.mongo import Database
from tests.integration.jobs.support import Jobs, Users
from tests.utils.requests import sora_link


async def _submit(jobs: Jobs, users: Users, user: str) -> str:
    response = await jobs.client.post(
        "/api/removal", json={"inputLink": sora_link()}, headers=users.bearer(user)
    )
    return str(response.json()["id"])


async def test_admin_routes_need_the_admin_role(jobs: Jobs, users: Users) -> None:
    user = await users.create()
    for method, url in [("GET", "/api/admin/jobs"), ("GET", "/api/admin/stats"),
                        ("PATCH", f"/api/admin/users/{user}/quota")]:  # fmt: skip
        response = await jobs.client.request(method, url, headers=users.bearer(user), json={})
        assert response.status_code == 403, url
        assert response.json()["code"] == "forbidden"


async def test_an_admin_filters_jobs_by_user_status_and_date(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    admin = await users.create(role="admin")
    alice, bob = await users.create(), await users.create()
    a1 = await _submit(jobs, users, alice)
    await _submit(jobs, users, bob)
    await mongo_db.removal_jobs.update_one({"_id": a1}, {"$set": {"status": "failed"}})
    headers = users.bearer(admin, role="admin")
    by_user = (await jobs.client.get(f"/api/admin/jobs?userId={alice}", headers=headers)).json()
    assert [(j["id"], j["userId"]) for j in by_user["data"]] == [(a1, alice)]
    failed = (await jobs.client.get("/api/admin/jobs?status=failed", headers=headers)).json()
    assert [j["id"] for j in failed["data"]] == [a1]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    future = await jobs.client.get(f"/api/admin/jobs?createdFrom={tomorrow}", headers=headers)
    assert future.json()["data"] == []


async def test_an_admin_retry_is_free_and_audited(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    admin, user = await users.create(role="admin"), await users.create(quota={"total": 1})
    job_id = await _submit(jobs, users, user)
    await mongo_db.removal_jobs.update_one(
        {"_id": job_id}, {"$set": {"status": "failed", "charge": "refunded"}}
    )
    response = await jobs.client.post(
        f"/api/admin/jobs/{job_id}/retry", headers=users.bearer(admin, role="admin")
    )
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert (await mongo_db.user_quotas.find_one({"_id": user}))["remaining_quota"] == 0
    entry = await mongo_db.audit_log.find_one({"action": "job.retry"})
    assert (entry["actor"], entry["target"]) == (admin, job_id)


async def test_an_admin_adds_credits_and_sets_limits(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    admin, user = await users.create(role="admin"), await users.create(quota={"total": 5})
    headers = users.bearer(admin, role="admin")
    url = f"/api/admin/users/{user}/quota"
    added = await jobs.client.patch(url, json={"addCredits": 10, "dailyLimit": 7}, headers=headers)
    assert added.status_code == 200
    body = added.json()
    assert (body["totalQuota"], body["remainingQuota"], body["dailyLimit"]) == (15, 15, 7)
    entry = await mongo_db.audit_log.find_one({"action": "quota.update"})
    assert entry["before"]["remaining_quota"] == 5
    assert entry["after"]["remaining_quota"] == 15
    assert (await jobs.client.patch(url, json={}, headers=headers)).status_code == 422
    both = {"addCredits": 1, "remainingQuota": 3}
    assert (await jobs.client.patch(url, json=both, headers=headers)).status_code == 422
    unknown = await jobs.client.patch(
        "/api/admin/users/nobody/quota", json={"addCredits": 1}, headers=headers
    )
    assert unknown.status_code == 404


async def test_stats_count_jobs_times_queue_and_quota(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    admin, user = await users.create(role="admin"), await users.create(quota={"total": 10})
    ids = [await _submit(jobs, users, user) for _ in range(4)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for seconds, job_id in zip((10, 20, 30), ids, strict=False):
        await mongo_db.removal_jobs.update_one(
            {"_id": job_id},
            {"$set": {"status": "success", "started_at": start,
                      "completed_at": start + timedelta(seconds=seconds)}},
        )  # fmt: skip
    response = await jobs.client.get("/api/admin/stats", headers=users.bearer(admin, role="admin"))
    assert response.status_code == 200
    stats = response.json()
    assert stats["jobsByStatus"] == {"success": 3, "queued": 1}
    assert stats["successRate"] == 1.0
    assert (stats["avgProcessingSeconds"], stats["p95ProcessingSeconds"]) == (20.0, 30.0)
    assert stats["queueDepth"] == 4
    assert stats["deadLetters"] == 0
    assert stats["quota"]["usedCredits"] == 4


async def test_stats_count_upstream_calls_made_and_saved_by_the_cache(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    admin, user = await users.create(role="admin"), await users.create(quota={"total": 10})
    ids = [await _submit(jobs, users, user) for _ in range(5)]

    def attempt(task_id: str | None, polls: int) -> dict[str, object]:
        return {"number": 1, "task_id": task_id, "polls": polls, "outcome": "x"}

    updates = [  # two upstream successes: 1 + 2 and 1 + 1 + (a retried attempt) 1 + 3 calls
        {"status": "success", "attempts": [attempt("t1", 2)]},
        {"status": "success", "attempts": [attempt("t2", 1), attempt("t3", 3)]},
        {"status": "success", "cached": True, "attempts": [attempt(None, 0)]},
        {"status": "polling", "task_id": "t4", "poll_count": 2, "attempts": []},  # running
    ]
    for job_id, fields in zip(ids, updates, strict=False):
        await mongo_db.removal_jobs.update_one({"_id": job_id}, {"$set": fields})

    response = await jobs.client.get("/api/admin/stats", headers=users.bearer(admin, role="admin"))

    stats = response.json()
    assert stats["upstreamCalls"] == 3 + 6 + 0 + 3
    assert stats["upstreamCallsSaved"] == round(1 * (3 + 6) / 2)


async def test_stats_split_jobs_and_calls_by_provider(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    admin, user = await users.create(role="admin"), await users.create(quota={"total": 10})
    ids = [await _submit(jobs, users, user) for _ in range(4)]
    updates = [
        {"status": "success", "provider": "removesora", "task_id": "t1", "poll_count": 2},
        {"status": "failed", "provider": "removesora", "task_id": "t2", "poll_count": 5},
        {"status": "success", "provider": "kie", "task_id": "t3", "poll_count": 0,
         "callback": {"state": "success"}},
        {"status": "success", "provider": "kie", "task_id": "t4", "poll_count": 1},
    ]  # fmt: skip
    for job_id, fields in zip(ids, updates, strict=True):
        await mongo_db.removal_jobs.update_one({"_id": job_id}, {"$set": fields})

    response = await jobs.client.get("/api/admin/stats", headers=users.bearer(admin, role="admin"))

    assert response.json()["byProvider"] == {
        "removesora": {"jobs": 2, "succeeded": 1, "failed": 1, "calls": 2 + 7, "calledBack": 0},
        "kie": {"jobs": 2, "succeeded": 2, "failed": 0, "calls": 2 + 1, "calledBack": 1},
    }


async def test_an_admin_reads_any_users_job(jobs: Jobs, users: Users) -> None:
    admin, user = await users.create(role="admin"), await users.create()
    headers = users.bearer(admin, role="admin")
    job_id = await _submit(jobs, users, user)
    response = await jobs.client.get(f"/api/admin/jobs/{job_id}", headers=headers)
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["userId"]) == (job_id, user)
    missing = await jobs.client.get("/api/admin/jobs/nope", headers=headers)
    assert missing.status_code == 404
    other = await jobs.client.get(f"/api/admin/jobs/{job_id}", headers=users.bearer(user))
    assert other.status_code == 403
