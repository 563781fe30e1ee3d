"""Every ScraperAPI key runs out of credits mid-load (KEYS_COOLDOWN_SECONDS=20), served
by two key-manager replicas, one of which is killed (kill -9) mid-load.

The simulator's keys get `requestLimit` = their current count: the next call on each
is a 403, key-manager puts every key in cooldown, and the workers park their jobs
(`queued` + a delayed message, no retry spent). The keys' credits come back while
they cool down; once the cooldown ends every job completes and none failed.

Meanwhile two key-manager replicas share every key's max_concurrency (ADR 0010); three
seconds into the load one is killed and a replacement starts, while the dead one's
leases may still be in use. The simulator admits far more calls per key than
key-manager's limit and every call takes a while, so its peak in-flight calls per key
(`max_concurrent_by_key`) shows whether key-manager ever let a key go past its limit.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from localstack import DEMO_SCRAPER_KEYS, SERVICES, LocalStack, ManagedProcess

from git44_common.mongo import Database
from git44_sim.client import SimControl
from tests.chaos.harness import (
    SIM_ARGS,
    Load,
    audit,
    chaos_stack,
    database,
    record,
    wait_ready,
    wait_terminal,
)

pytestmark = pytest.mark.chaos

COOLDOWN_SECONDS = 20
KEY_LIMIT = 2  # key-manager's max_concurrency per key; the simulator admits 10
KEY_MANAGER = next(spec for spec in SERVICES if spec.name == "key-manager")
ENV = {
    "KEYS_COOLDOWN_SECONDS": str(COOLDOWN_SECONDS),
    "KEYS_DEFAULT_MAX_CONCURRENCY": str(KEY_LIMIT),
    "KEYS_LEASE_SECONDS": "10",
    "KEYS_REPLICA_HEARTBEAT_SECONDS": "0.5",
    "KEYS_REPLICA_TTL_SECONDS": "2",
    "WORKER_CONCURRENCY": "10",
}
# slow calls (0.4 s each) and a generous upstream limit: key-manager alone bounds them
SIM = (*SIM_ARGS, "--concurrency", "10", "--proxy-latency-ms", "400")


async def start_key_manager(stack: LocalStack, name: str) -> ManagedProcess:
    proc = stack.start_service(KEY_MANAGER, name=name)
    codes = await wait_ready(stack, [name], within=60)
    assert codes == {name: 200}, (codes, proc.output()[-3000:])
    return proc


async def exhaust_keys(sim: SimControl) -> None:
    for key in await sim.list_keys():
        await sim.put_key(key.api_key, request_limit=key.request_count)


async def watch_cooldown(db: Database, within: float) -> bool:
    """True once every key is in cooldown at the same time."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        states = await db["scraper_api_keys"].find().to_list()
        if states and {k["status"] for k in states} == {"cooldown"}:
            return True
        await asyncio.sleep(0.3)
    return False


async def run_load(stack: LocalStack, db: Database, load: Load) -> tuple[bool, list[str]]:
    async with SimControl(stack.url("sim")) as sim:
        load.start()
        await asyncio.sleep(3)
        stack.processes["key-manager-2"].kill()  # whatever it was doing, leases out
        await start_key_manager(stack, "key-manager-3")
        await asyncio.sleep(2)
        # Back to the scenario's usual pace: the keys were contended while it mattered,
        # and the jobs parked for the cooldown stay as many as before.
        load.every = 0.5
        await exhaust_keys(sim)
        all_cooling = await watch_cooldown(db, within=20)
        await asyncio.sleep(COOLDOWN_SECONDS / 2)
        for key in DEMO_SCRAPER_KEYS:  # credits back while the keys still cool down
            await sim.put_key(key, request_limit=1_000_000)
        await asyncio.sleep(COOLDOWN_SECONDS / 2 + 5)
        await load.stop()
        await wait_terminal(db, load.accepted, within=150)
        statuses = sorted(k["status"] for k in await db["scraper_api_keys"].find().to_list())
        return all_cooling, statuses


async def peak_calls_per_key(stack: LocalStack) -> dict[str, int]:
    async with SimControl(stack.url("sim")) as sim:
        return dict((await sim.stats()).max_concurrent_by_key)


@pytest.mark.timeout(420)
async def test_all_keys_exhausted_mid_load_no_job_fails_and_all_complete_after_cooldown(
    tmp_path: Path, amqp_url: str, mongo_url: str
) -> None:
    started = time.monotonic()
    chaos = chaos_stack(tmp_path, amqp_url=amqp_url, mongo_url=mongo_url, extra_env=ENV,
                        sim_args=SIM)  # fmt: skip
    with chaos as stack:
        await start_key_manager(stack, "key-manager-2")
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http, database(stack) as db:
            load = await Load.register(stack, http, every=0.3)
            all_cooling, key_statuses = await run_load(stack, db, load)
            result = await audit(stack, db, load)
            peaks = await peak_calls_per_key(stack)

    notes = (
        f"{len(DEMO_SCRAPER_KEYS)} keys, cooldown {COOLDOWN_SECONDS}s; 2 key-managers, one "
        f"killed mid-load and replaced; peak calls per key {sorted(peaks.values())} "
        f"(limit {KEY_LIMIT})"
    )
    record(result.row("all keys exhausted", 1, load, time.monotonic() - started, notes))
    retries = sum(doc.get("retry_count", 0) for doc in result.jobs.values())
    assert all_cooling, "the keys never were all in cooldown together: nothing was tested"
    assert set(peaks) == set(DEMO_SCRAPER_KEYS), peaks
    assert max(peaks.values()) <= KEY_LIMIT, f"a key went past its max_concurrency: {peaks}"
    assert load.refused == {}
    assert result.lost == [], {j: result.jobs.get(j, {}).get("status") for j in result.lost}
    assert result.statuses.get("failed", 0) == 0, result.statuses
    assert retries == 0, "a key wait cost a job a retry"
    assert result.charged == result.reserved, (result.charged, result.reserved)
    assert key_statuses == ["active"] * len(DEMO_SCRAPER_KEYS), key_statuses
    assert result.second_tasks == []
