"""The database server killed (-9) under load, down 10 s, restarted on its data.

The stack has its own SecantusDB with a storage directory, restarted on the same port
and directory. While it is down every service answers `/readyz` 503 and submissions
are refused with a 503 problem (never a 500, never a 202 that is then lost); after it
returns every service is ready again without a restart and every accepted job ends.

Known bug (intermittent, docs/reliability.md): after the restart a worker handler can
hang for good — the job stays `polling`/`processing` while the heartbeat keeps its
lease alive, so no other worker takes it over — or the worker's whole Mongo client
stays wedged (`/readyz` answers `mongodb: timeout`, no job moves again). When exactly
that happens the test records the row and xfails with the evidence; any other
failure fails it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.chaos.harness import (
    HTTP_SERVICES,
    Audit,
    Load,
    all_ready,
    audit,
    chaos_stack,
    database,
    readiness_checks,
    record,
    restart_database,
    wait_ready,
    wait_terminal,
)

pytestmark = pytest.mark.chaos

DOWN_SECONDS = 10
ACTIVE = {"processing", "polling"}
WORKER_WEDGED = (
    "BUG (intermittent, docs/reliability.md): after a database restart accepted jobs "
    "never end: the worker's Mongo client stays wedged (readyz mongodb=timeout), or a "
    "handler hangs while the heartbeat keeps its lease alive (held), or a job whose "
    "terminal write the restart lost stays processing/polling with an expired lease and "
    "no message: nothing re-drives it (stranded)"
)


def stuck_jobs(result: Audit, worker_log: str) -> dict[str, str]:
    """Lost jobs left in processing/polling, not updated for 20 s, by kind: `held`
    (lease still renewed: a live handler no longer moves it), `stranded` (lease
    expired, nobody will take it over), `stranded-after-success` (and the worker had
    logged its success: the database lost the acknowledged write)."""
    now = datetime.now(UTC)
    kinds: dict[str, str] = {}
    for job_id in result.lost:
        job = result.jobs.get(job_id, {})
        lease, updated = job.get("lease_expires_at"), job.get("updated_at")
        if job.get("status") not in ACTIVE or updated is None:
            continue
        if (now - updated).total_seconds() < 20:
            continue
        if lease is not None and lease > now:
            kinds[job_id] = "held"
        elif any(job_id in line and "job succeeded" in line for line in worker_log.splitlines()):
            kinds[job_id] = "stranded-after-success"
        else:
            kinds[job_id] = "stranded"
    return kinds


@pytest.mark.timeout(420)
async def test_a_database_restart_makes_services_unready_then_they_recover_losing_nothing(
    tmp_path: Path, amqp_url: str
) -> None:
    started = time.monotonic()
    with chaos_stack(tmp_path, amqp_url=amqp_url, mongo_url=None) as stack:
        pids = {name: proc.pid for name, proc in stack.processes.items() if name != "secantusdb"}
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            load = await Load.register(stack, http, every=0.5)
            load.start()
            await asyncio.sleep(6)

            restart = asyncio.create_task(
                asyncio.to_thread(restart_database, stack, down_for=DOWN_SECONDS)
            )
            await asyncio.sleep(DOWN_SECONDS / 2)
            during = await all_ready(stack)
            await restart

            after = await wait_ready(stack, HTTP_SERVICES, within=60)
            worker_checks = await readiness_checks(stack, "worker")
            await asyncio.sleep(5)
            await load.stop()
        wedged = after.get("worker") == 503 and worker_checks.get("mongodb") == "timeout"
        async with database(stack) as db:
            await wait_terminal(db, load.accepted, within=20 if wedged else 90)
            result = await audit(stack, db, load)
        stuck = stuck_jobs(result, stack.processes["worker"].output())
        alive = {name: proc.alive() for name, proc in stack.processes.items()}
        same = {n: p.pid for n, p in stack.processes.items() if n != "secantusdb"} == pids

    notes = f"down {DOWN_SECONDS}s; refused while down: {dict(load.refused)}"
    if wedged or stuck:
        notes += f"; BUG: worker readyz {worker_checks}; stuck jobs {sorted(stuck.values())}"
    record(result.row("database restart", 1, load, time.monotonic() - started, notes))
    print("readyz during the outage:", during, "after:", after, "refused:", load.refused)
    assert set(during.values()) == {503}, during
    assert set(load.refused) <= {503}, load.refused
    assert all(alive.values()), alive
    assert same
    assert result.charged == result.reserved, (result.charged, result.reserved)
    if wedged or (stuck and sorted(stuck) == sorted(result.lost)):
        pytest.xfail(f"{WORKER_WEDGED}: {len(result.lost)} accepted jobs never ended {stuck}")
    assert set(after.values()) == {200}, after
    assert result.lost == [], {j: result.jobs.get(j, {}).get("status") for j in result.lost}
    assert result.statuses.get("failed", 0) == 0, result.statuses
    assert result.second_tasks == []
