"""The removal pipeline inside the worker: real broker, MongoDB-wire server and
simulator; key-manager's RPC is the fake of conftest."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aio_pika.abc import AbstractQueue, AbstractRobustConnection
from prometheus_client import REGISTRY

from git44_common.amqp import JOB_EVENTS, Topology
from git44_sim.client import SimControl
from tests.integration.worker.conftest import FakeKeyManager, Jobs, StartWorker
from tests.utils.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
async def job_events(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> AsyncIterator[AbstractQueue]:
    channel = await amqp_connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(topology.events_exchange, JOB_EVENTS)
    yield queue
    await channel.close()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def drain(queue: AbstractQueue) -> list[dict[str, object]]:
    events = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        events.append(json.loads(message.body))
    return events


async def test_a_queued_job_succeeds_with_the_simulators_download_link(
    start_worker: StartWorker,
    jobs: Jobs,
    keys: FakeKeyManager,
    sim: SimControl,
    job_events: AbstractQueue,
) -> None:
    await start_worker()
    successes = sample("git44_worker_jobs_total", outcome="success")
    creates = sample("git44_worker_upstream_calls_total", op="create")
    submitted = await jobs.submit()

    done = await jobs.wait_for(submitted["_id"], {"success", "failed"})

    assert done["status"] == "success"

    async def counted() -> bool:  # the counter moves just after the state is saved
        return sample("git44_worker_jobs_total", outcome="success") == successes + 1

    await eventually(counted, within=5)
    assert sample("git44_worker_upstream_calls_total", op="create") == creates + 1
    tasks = await sim.tasks()
    assert [t.task_id for t in tasks] == [done["task_id"]]
    assert done["provider"] == "removesora"  # the task stays with the provider that made it
    assert f"/files/{done['task_id']}.mp4?expires=" in done["output_link"]
    assert done["poll_count"] >= 1
    assert done["started_at"] is not None
    assert done["completed_at"] >= done["started_at"]
    assert done["lease_owner"] is None
    assert done["charge"] == "reserved"
    # claim, task stored, each poll that found it processing, success (which counts the
    # poll that found it done)
    assert done["version"] == submitted["version"] + 3 + done["poll_count"] - 1
    await eventually(lambda: _count_releases(keys, 1 + done["poll_count"]))
    assert {r.outcome for r in keys.releases} == {"ok"}
    await asyncio.sleep(0.2)
    statuses = [e["status"] for e in await drain(job_events)]
    assert statuses == ["processing"] + ["polling"] * (done["poll_count"] - 1) + ["success"]


async def _count_releases(keys: FakeKeyManager, expected: int) -> bool:
    return len(keys.releases) >= expected


async def test_a_task_failing_every_attempt_fails_after_three_retries_and_refunds_once(
    start_worker: StartWorker, jobs: Jobs, keys: FakeKeyManager, sim: SimControl
) -> None:
    await sim.update_config(task_failure_rate=1.0)
    await start_worker()
    refunds = sample("git44_worker_refunds_total")
    submitted = await jobs.submit()
    charged = await jobs.quota()

    done = await jobs.wait_for(submitted["_id"], {"success", "failed"}, within=30)

    assert done["status"] == "failed"
    assert done["retry_count"] == 3
    assert done["error"]
    assert done["completed_at"] is not None
    assert done["charge"] == "refunded"
    assert sample("git44_worker_refunds_total") == refunds + 1
    assert [a["outcome"] for a in done["attempts"]] == ["retry", "retry", "retry", "failed"]
    assert len({a["task_id"] for a in done["attempts"]}) == 4  # one task per attempt
    quota = await jobs.quota()
    assert quota["remaining_quota"] == charged["remaining_quota"] + 1
    assert quota["daily_used"] == charged["daily_used"] - 1
    assert (await sim.stats()).tasks_created == 4


async def test_a_key_out_of_credits_is_reported_and_the_job_completes_on_another_key(
    start_worker: StartWorker, jobs: Jobs, keys: FakeKeyManager, sim: SimControl
) -> None:
    await sim.put_key("wk-key-1", request_limit=0)
    await start_worker()
    submitted = await jobs.submit()

    done = await jobs.wait_for(submitted["_id"], {"success", "failed"})

    assert done["status"] == "success"
    assert done["retry_count"] == 0
    limited = [r for r in keys.releases if r.outcome == "limited"]
    assert [(r.key_id, r.status_code) for r in limited] == [("id-wk-key-1", 403)]
    assert len(await sim.tasks()) == 1


async def test_all_keys_cooling_down_makes_the_job_wait_without_spending_a_retry(
    start_worker: StartWorker, jobs: Jobs, keys: FakeKeyManager, sim: SimControl
) -> None:
    for key in ("wk-key-1", "wk-key-2", "wk-key-3"):
        await sim.put_key(key, request_limit=0)
    keys.cooldown_seconds = 1.5
    await start_worker()
    submitted = await jobs.submit()

    waiting = await jobs.wait_for(submitted["_id"], {"queued"}, within=10)
    await eventually(lambda: _has_next_attempt(jobs, submitted["_id"]))
    waiting = await jobs.get(submitted["_id"])
    assert waiting["retry_count"] == 0
    assert waiting["next_attempt_at"] is not None
    for key in ("wk-key-1", "wk-key-2", "wk-key-3"):
        await sim.put_key(key, request_limit=1000)

    done = await jobs.wait_for(submitted["_id"], {"success", "failed"}, within=15)

    assert done["status"] == "success"
    assert done["retry_count"] == 0


async def _has_next_attempt(jobs: Jobs, job_id: str) -> bool:
    doc = await jobs.get(job_id)
    return doc["status"] == "queued" and doc["next_attempt_at"] is not None


async def test_a_job_in_a_terminal_state_is_left_alone(
    start_worker: StartWorker, jobs: Jobs, keys: FakeKeyManager, sim: SimControl
) -> None:
    await start_worker()
    cancelled = await jobs.submit(status="cancelled")
    marker = await jobs.submit(n=2)

    await jobs.wait_for(marker["_id"], {"success"})

    assert (await jobs.get(cancelled["_id"]))["status"] == "cancelled"
    assert len(await sim.tasks()) == 1


async def test_a_job_at_the_upstream_shows_when_it_should_be_ready_once_the_policy_learnt(
    start_worker: StartWorker, jobs: Jobs, keys: FakeKeyManager, sim: SimControl
) -> None:
    await sim.update_config(processing_seconds=(0.6, 0.6))
    await start_worker(poll_policy="adaptive", adaptive_min_samples=3)
    for _ in range(4):  # enough tasks to learn from
        learnt = await jobs.submit()
        assert (await jobs.wait_for(learnt["_id"], {"success", "failed"}))["status"] == "success"
        assert (await jobs.get(learnt["_id"]))["estimated_ready_at"] is None  # ended
    await sim.update_config(processing_seconds=(3.0, 3.0))
    ahead = await estimated_ready_in(jobs, await jobs.submit())
    assert 0 < ahead < 3.0  # what it learnt: tasks take about 0.6 s


async def estimated_ready_in(jobs: Jobs, submitted: dict[str, Any]) -> float:
    """Seconds from the job's task creation to its `estimated_ready_at`, once shown."""

    async def estimated() -> bool:
        doc = await jobs.get(submitted["_id"])
        return doc["status"] in {"processing", "polling"} and doc.get("estimated_ready_at")

    await eventually(estimated, within=10, every=0.05)
    doc = await jobs.get(submitted["_id"])
    return (doc["estimated_ready_at"] - doc["task_created_at"]).total_seconds()


