"""A job never gets a second upstream task for the same attempt: redeliveries,
takeovers after a dead worker and a graceful stop all resume the stored `task_id`."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from git44_common.clock import utc_now
from git44_sim.client import SimControl
from tests.integration.worker.conftest import FakeKeyManager, Jobs, StartWorker

pytestmark = pytest.mark.integration


async def create_sim_task(sim: SimControl, video_url: str) -> str:
    url = sim.proxy_url("wk-key-3", f"{sim.removesora_url}/api/v1/tasks")
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(url, json={"videoUrl": video_url})
    response.raise_for_status()
    return str(response.json()["taskId"])


async def polling_job_of_a_dead_worker(
    jobs: Jobs, sim: SimControl, *, lease_left: float
) -> dict[str, object]:
    """A job as a worker left it when it died while polling."""
    now = utc_now()
    link = "https://sora.chatgpt.com/p/s_resume1"
    task_id = await create_sim_task(sim, link)
    return await jobs.submit(
        input_link=link,
        status="polling",
        task_id=task_id,
        task_created_at=now,
        started_at=now,
        poll_count=2,
        lease_owner="dead-worker",
        lease_expires_at=now + timedelta(seconds=lease_left),
    )


async def test_a_job_whose_worker_died_is_finished_from_its_stored_task(
    start_worker: StartWorker, jobs: Jobs, keys: FakeKeyManager, sim: SimControl
) -> None:
    await start_worker()
    orphan = await polling_job_of_a_dead_worker(jobs, sim, lease_left=-1)

    done = await jobs.wait_for(orphan["_id"], {"success", "failed"})

    assert done["status"] == "success"
    assert done["task_id"] == orphan["task_id"]
    assert done["poll_count"] > 2
    assert (await sim.stats()).tasks_created == 1


async def test_a_live_lease_is_waited_out_before_the_job_is_taken_over(
    start_worker: StartWorker, jobs: Jobs, keys: FakeKeyManager, sim: SimControl
) -> None:
    await start_worker()
    started = time.monotonic()
    orphan = await polling_job_of_a_dead_worker(jobs, sim, lease_left=2.0)

    done = await jobs.wait_for(orphan["_id"], {"success", "failed"})

    assert done["status"] == "success"
    assert time.monotonic() - started >= 2.0
    assert done["task_id"] == orphan["task_id"]
    assert (await sim.stats()).tasks_created == 1


async def test_duplicate_messages_create_one_task(
    start_worker: StartWorker, jobs: Jobs, keys: FakeKeyManager, sim: SimControl
) -> None:
    await start_worker()
    submitted = await jobs.submit()
    await jobs.publish(submitted)
    await jobs.publish(submitted)

    done = await jobs.wait_for(submitted["_id"], {"success", "failed"})

    assert done["status"] == "success"
    assert (await sim.stats()).tasks_created == 1


async def test_a_stopped_worker_hands_its_job_to_the_next_one(
    start_worker: StartWorker, jobs: Jobs, keys: FakeKeyManager, sim: SimControl
) -> None:
    await sim.update_config(processing_seconds=(1.5, 1.5))
    first = await start_worker(poll_min_seconds=0.4, poll_max_seconds=0.5)
    submitted = await jobs.submit()
    polling = await jobs.wait_for(submitted["_id"], {"polling"})
    await first.stop(grace=0.1)
    handed_over = await jobs.get(submitted["_id"])
    assert handed_over["lease_expires_at"] <= utc_now()

    await start_worker(poll_min_seconds=0.4, poll_max_seconds=0.5)
    done = await jobs.wait_for(submitted["_id"], {"success", "failed"})

    assert done["status"] == "success"
    assert done["retry_count"] == 0
    assert done["task_id"] == polling["task_id"]
    assert (await sim.stats()).tasks_created == 1
