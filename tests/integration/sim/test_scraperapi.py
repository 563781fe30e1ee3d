"""The ScraperAPI proxy: keys, credits, concurrency, injected failures, what is charged."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from git44_sim.client import SimControl
from tests.utils.processes import free_port

KEY = "sim-key-1"
SORA_LINK = "https://sora.chatgpt.com/p/s_68e0a1b2c3d4"
EXHAUSTED_PREFIX = "You have exhausted the API Credits available in this monthly cycle."
FAILED_TEXT = (
    "Request failed. You will not be charged for this request. Please make sure your url is "
    "correct and try the request again."
)


def tasks_url(sim: SimControl) -> str:
    return f"{sim.removesora_url}/api/v1/tasks"


async def create_task(
    http: httpx.AsyncClient, sim: SimControl, body: object, key: str = KEY
) -> httpx.Response:
    return await http.post(sim.proxy_url(key, tasks_url(sim)), json=body)


async def test_unknown_or_missing_key_is_401(sim: SimControl, http: httpx.AsyncClient) -> None:
    target = f"{sim.base_url}/healthz"
    unknown = await http.get(sim.proxy_url("not-a-key", target))
    missing = await http.get(sim.scraperapi_url, params={"url": target})
    account = await http.get(f"{sim.base_url}/account", params={"api_key": "not-a-key"})

    assert unknown.status_code == missing.status_code == account.status_code == 401
    assert unknown.text.startswith("Invalid API key")
    assert await sim.account("not-a-key") is None
    stats = await sim.stats()
    assert stats.served_401 == 2
    assert stats.requests_by_key == {}


async def test_exhausted_credits_give_403_with_the_real_text(
    sim: SimControl, http: httpx.AsyncClient
) -> None:
    await sim.put_key(KEY, request_limit=2)

    first = await create_task(http, sim, {"videoUrl": SORA_LINK})
    second = await create_task(http, sim, {"videoUrl": SORA_LINK})
    third = await create_task(http, sim, {"videoUrl": SORA_LINK})

    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 403)
    assert third.text.startswith(EXHAUSTED_PREFIX)
    account = await sim.account(KEY)
    assert account is not None
    assert (account.request_count, account.failed_request_count) == (2, 0)
    stats = await sim.stats()
    assert stats.tasks_created == 2, "a refused request never reaches the target"
    assert stats.served_403 == 1


@pytest.mark.parametrize(("limit", "burst"), [(1, 4), (2, 5)])
async def test_requests_above_the_concurrency_limit_get_429_uncharged(
    sim: SimControl, http: httpx.AsyncClient, limit: int, burst: int
) -> None:
    await sim.put_key(KEY, concurrency_limit=limit)
    await sim.update_config(proxy_latency_ms=500)
    target = f"{sim.base_url}/healthz"

    responses = await asyncio.gather(*(http.get(sim.proxy_url(KEY, target)) for _ in range(burst)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * limit + [429] * (burst - limit)
    too_many = next(r for r in responses if r.status_code == 429)
    assert "concurrency limit" in too_many.text
    account = await sim.account(KEY)
    assert account is not None
    assert account.request_count == limit
    assert account.concurrent_requests == 0
    stats = await sim.stats()
    assert stats.served_429 == burst - limit
    assert stats.max_concurrent_by_key[KEY] == limit


async def test_injected_500s_are_not_charged(sim: SimControl, http: httpx.AsyncClient) -> None:
    target = f"{sim.base_url}/healthz"
    await sim.update_config(fail_next_requests=2)

    statuses = [(await http.get(sim.proxy_url(KEY, target))).status_code for _ in range(3)]
    await sim.update_config(proxy_failure_rate=1.0)
    always_failing = await http.get(sim.proxy_url(KEY, target))

    assert statuses == [500, 500, 200]
    assert always_failing.status_code == 500
    assert always_failing.text == FAILED_TEXT
    account = await sim.account(KEY)
    assert account is not None
    assert (account.request_count, account.failed_request_count) == (1, 3)
    assert (await sim.stats()).served_500 == 3


async def test_unreachable_target_is_an_uncharged_500(
    sim: SimControl, http: httpx.AsyncClient
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/anything"

    response = await http.get(sim.proxy_url(KEY, closed))

    assert response.status_code == 500
    assert response.text == FAILED_TEXT
    account = await sim.account(KEY)
    assert account is not None
    assert (account.request_count, account.failed_request_count) == (0, 1)


async def test_only_200_and_404_are_charged(sim: SimControl, http: httpx.AsyncClient) -> None:
    created = await create_task(http, sim, {"videoUrl": SORA_LINK})
    unknown_task = await http.get(sim.proxy_url(KEY, f"{tasks_url(sim)}/no-such-task"))
    bad_link = await create_task(http, sim, {"videoUrl": "https://example.com/video.mp4"})

    assert (created.status_code, unknown_task.status_code, bad_link.status_code) == (200, 404, 422)
    assert bad_link.headers["content-type"] == "application/json"
    assert "error" in bad_link.json(), "the target's body comes back untouched"
    account = await sim.account(KEY)
    assert account is not None
    assert (account.request_count, account.failed_request_count) == (2, 1)
    by_key = (await sim.stats()).requests_by_key[KEY]
    assert (by_key.charged, by_key.failed) == (2, 1)
    assert by_key.statuses == {"200": 1, "404": 1, "422": 1}


async def test_account_reports_usage_and_limits(sim: SimControl, http: httpx.AsyncClient) -> None:
    await sim.put_key(KEY, request_limit=50, concurrency_limit=3, request_count=10)
    await sim.update_config(proxy_latency_ms=400)
    slow = asyncio.create_task(http.get(sim.proxy_url(KEY, f"{sim.base_url}/healthz")))
    await asyncio.sleep(0.15)

    during = await http.get(f"{sim.base_url}/account", params={"api_key": KEY})
    assert (await slow).status_code == 200
    after = await http.get(f"{sim.base_url}/account", params={"api_key": KEY})

    assert during.json() == {
        "requestCount": 10,
        "failedRequestCount": 0,
        "requestLimit": 50,
        "concurrentRequests": 1,
        "concurrencyLimit": 3,
    }
    assert after.json()["requestCount"] == 11
    assert after.json()["concurrentRequests"] == 0


async def test_post_body_reaches_the_target(sim: SimControl, http: httpx.AsyncClient) -> None:
    response = await create_task(http, sim, {"videoUrl": SORA_LINK})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    tasks = await sim.tasks()
    assert [(t.task_id, t.video_url) for t in tasks] == [(response.json()["taskId"], SORA_LINK)]
    assert (await sim.stats()).tasks_by_video_url == {SORA_LINK: 1}
