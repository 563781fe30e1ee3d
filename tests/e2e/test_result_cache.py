"""Paying once per link, across real processes (auth, jobs-api, key-manager, worker,
simulator): a link processed once is answered from the result cache — for its user
and for another — with no new upstream task; a link whose download link expired gets
a new task; five concurrent submissions of a new link share one task (five successes,
five charges); an admin purge sends the next submission upstream again; the cache's
metrics are on /metrics."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from localstack import DEMO_SCRAPER_KEYS, DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD, LocalStack

from git44_sim.client import SimControl
from tests.utils.accounts import register_account
from tests.utils.stack import stack_fixture

pytestmark = pytest.mark.e2e

TERMINAL = {"success", "failed", "cancelled"}
CACHED_WITHIN = 2.0

stack = stack_fixture(
    "stack",
    scope="module",
    tag="e2e",
    sim_args=["--keys", ",".join(DEMO_SCRAPER_KEYS), "--processing-seconds", "1-1.5"],
    extra_env={
        "GIT44_ENV": "test",
        "AUTH_BCRYPT_ROUNDS": "4",
        "WORKER_CONCURRENCY": "6",
        "WORKER_POLL_MIN_SECONDS": "0.3",
        "WORKER_POLL_MAX_SECONDS": "0.5",
        # the expiry test shortens the simulator's links to seconds
        "JOBS_RESULT_CACHE_MIN_VALIDITY_SECONDS": "2",
    },
)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        yield client


def new_link() -> str:
    return f"https://sora.chatgpt.com/p/s_cache{uuid.uuid4().hex[:10]}"


async def bearer(http: httpx.AsyncClient, stack: LocalStack) -> dict[str, str]:
    account = await register_account(http, stack.url("auth"), prefix="cache")
    return {"Authorization": f"Bearer {account['accessToken']}"}


async def submit(
    http: httpx.AsyncClient, stack: LocalStack, headers: dict[str, str], link: str
) -> dict[str, Any]:
    response = await http.post(
        f"{stack.url('jobs-api')}/api/removal", json={"inputLink": link}, headers=headers
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def finished(
    http: httpx.AsyncClient, stack: LocalStack, headers: dict[str, str], job_id: str,
    *, within: float = 30.0,
) -> dict[str, Any]:  # fmt: skip
    deadline = time.monotonic() + within
    while True:
        response = await http.get(f"{stack.url('jobs-api')}/api/removal/{job_id}", headers=headers)
        job: dict[str, Any] = response.json()
        if job["status"] in TERMINAL:
            return job
        assert time.monotonic() < deadline, f"job stayed {job['status']}"
        await asyncio.sleep(0.1)


async def tasks_for(sim: SimControl, link: str) -> int:
    return (await sim.stats()).tasks_by_video_url.get(link, 0)


async def remaining(http: httpx.AsyncClient, stack: LocalStack, headers: dict[str, str]) -> int:
    quota = await http.get(f"{stack.url('jobs-api')}/api/removal/quota", headers=headers)
    return int(quota.json()["remainingQuota"])


async def test_a_processed_link_is_answered_from_the_cache_for_every_user(
    stack: LocalStack, sim: SimControl, http: httpx.AsyncClient
) -> None:
    alice, bob, link = await bearer(http, stack), await bearer(http, stack), new_link()
    first = await finished(http, stack, alice, (await submit(http, stack, alice, link))["id"])
    assert (first["status"], first["cached"]) == ("success", False)

    for headers in (alice, bob):
        started = time.monotonic()
        before = await remaining(http, stack, headers)
        job = await submit(http, stack, headers, link)
        done = await finished(http, stack, headers, job["id"], within=CACHED_WITHIN)
        assert time.monotonic() - started < CACHED_WITHIN
        assert (job["status"], done["status"], done["cached"]) == ("success", "success", True)
        assert done["outputLink"] == first["outputLink"]
        assert await remaining(http, stack, headers) == before - 1  # JOBS_CACHE_HIT_CREDITS
    assert await tasks_for(sim, link) == 1


async def test_an_expired_download_link_is_not_reused(
    stack: LocalStack, sim: SimControl, http: httpx.AsyncClient
) -> None:
    await sim.update_config(download_link_ttl_seconds=4)  # usable for 4 - 2 s
    user, link = await bearer(http, stack), new_link()
    await finished(http, stack, user, (await submit(http, stack, user, link))["id"])
    assert (await submit(http, stack, user, link))["cached"] is True

    await asyncio.sleep(2.5)  # under 2 s of validity left now
    again = await submit(http, stack, user, link)
    done = await finished(http, stack, user, again["id"])

    assert (again["status"], done["status"], done["cached"]) == ("queued", "success", False)
    assert await tasks_for(sim, link) == 2


async def test_five_concurrent_submissions_of_a_new_link_share_one_task(
    stack: LocalStack, sim: SimControl, http: httpx.AsyncClient
) -> None:
    users = [await bearer(http, stack) for _ in range(5)]
    link = new_link()
    before = [await remaining(http, stack, headers) for headers in users]

    jobs = await asyncio.gather(*(submit(http, stack, headers, link) for headers in users))
    done = [await finished(http, stack, h, j["id"]) for h, j in zip(users, jobs, strict=True)]

    assert [job["status"] for job in done] == ["success"] * 5
    assert await tasks_for(sim, link) == 1
    after = [await remaining(http, stack, headers) for headers in users]
    assert [b - a for b, a in zip(before, after, strict=True)] == [1] * 5


async def test_an_admin_purge_sends_the_next_submission_upstream(
    stack: LocalStack, sim: SimControl, http: httpx.AsyncClient
) -> None:
    user, link = await bearer(http, stack), new_link()
    await finished(http, stack, user, (await submit(http, stack, user, link))["id"])
    login = await http.post(
        f"{stack.url('auth')}/api/auth/login",
        json={"email": DEV_ADMIN_EMAIL, "password": DEV_ADMIN_PASSWORD},
    )
    admin = {"Authorization": f"Bearer {login.json()['accessToken']}"}

    purged = await http.delete(
        f"{stack.url('jobs-api')}/api/admin/result-cache", params={"link": link}, headers=admin
    )

    assert purged.json() == {"link": link, "purged": 1}
    again = await submit(http, stack, user, link)
    assert again["status"] == "queued"
    await finished(http, stack, user, again["id"])
    assert await tasks_for(sim, link) == 2

    jobs_metrics = (await http.get(f"{stack.url('jobs-api')}/metrics")).text
    worker_metrics = (await http.get(f"{stack.url('worker')}/metrics")).text
    assert 'git44_jobs_result_cache_total{outcome="miss"}' in jobs_metrics
    assert 'git44_worker_result_cache_total{outcome="miss"}' in worker_metrics
    assert "git44_worker_flight_joins_total" in worker_metrics
