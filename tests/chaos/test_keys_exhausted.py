"""Every ScraperAPI key runs out of credits mid-load (KEYS_COOLDOWN_SECONDS=20).

The simulator's keys get `requestLimit` = their current count: the next call on each
is a 403, key-manager puts every key in cooldown, and the workers park their jobs
(`queued` + a delayed message, no retry spent). The keys' credits come back while
they cool down; once the cooldown ends every job completes and none failed.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from localstack import DEMO_SCRAPER_KEYS, LocalStack

from git44_common.mongo import Database
from git44_sim.client import SimControl
from tests.chaos.harness import Load, audit, chaos_stack, database, record, wait_terminal

pytestmark = pytest.mark.chaos

COOLDOWN_SECONDS = 20


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
        await asyncio.sleep(6)
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


@pytest.mark.timeout(420)
async def test_all_keys_exhausted_mid_load_no_job_fails_and_all_complete_after_cooldown(
    tmp_path: Path, amqp_url: str, mongo_url: str
) -> None:
    started = time.monotonic()
    env = {"KEYS_COOLDOWN_SECONDS": str(COOLDOWN_SECONDS)}
    with chaos_stack(tmp_path, amqp_url=amqp_url, mongo_url=mongo_url, extra_env=env) as stack:
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http, database(stack) as db:
            load = await Load.register(stack, http, every=0.5)
            all_cooling, key_statuses = await run_load(stack, db, load)
            result = await audit(stack, db, load)

    notes = f"{len(DEMO_SCRAPER_KEYS)} keys, cooldown {COOLDOWN_SECONDS}s"
    record(result.row("all keys exhausted", 1, load, time.monotonic() - started, notes))
    retries = sum(doc.get("retry_count", 0) for doc in result.jobs.values())
    assert all_cooling, "the keys never were all in cooldown together: nothing was tested"
    assert load.refused == {}
    assert result.lost == [], {j: result.jobs.get(j, {}).get("status") for j in result.lost}
    assert result.statuses.get("failed", 0) == 0, result.statuses
    assert retries == 0, "a key wait cost a job a retry"
    assert result.charged == result.reserved, (result.charged, result.reserved)
    assert key_statuses == ["active"] * len(DEMO_SCRAPER_KEYS), key_statuses
    assert result.second_tasks == []
