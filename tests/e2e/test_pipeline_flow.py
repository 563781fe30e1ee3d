"""The removal pipeline across real processes: auth, jobs-api, key-manager, worker(s)
and the simulator, on the suite's RabbitMQ and MongoDB-wire server.

The stack is shared by the module (starting it is the slow part) and the tests build
on each other's key states in file order: the rotation test leaves demo-key-1 limited,
the cooldown test then exhausts the others, waits out the (shortened) cooldown and
leaves every key active again for the concurrency and crash tests.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from localstack import DEMO_SCRAPER_KEYS, SERVICES, LocalStack

from git44_common.mongo import Database, create_mongo_client
from git44_sim.client import SimControl
from tests.utils.accounts import register_user
from tests.utils.stack import stack_fixture

pytestmark = pytest.mark.e2e

COOLDOWN_SECONDS = 6
TERMINAL = {"success", "failed", "cancelled"}
WORKER = next(spec for spec in SERVICES if spec.name == "worker")


stack = stack_fixture(
    "stack",
    scope="module",
    tag="e2e",
    sim_args=[
        "--keys",
        ",".join(DEMO_SCRAPER_KEYS),
        "--concurrency",
        "2",
        "--processing-seconds",
        "0.5-1.5",
        "--seed",
        "5",
    ],
    extra_env={
        "GIT44_ENV": "test",
        "AUTH_BCRYPT_ROUNDS": "4",
        "KEYS_DEFAULT_MAX_CONCURRENCY": "2",
        "KEYS_COOLDOWN_SECONDS": str(COOLDOWN_SECONDS),
        "WORKER_CONCURRENCY": "4",
        "WORKER_POLL_MIN_SECONDS": "0.3",
        "WORKER_POLL_MAX_SECONDS": "0.5",
        "WORKER_RETRY_BACKOFF_SECONDS": "0.5",
        "WORKER_RETRY_BACKOFF_FACTOR": "1",
        "WORKER_LEASE_SECONDS": "4",
        "WORKER_HEARTBEAT_SECONDS": "1",
        "WORKER_KEY_WAIT_SECONDS": "3",
    },
)


@pytest.fixture
async def db(stack: LocalStack) -> AsyncIterator[Database]:
    assert stack.mongodb_url is not None
    client = create_mongo_client(stack.mongodb_url, app_name="e2e-pipeline")
    yield client[stack.mongodb_db]
    await client.close()


class User:
    """A registered user submitting jobs through jobs-api."""

    def __init__(self, stack: LocalStack, http: httpx.AsyncClient, token: str, user_id: str):
        self.stack, self.http, self.user_id = stack, http, user_id
        self.headers = {"Authorization": f"Bearer {token}"}

    async def submit(self, n: int = 0) -> dict[str, Any]:
        link = f"https://sora.chatgpt.com/p/s_{uuid.uuid4().hex[:12]}{n}"
        response = await self.http.post(
            f"{self.stack.url('jobs-api')}/api/removal",
            json={"inputLink": link},
            headers=self.headers,
        )
        assert response.status_code == 202, response.text
        return dict(response.json())

    async def job(self, job_id: str) -> dict[str, Any]:
        response = await self.http.get(
            f"{self.stack.url('jobs-api')}/api/removal/{job_id}", headers=self.headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def wait(self, job_id: str, statuses: set[str], *, within: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            job = await self.job(job_id)
            if job["status"] in statuses:
                return job
            assert time.monotonic() < deadline, f"job stayed {job['status']}: {job}"
            await asyncio.sleep(0.2)


@pytest.fixture
async def user(stack: LocalStack) -> AsyncIterator[User]:
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
        user_id, token = await register_user(http, stack.url("auth"))
        yield User(stack, http, token, user_id)


async def quota(db: Database, user_id: str) -> dict[str, Any]:
    doc = await db["user_quotas"].find_one({"_id": user_id})
    assert doc is not None
    return doc


async def key_states(db: Database) -> list[dict[str, Any]]:
    return await db["scraper_api_keys"].find().to_list()


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_a_submitted_job_reaches_success_with_the_simulators_link(
    user: User, sim: SimControl
) -> None:
    submitted = await user.submit()

    done = await user.wait(submitted["id"], TERMINAL)

    assert done["status"] == "success"
    [task] = await sim.tasks()
    assert done["taskId"] == task.task_id
    assert f"/removesora/files/{task.task_id}.mp4?expires=" in done["outputLink"]
    assert done["pollCount"] >= 1
    assert parse_time(done["startedAt"]) <= parse_time(done["completedAt"])
    assert done["retryCount"] == 0
    async with httpx.AsyncClient(trust_env=False) as http:
        video = await http.get(done["outputLink"])
    assert video.headers["content-type"] == "video/mp4"


async def test_a_task_failing_every_attempt_fails_after_three_retries_with_the_credit_back(
    user: User, sim: SimControl, db: Database
) -> None:
    before = await user.submit()  # a first job creates and charges the quota
    await user.wait(before["id"], TERMINAL)
    charged = await quota(db, user.user_id)
    await sim.update_config(task_failure_rate=1.0)

    submitted = await user.submit()
    done = await user.wait(submitted["id"], TERMINAL)

    assert done["status"] == "failed"
    assert done["retryCount"] == 3
    assert done["error"]
    assert done["completedAt"] is not None
    after = await quota(db, user.user_id)
    assert after["remaining_quota"] == charged["remaining_quota"]  # charged, then refunded
    stored = await db["removal_jobs"].find_one({"_id": submitted["id"]})
    assert stored is not None
    assert stored["charge"] == "refunded"
    assert (await sim.stats()).tasks_created == 1 + 4


async def test_a_key_out_of_credits_is_limited_and_the_job_completes_on_another(
    user: User, sim: SimControl, db: Database
) -> None:
    await sim.put_key("demo-key-1", request_limit=0)
    jobs = [await user.submit(n) for n in range(3)]  # enough to make key 1 come up

    done = [await user.wait(job["id"], TERMINAL) for job in jobs]

    assert [job["status"] for job in done] == ["success"] * 3
    assert all(job["retryCount"] == 0 for job in done)
    stats = await sim.stats()
    assert stats.served_403 >= 1
    assert stats.requests_by_key["demo-key-1"].charged == 0
    # only demo-key-1 is out of credits (keys are stored masked, so compare the pool)
    statuses = sorted(k["status"] for k in await key_states(db))
    assert statuses == ["active", "active", "limited"]


async def test_with_every_key_limited_jobs_wait_out_the_cooldown_then_complete(
    user: User, sim: SimControl, db: Database
) -> None:
    for key in DEMO_SCRAPER_KEYS:
        await sim.put_key(key, request_limit=0)
    jobs = [await user.submit(n) for n in range(3)]

    await _until(lambda: _all_cooling_down(db), within=30)
    states = await key_states(db)
    until = min(k["cooldown_until"].replace(tzinfo=UTC) for k in states)
    assert abs((until - datetime.now(UTC)).total_seconds()) <= COOLDOWN_SECONDS + 1
    waiting = [await user.job(job["id"]) for job in jobs]
    assert all(job["status"] in {"queued", "processing"} for job in waiting)
    for key in DEMO_SCRAPER_KEYS:
        await sim.put_key(key, request_limit=1000)

    done = [await user.wait(job["id"], TERMINAL, within=60) for job in jobs]

    assert [job["status"] for job in done] == ["success"] * 3
    assert all(job["retryCount"] == 0 for job in done)
    assert {k["status"] for k in await key_states(db)} == {"active"}


async def _all_cooling_down(db: Database) -> bool:
    states = await key_states(db)
    return {k["status"] for k in states} == {"cooldown"}


async def _until(check: Any, *, within: float) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.2)


@pytest.fixture
def second_worker(stack: LocalStack) -> Iterator[None]:
    name = f"worker-{uuid.uuid4().hex[:4]}"
    proc = stack.start_service(WORKER, name=name)
    proc.wait_http_ok(f"{stack.url(name)}/readyz", timeout=60)
    yield
    proc.stop()


async def test_thirty_jobs_on_three_keys_of_concurrency_two_never_meet_a_429(
    user: User, sim: SimControl, second_worker: None
) -> None:
    # two workers of concurrency 4: more jobs in flight than the 6 key slots
    jobs = [await user.submit(n) for n in range(30)]

    done = [await user.wait(job["id"], TERMINAL, within=120) for job in jobs]

    assert [job["status"] for job in done] == ["success"] * 30
    stats = await sim.stats()
    assert stats.served_429 == 0
    assert stats.tasks_created == 30
    assert max(stats.max_concurrent_by_key.values()) <= 2


async def test_a_worker_killed_while_polling_is_replaced_from_the_same_task(
    stack: LocalStack, user: User, sim: SimControl, db: Database
) -> None:
    await sim.update_config(processing_seconds=(4.0, 4.0))
    submitted = await user.submit()
    charged = await quota(db, user.user_id)
    polling = await user.wait(submitted["id"], {"polling"}, within=30)

    stack.processes["worker"].kill()  # kill -9
    name = f"worker-{uuid.uuid4().hex[:4]}"
    replacement = stack.start_service(WORKER, name=name)
    try:
        done = await user.wait(submitted["id"], TERMINAL, within=60)
    finally:
        replacement.stop()

    assert done["status"] == "success"
    assert done["taskId"] == polling["taskId"]
    assert done["retryCount"] == 0
    stored = await db["removal_jobs"].find_one({"_id": submitted["id"]})
    assert stored is not None
    assert (await sim.stats()).tasks_by_video_url[stored["input_link"]] == 1
    after = await quota(db, user.user_id)
    assert after["remaining_quota"] == charged["total_quota"] - 1  # charged once
    assert after["daily_used"] == charged["daily_used"] == 1


def test_no_worker_ever_logged_a_scraperapi_key(stack: LocalStack) -> None:
    logs = [proc.output() for name, proc in stack.processes.items() if name.startswith("worker")]
    assert len(logs) >= 2
    assert all("task created" in log or "took over" in log for log in logs)
    for key in DEMO_SCRAPER_KEYS:
        assert not any(key in log for log in logs)