async def test_a_starting_worker_polls_with_what_the_workers_before_it_learnt(
    start_worker: StartWorker, jobs: Jobs, keys: FakeKeyManager, sim: SimControl
) -> None:
    """Each success keeps where its task's ready time lay (`ready_window`); a worker
    started later reads them and needs no learning of its own."""
    await sim.update_config(processing_seconds=(0.6, 0.6))
    first = await start_worker(poll_policy="frontier", adaptive_min_samples=3)
    for _ in range(4):
        learnt = await jobs.submit()
        done = await jobs.wait_for(learnt["_id"], {"success", "failed"})
        assert done["status"] == "success"
        low, high = done["ready_window"]
        assert 0 <= low < high
        assert 0.5 < high < 5  # the task took 0.6 s
    # once learnt (3 tasks), a success also says where first polls went
    assert 0.3 < done["first_poll_at"] < 5
    await first.stop(grace=1)

    await start_worker(poll_policy="frontier", adaptive_min_samples=3)
    # before this worker saw any task finish, it already says when this one should be
    ahead = await estimated_ready_in(jobs, await jobs.submit())
    assert 0 < ahead < 3.0


async def test_a_job_due_within_the_tolerance_is_claimed_not_dropped(
    start_worker: StartWorker, jobs: Jobs, keys: FakeKeyManager, sim: SimControl
) -> None:
    """A delayed message may come back a few ms before `next_attempt_at`: `is_due` takes
    it as due, so the claim must too (it used to refuse it and the message was acked: a
    lost job, seen by the keys chaos scenario)."""
    await start_worker()
    almost = datetime.now(UTC) + timedelta(milliseconds=40)
    submitted = await jobs.submit(next_attempt_at=almost)

    done = await jobs.wait_for(submitted["_id"], {"success", "failed"}, within=20)

    assert done["status"] == "success"
