"""Callbacks instead of polling, across real processes (issue 16): the worker's only
provider is the simulator's kie-style `/kie`, which calls jobs-api back when a task
ends; the job completes with no poll. With callbacks withheld it still completes, by
polling once the wait for the callback runs out."""

from __future__ import annotations

import uuid

import httpx
import pytest
from localstack import LocalStack

from git44_common.mongo import create_mongo_client
from git44_sim.client import SimControl
from tests.utils.accounts import register_account
from tests.utils.stack import stack_fixture
from tests.utils.waiting import eventually

pytestmark = pytest.mark.e2e

stack = stack_fixture(
    "stack",
    scope="module",
    tag="cb",
    extra_env={
        "GIT44_ENV": "test",
        "AUTH_BCRYPT_ROUNDS": "4",
        "WORKER_PROVIDERS": "kie",
        "WORKER_CALLBACK_GRACE_SECONDS": "1",
        "WORKER_POLL_MIN_SECONDS": "0.5",
        "WORKER_POLL_MAX_SECONDS": "0.8",
    },
)


async def run_one(stack: LocalStack) -> dict[str, object]:
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
        registered = await register_account(http, stack.url("auth"), prefix="cb")
        api = {"X-API-Key": registered["apiKey"]["key"]}
        link = f"https://sora.chatgpt.com/p/s_cb{uuid.uuid4().hex[:16]}"
        submitted = await http.post(
            f"{stack.url('jobs-api')}/api/v1/removals", json={"inputLink": link}, headers=api
        )
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["id"]

        async def finished() -> dict[str, object] | None:
            read = await http.get(f"{stack.url('jobs-api')}/api/v1/removals/{job_id}", headers=api)
            body: dict[str, object] = read.json()
            return body if body["status"] in ("success", "failed") else None

        await eventually(finished, within=40)
    assert stack.mongodb_url is not None
    client = create_mongo_client(stack.mongodb_url, app_name="e2e-callbacks")
    try:
        stored = await client[stack.mongodb_db]["removal_jobs"].find_one({"_id": job_id})
    finally:
        await client.close()
    assert stored is not None
    return stored


async def test_a_job_at_the_callback_provider_succeeds_with_no_poll(stack: LocalStack) -> None:
    async with SimControl(stack.url("sim")) as sim:
        await sim.update_config(kie_callbacks=True, processing_seconds=(1.0, 1.5))
        before = (await sim.stats()).kie_polls
        job = await run_one(stack)
        polls = (await sim.stats()).kie_polls - before
    assert (job["status"], job["provider"], job["poll_count"]) == ("success", "kie", 0)
    assert job["callback"]["state"] == "success"  # type: ignore[index]
    assert polls == 0


async def test_with_callbacks_withheld_it_completes_by_polling(stack: LocalStack) -> None:
    async with SimControl(stack.url("sim")) as sim:
        await sim.update_config(kie_callbacks=False, processing_seconds=(1.0, 1.5))
        job = await run_one(stack)
        stats = await sim.stats()
    assert (job["status"], job["provider"]) == ("success", "kie")
    assert job.get("callback") is None
    assert int(job["poll_count"]) >= 1  # type: ignore[call-overload]
    assert stats.kie_polls >= 1
