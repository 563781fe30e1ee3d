"""jobs-api's rate limits (ratelimits/service.py): per user, per API key, for the whole
service; 429 `rate_limited` problems and RateLimit headers on every limited route."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from git44_common.mongo import Database
from tests.integration.jobs.support import Jobs, Users
from tests.utils.requests import sora_link

POLICY = re.compile(r'^"(?P<policy>[a-z-]+)";q=(?P<q>\d+);w=(?P<w>\d+)$')
STATE = re.compile(r'^"(?P<policy>[a-z-]+)";r=(?P<r>\d+);t=(?P<t>\d+)$')


def limit_headers(response: httpx.Response) -> tuple[dict[str, str], dict[str, str]]:
    policy = POLICY.match(response.headers["RateLimit-Policy"])
    state = STATE.match(response.headers["RateLimit"])
    assert policy is not None, response.headers
    assert state is not None, response.headers
    return policy.groupdict(), state.groupdict()


async def _submit(
    jobs: Jobs, headers: dict[str, str], path: str = "/api/removal"
) -> httpx.Response:
    return await jobs.client.post(path, json={"inputLink": sora_link()}, headers=headers)


async def test_a_users_submissions_are_limited_across_the_spa_and_every_api_key(
    start_jobs: Any, users: Users, mongo_db: Database
) -> None:
    async with start_jobs(user_submissions_per_minute=5) as jobs:
        user = await users.create()
        ways = [
            (users.bearer(user), "/api/removal"),
            ({"X-API-Key": await users.api_key(user)}, "/api/v1/removals"),
            ({"X-API-Key": await users.api_key(user)}, "/api/v1/removals"),
        ]
        responses = await asyncio.gather(*(_submit(jobs, *ways[i % len(ways)]) for i in range(12)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [202] * 5 + [429] * 7
        refused = next(r for r in responses if r.status_code == 429)
        assert refused.headers["content-type"] == "application/problem+json"
        body = refused.json()
        assert (body["code"], body["policy"]) == ("rate_limited", "user-submissions")
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        policy, state = limit_headers(refused)
        assert (policy["policy"], policy["q"], policy["w"], state["r"]) == (
            "user-submissions", "5", "60", "0",
        )  # fmt: skip
        # exactly the accepted ones were charged
        assert await mongo_db.removal_jobs.count_documents({"user_id": user}) == 5
        quota = (await jobs.client.get("/api/removal/quota", headers=users.bearer(user))).json()
        assert quota["remainingQuota"] == 495


async def test_a_submission_refused_for_its_quota_still_counts(
    start_jobs: Any, users: Users
) -> None:
    async with start_jobs(user_submissions_per_minute=3) as jobs:
        user = await users.create(quota={"total": 1})
        headers = users.bearer(user)
        assert [(await _submit(jobs, headers)).status_code for _ in range(4)] == [
            202,
            402,
            402,
            429,
        ]


async def test_limited_routes_carry_the_headers_of_the_limit_closest_to_exhaustion(
    start_jobs: Any, users: Users
) -> None:
    async with start_jobs(user_requests_per_minute=50, user_submissions_per_minute=4) as jobs:
        user = await users.create()
        headers = users.bearer(user)
        read = await jobs.client.get("/api/removal/quota", headers=headers)
        policy, state = limit_headers(read)
        assert (policy["policy"], state["r"]) == ("user-requests", "49")
        submitted = await _submit(jobs, headers)
        policy, state = limit_headers(submitted)
        assert (policy["policy"], state["r"]) == ("user-submissions", "3")  # 3/4 < 48/50
        # an unauthenticated request is counted by nothing and says nothing of limits
        anonymous = await jobs.client.get("/api/removal/quota")
        assert anonymous.status_code == 401
        assert "RateLimit" not in anonymous.headers


async def test_a_users_requests_are_limited_on_every_route(start_jobs: Any, users: Users) -> None:
    async with start_jobs(user_requests_per_minute=6) as jobs:
        user, other = await users.create(), await users.create()
        api = {"X-API-Key": await users.api_key(user)}
        reads = [
            ("/api/removal/quota", users.bearer(user)),
            ("/api/removal/user/jobs", users.bearer(user)),
            ("/api/v1/quota", api),
        ] * 3
        responses = await asyncio.gather(*(jobs.client.get(p, headers=h) for p, h in reads))
        statuses = [r.status_code for r in responses]
        assert sorted(statuses) == [200] * 6 + [429] * 3
        # another user is not held back
        ok = await jobs.client.get("/api/removal/quota", headers=users.bearer(other))
        assert ok.status_code == 200


async def test_the_whole_services_submissions_are_limited(start_jobs: Any, users: Users) -> None:
    async with start_jobs(global_submissions_per_minute=4) as jobs:
        everyone = [await users.create() for _ in range(6)]
        responses = await asyncio.gather(*(_submit(jobs, users.bearer(u)) for u in everyone))
        assert sorted(r.status_code for r in responses) == [202] * 4 + [429] * 2
        refused = next(r for r in responses if r.status_code == 429)
        assert refused.json()["policy"] == "submissions"


async def test_a_batch_counts_its_items(start_jobs: Any, users: Users) -> None:
    async with start_jobs(user_submissions_per_minute=3) as jobs:
        user = await users.create()
        items = [{"inputLink": sora_link()} for _ in range(5)]
        batch = await jobs.client.post(
            "/api/v1/removals/batch", json={"items": items},
            headers={"X-API-Key": await users.api_key(user)},
        )  # fmt: skip
        assert batch.status_code == 200
        results = batch.json()["data"]
        assert [r["status"] for r in results] == [202, 202, 202, 429, 429]
        assert results[3]["problem"]["code"] == "rate_limited"
