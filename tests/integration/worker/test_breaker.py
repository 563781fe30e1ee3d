"""Circuit breakers on the upstreams (worker `breaker.py`): real broker, MongoDB-wire
server and simulator, whose ScraperAPI is made to fail every call ("Request failed"
500s) and then recover."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from git44_common.circuits import CircuitState, Upstream, circuit_state
from git44_common.clock import utc_now
from git44_common.collections import REMOVAL_JOBS, UPSTREAM_CIRCUITS
from git44_common.mongo import Database
from git44_sim.client import SimControl
from git44_worker.crud import circuits
from tests.integration.worker.conftest import FakeKeyManager, Jobs, StartWorker
from tests.utils.waiting import eventually

pytestmark = pytest.mark.integration

FAST_PROBES = {"breaker_probe_seconds": 1.0, "breaker_probe_max_seconds": 2.0}


@pytest.fixture
async def outage(sim: SimControl) -> AsyncIterator[SimControl]:
    """ScraperAPI answers every call with its own 500 until the test ends it."""
    await sim.update_config(proxy_failure_rate=1.0)
    try:
        yield sim
    finally:
        await sim.update_config(proxy_failure_rate=0.0)


async def circuit(db: Database, name: str) -> dict[str, Any] | None:
    return await db[UPSTREAM_CIRCUITS].find_one({"_id": name})


async def test_an_outage_opens_the_circuit_jobs_wait_then_all_complete_in_order(
    start_worker: StartWorker, jobs: Jobs, keys: FakeKeyManager, outage: SimControl
) -> None:
    await start_worker(**FAST_PROBES)
    submitted = [await jobs.submit(n) for n in range(8)]
    ids = [doc["_id"] for doc in submitted]

    async def opened() -> dict[str, Any] | None:
        doc = await circuit(jobs.db, Upstream.SCRAPERAPI)
        return doc if doc is not None and doc["state"] == "open" else None

    await eventually(opened, within=20)

    async def all_waiting() -> bool:
        docs = await jobs.db[REMOVAL_JOBS].find({"_id": {"$in": ids}}).to_list()
        return all(d["status"] == "queued" and d.get("circuit_wait") for d in docs)

    await eventually(all_waiting, within=20)
    waiting = await jobs.db[REMOVAL_JOBS].find({"_id": {"$in": ids}}).to_list()
    # only the calls before the circuit opened spent a retry (5 in a row open it)
    assert sum(int(d["retry_count"]) for d in waiting) <= 4
    assert all(d["poll_count"] == 0 for d in waiting)

    # the outage goes on: probes, one at a time, growing to the cap (2 s here)
    async def grown() -> bool:
        doc = await circuit(jobs.db, Upstream.SCRAPERAPI)
        return doc is not None and doc["probe_seconds"] == 2.0

    await eventually(grown, within=15)
    before = await outage.stats()
    await asyncio.sleep(6)
    probes = (await outage.stats()).served_500 - before.served_500
    assert 2 <= probes <= 4, probes  # one every 2 s; 8 jobs waiting made no other call

    await outage.update_config(proxy_failure_rate=0.0)
    done = [await jobs.wait_for(job_id, {"success", "failed"}, within=30) for job_id in ids]
    assert [d["status"] for d in done] == ["success"] * 8
    assert all(int(d["retry_count"]) <= 1 for d in done)
    assert circuit_state(await circuit(jobs.db, Upstream.SCRAPERAPI), now=utc_now()) is (
        CircuitState.CLOSED
    )
    quota = await jobs.quota()
    assert quota["remaining_quota"] == quota["total_quota"] - 8  # nothing refunded or lost


async def test_two_workers_share_one_circuit(
    start_worker: StartWorker, jobs: Jobs, keys: FakeKeyManager, outage: SimControl
) -> None:
    """The second worker never opens it again: it reads the open circuit."""
    await start_worker(**FAST_PROBES, worker_id="breaker-a")
    await start_worker(**FAST_PROBES, worker_id="breaker-b")
    ids = [(await jobs.submit(f"two-{n}"))["_id"] for n in range(6)]

    async def opened() -> bool:
        doc = await circuit(jobs.db, Upstream.SCRAPERAPI)
        return doc is not None and doc["state"] == "open"

    await eventually(opened, within=20)
    await outage.update_config(proxy_failure_rate=0.0)
    done = [await jobs.wait_for(job_id, {"success", "failed"}, within=30) for job_id in ids]
    assert {d["status"] for d in done} == {"success"}
    doc = await circuit(jobs.db, Upstream.SCRAPERAPI)
    assert doc is not None
    assert doc["opened_count"] == 1


async def test_closing_wakes_the_waiting_jobs_oldest_first(jobs: Jobs) -> None:
    """The closer publishes the waiting jobs in submission order (`crud.circuits`)."""
    now = utc_now()
    for n, age in enumerate((5, 30, 10)):
        await jobs.db[REMOVAL_JOBS].insert_one(
            {
                "_id": f"wait-{n}",
                "user_id": jobs.user_id,
                "status": "queued",
                "circuit_wait": "scraperapi",
                "created_at": now - timedelta(seconds=age),
                "next_attempt_at": now + timedelta(minutes=1),
            }
        )
    await jobs.db[REMOVAL_JOBS].insert_one(
        {"_id": "other", "status": "queued", "circuit_wait": None, "created_at": now}
    )
    waiting = await circuits.waiting_jobs(jobs.db, "scraperapi")
    assert [doc["_id"] for doc in waiting] == ["wait-1", "wait-2", "wait-0"]
    await circuits.wake(jobs.db, [doc["_id"] for doc in waiting], "scraperapi", now=now)
    woken = await jobs.db[REMOVAL_JOBS].find({"_id": {"$regex": "^wait-"}}).to_list()
    assert all(d["circuit_wait"] is None and d["next_attempt_at"] <= now for d in woken)


async def test_with_scraperapi_down_new_tasks_go_to_the_next_provider(
    start_worker: StartWorker,
    jobs: Jobs,
    keys: FakeKeyManager,
    outage: SimControl,
    sim_url: str,
) -> None:
    """Providers in the order removesora, kie: once ScraperAPI's circuit opens, jobs
    create their task at kie (its own keys, no ScraperAPI) and complete during the
    outage; none fails."""
    await start_worker(
        **FAST_PROBES,
        providers="removesora,kie",
        kie_url=f"{sim_url}/kie",
        kie_api_keys=SecretStr("kie-demo-key-1,kie-demo-key-2"),  # model_copy: no coercion
    )
    ids = [(await jobs.submit(f"kie-{n}"))["_id"] for n in range(8)]
    done = [await jobs.wait_for(job_id, {"success", "failed"}, within=30) for job_id in ids]
    assert [d["status"] for d in done] == ["success"] * 8
    assert {d["provider"] for d in done} == {"kie"}
    assert "/removesora/files/" in done[0]["output_link"]  # the simulator's shared store
    stats = await outage.stats()
    assert stats.kie_tasks_created == 8
    kie_creates = REGISTRY.get_sample_value(
        "git44_worker_provider_calls_total", {"provider": "kie", "op": "create"}
    )
    assert kie_creates is not None
    assert kie_creates >= 8
    assert sum(int(d["retry_count"]) for d in done) <= 4
