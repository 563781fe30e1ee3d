"""ScraperAPI down for 3 minutes under a steady load (every call a "Request failed"
500), then back (issue 16; ADR 0013).

The workers' circuit breaker opens after a few failures: jobs go back to `queued`
(`circuit_wait`) without spending retries, polls or credits, and during the outage the
upstream sees only the probes (one at a time, every 10 s growing to 60 s) besides the
few calls before the circuit opened and those in flight then. When the simulator
answers again, a probe closes the circuit and every job completes: none failed, none
lost, none charged twice.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from git44_sim.client import SimControl
from tests.chaos.harness import Load, audit, chaos_stack, database, record, wait_terminal

pytestmark = pytest.mark.chaos

OUTAGE_SECONDS = 180
# probes every 10, 20, 40, 60, 60 s: at most this many over the outage (one extra for
# the probe in flight when it ends)
PROBES = 1 + sum(1 for at in (10, 30, 70, 130, 190) if at <= OUTAGE_SECONDS)
# one worker drains the backlog at about 1.5 jobs a second once the upstream is back
ENV = {"WORKER_CONCURRENCY": "4"}


@pytest.mark.timeout(780)
async def test_a_3_minute_upstream_outage_fails_no_job_and_calls_only_to_probe(
    tmp_path: Path, amqp_url: str, mongo_url: str
) -> None:
    started = time.monotonic()
    with chaos_stack(tmp_path, amqp_url=amqp_url, mongo_url=mongo_url, extra_env=ENV) as stack:
        async with (
            httpx.AsyncClient(timeout=30, trust_env=False) as http,
            database(stack) as db,
            SimControl(stack.url("sim")) as sim,
        ):
            load = await Load.register(stack, http, every=1.0)
            load.start()
            await asyncio.sleep(5)
            await sim.update_config(proxy_failure_rate=1.0)
            before = (await sim.stats()).served_500
            await asyncio.sleep(OUTAGE_SECONDS)
            failed_calls = (await sim.stats()).served_500 - before
            opened = await db["upstream_circuits"].find_one({"_id": "scraperapi"})
            waiting = await db["removal_jobs"].count_documents(
                {"status": "queued", "circuit_wait": "scraperapi"}
            )
            await sim.update_config(proxy_failure_rate=0.0)
            await asyncio.sleep(5)
            await load.stop()
            await wait_terminal(db, load.accepted, within=360)  # a backlog of ~190
            result = await audit(stack, db, load)

    # before the circuit opened: at most 4 failures in a row, plus the calls in flight
    # then (WORKER_CONCURRENCY); after: the probes alone
    bound = 5 + int(ENV["WORKER_CONCURRENCY"]) + PROBES
    retries = sum(int(doc.get("retry_count") or 0) for doc in result.jobs.values())
    notes = (
        f"{OUTAGE_SECONDS}s of proxy 500s; {failed_calls} upstream calls during the outage "
        f"(bound {bound}); {waiting} jobs waiting at its end; {retries} retries spent"
    )
    record(result.row("upstream down 3 min", 1, load, time.monotonic() - started, notes))
    assert opened is not None
    assert opened["opened_count"] == 1, opened
    assert waiting > 100, "the load did not pile up behind the open circuit"
    assert failed_calls <= bound, notes
    assert load.refused == {}
    assert result.lost == [], {j: result.jobs.get(j, {}).get("status") for j in result.lost}
    assert result.statuses.get("failed", 0) == 0, result.statuses
    assert retries <= 4, notes
    assert result.charged == result.reserved, (result.charged, result.reserved)
    assert result.second_tasks == []
