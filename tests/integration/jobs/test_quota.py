"""Credits and the daily window: concurrent submissions, the UTC-day reset, GET quota."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aio_pika.abc import AbstractRobustConnection

from git44_common.mongo import Database
from tests.integration.jobs.support import Jobs, Users, queue_depth
from tests.utils.requests import sora_link
from tests.utils.waiting import eventually


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_200_concurrent_submissions_with_50_credits_accept_exactly_50(
    start_jobs: Callable[..., Any],
    users: Users,
    mongo_db: Database,
    amqp_connection: AbstractRobustConnection,
) -> None:
    # 200 transactions on one quota document queue up on the embedded server; on a busy
    # machine some take longer than the default 30 s request limit. This test is about
    # the count, not the latency, so it gives requests time; and one user's 200
    # submissions are above the per-user rate limit, raised here.
    async with start_jobs(request_timeout_seconds=100, user_submissions_per_minute=1000) as jobs:
        await _submit_200_with_50_credits(jobs, users, mongo_db, amqp_connection)


async def _submit_200_with_50_credits(
    jobs: Jobs, users: Users, mongo_db: Database, amqp_connection: AbstractRobustConnection
) -> None:
    user = await users.create(quota={"total": 50, "daily": 1000})
    headers = users.bearer(user)

    async def submit() -> int:
        response = await jobs.client.post(
            "/api/removal", json={"inputLink": sora_link()}, headers=headers
        )
        if response.status_code == 402:
            assert response.json()["code"] == "quota_exhausted"
        return response.status_code

    before = _metric(await jobs.client.get("/metrics"), "git44_jobs_quota_rejections_total")
    statuses = Counter(await asyncio.gather(*(submit() for _ in range(200))))
    assert statuses == {202: 50, 402: 150}
    after = _metric(await jobs.client.get("/metrics"), "git44_jobs_quota_rejections_total")
    assert after - before == 150
    quota = (await jobs.client.get("/api/removal/quota", headers=headers)).json()
    assert quota["remainingQuota"] == 0
    assert await mongo_db.removal_jobs.count_documents({"user_id": user}) == 50
    queue = jobs.context.topology.removal_queue

    async def fifty() -> bool:
        return await queue_depth(amqp_connection, queue) == 50

    await eventually(fifty, within=20)
    assert await queue_depth(amqp_connection, queue) == 50


async def test_the_daily_limit_resets_when_the_utc_day_changes(
    start_jobs: Callable[..., Any], users: Users
) -> None:
    clock = FakeClock(datetime(2026, 11, 26, 23, 0, tzinfo=UTC))
    async with start_jobs(clock=clock, default_daily_limit=3) as jobs:
        user = await users.create()
        headers = users.bearer(user)

        async def submit() -> Any:
            return await jobs.client.post(
                "/api/removal", json={"inputLink": sora_link()}, headers=headers
            )

        assert [(await submit()).status_code for _ in range(3)] == [202, 202, 202]
        refused = await submit()
        assert refused.status_code == 429
        assert refused.json()["code"] == "daily_limit_reached"
        assert refused.headers["retry-after"] == "3600"  # until UTC midnight

        clock.now += timedelta(hours=2)  # 01:00 the next day
        assert (await submit()).status_code == 202
        quota = (await jobs.client.get("/api/removal/quota", headers=headers)).json()
        assert quota == {
            "totalQuota": 500,
            "remainingQuota": 496,
            "dailyLimit": 3,
            "dailyUsed": 1,
            "resetAt": "2026-11-28T00:00:00.000Z",
        }


async def test_quota_is_created_lazily_and_carries_an_etag(jobs: Jobs, users: Users) -> None:
    user = await users.create()
    headers = users.bearer(user)
    first = await jobs.client.get("/api/removal/quota", headers=headers)
    assert first.status_code == 200
    body = first.json()
    assert (body["totalQuota"], body["remainingQuota"], body["dailyUsed"]) == (500, 500, 0)
    assert body["dailyLimit"] == jobs.settings.default_daily_limit
    cached = await jobs.client.get(
        "/api/removal/quota", headers={**headers, "If-None-Match": first.headers["etag"]}
    )
    assert cached.status_code == 304
    await jobs.client.post("/api/removal", json={"inputLink": sora_link()}, headers=headers)
    changed = await jobs.client.get(
        "/api/removal/quota", headers={**headers, "If-None-Match": first.headers["etag"]}
    )
    assert changed.status_code == 200
    assert changed.json()["remainingQuota"] == 499


def _metric(response: Any, name: str) -> float:
    """Sum of a metric's samples in a /metrics response (counters are process-wide)."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in response.text.splitlines()
        if line.startswith(name + "{")
    )
