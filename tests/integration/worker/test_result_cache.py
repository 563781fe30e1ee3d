"""Paying only once per link, inside the worker (real broker, MongoDB-wire server and
simulator): a job whose link's result is cached succeeds with no upstream call; jobs
for a link already in flight wait for its task and complete with its result; when that
task fails, they try on their own, each with its own retries and refund."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from git44_common.collections import REMOVAL_FLIGHTS, RESULT_CACHE
from git44_sim.client import SimControl
from tests.integration.worker.conftest import FakeKeyManager, Jobs, StartWorker

pytestmark = pytest.mark.integration

TERMINAL = {"success", "failed", "cancelled"}


def shared_key(link: str) -> str:
    return f"shared:{link}"


async def tasks_for(sim: SimControl, link: str) -> int:
    return (await sim.stats()).tasks_by_video_url.get(link, 0)


async def test_a_cached_link_succeeds_with_no_upstream_call(
    start_worker: StartWorker, jobs: Jobs, sim: SimControl, keys: FakeKeyManager
) -> None:
    await start_worker()
    first = await jobs.submit()
    done = await jobs.wait_for(first["_id"], TERMINAL)
    assert (done["status"], done.get("cached", False)) == ("success", False)
    cached = await jobs.db[RESULT_CACHE].find_one({"_id": shared_key(first["input_link"])})
    assert cached is not None
    assert cached["output_link"] == done["output_link"]
    expires = datetime.fromtimestamp(int(done["output_link"].split("expires=")[1][:10]), UTC)
    assert abs((cached["expires_at"].replace(tzinfo=UTC) - expires).total_seconds()) < 1

    again = await jobs.submit(n=first["input_link"].rsplit("s_worker", 1)[1])
    repeat = await jobs.wait_for(again["_id"], TERMINAL)

    assert (repeat["status"], repeat["cached"]) == ("success", True)
    assert repeat["output_link"] == done["output_link"]
    assert repeat["task_id"] is None
    assert repeat["attempts"][-1]["outcome"] == "cached"
    assert await tasks_for(sim, first["input_link"]) == 1
    # the leader's flight stays after its success, for the next job to replace
    assert [f["job_id"] async for f in jobs.db[REMOVAL_FLIGHTS].find({})] == [first["_id"]]


async def test_a_result_about_to_expire_is_not_handed_out(
    start_worker: StartWorker, jobs: Jobs, sim: SimControl, keys: FakeKeyManager
) -> None:
    await start_worker()
    first = await jobs.submit()
    await jobs.wait_for(first["_id"], TERMINAL)
    soon = datetime.now(UTC) + timedelta(seconds=60)  # under the 600 s minimum validity
    key = shared_key(first["input_link"])
    await jobs.db[RESULT_CACHE].update_one({"_id": key}, {"$set": {"expires_at": soon}})

    again = await jobs.submit(n=first["input_link"].rsplit("s_worker", 1)[1])
    repeat = await jobs.wait_for(again["_id"], TERMINAL)

    assert (repeat["status"], repeat.get("cached", False)) == ("success", False)
    assert await tasks_for(sim, first["input_link"]) == 2


async def test_concurrent_jobs_for_one_link_share_one_task(
    start_worker: StartWorker, jobs: Jobs, sim: SimControl, keys: FakeKeyManager
) -> None:
    await sim.update_config(processing_seconds=(0.6, 0.6))  # 8 polls of 0.1–0.2 s outlast it
    await start_worker(concurrency=5)
    suffix = "sharedflight1"
    first = await jobs.submit(n=suffix)  # creates the user's quota
    submitted = [first, *await asyncio.gather(*(jobs.submit(n=suffix) for _ in range(4)))]

    done = [await jobs.wait_for(job["_id"], TERMINAL, within=30) for job in submitted]

    assert [job["status"] for job in done] == ["success"] * 5
    assert await tasks_for(sim, submitted[0]["input_link"]) == 1
    assert len({job["output_link"] for job in done}) >= 1
    assert sum(1 for job in done if job.get("cached")) == 4
    assert (await jobs.quota())["remaining_quota"] == 500 - 5  # five charges, none refunded
    [leader] = [f["job_id"] async for f in jobs.db[REMOVAL_FLIGHTS].find({})]
    assert leader in {job["_id"] for job in done if not job.get("cached")}


async def test_when_the_shared_task_fails_the_waiting_jobs_try_on_their_own(
    start_worker: StartWorker, jobs: Jobs, sim: SimControl, keys: FakeKeyManager
) -> None:
    await sim.update_config(processing_seconds=(1.0, 1.0), task_failure_rate=1.0)
    await start_worker(concurrency=4)
    suffix = "failingflight1"
    first = await jobs.submit(n=suffix, max_retries=1)  # creates the user's quota
    others = await asyncio.gather(*(jobs.submit(n=suffix, max_retries=1) for _ in range(2)))
    submitted = [first, *others]

    done = [await jobs.wait_for(job["_id"], TERMINAL, within=60) for job in submitted]

    assert [job["status"] for job in done] == ["failed"] * 3
    # each job ran its own two attempts (1 + 1 retry): none was failed by another's task
    assert [len(job["attempts"]) for job in done] == [2, 2, 2]
    assert await tasks_for(sim, submitted[0]["input_link"]) == 6
    quota = await jobs.quota()
    assert quota["remaining_quota"] == 500  # three charges, three refunds, each once
    assert [job["charge"] for job in done] == ["refunded"] * 3
