"""kill -9 a worker at random points of the job lifecycle, 20+ times under load.

Two workers share the queue; every 1.5-3.5 s one of them, at random, is killed with
SIGKILL (whatever it was doing: claiming, creating a task, polling, settling) and a
replacement is started. Jobs go through every state meanwhile (processing takes
0.8-2 s upstream, polls every 0.4-0.7 s), so the kills land all over the lifecycle.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from pathlib import Path

import httpx
import pytest
from localstack import LocalStack, ManagedProcess

from git44_common.mongo import Database
from tests.chaos.harness import WORKER, Load, audit, chaos_stack, database, record, wait_terminal

pytestmark = pytest.mark.chaos

KILLS = 20
ACTIVE = ["processing", "polling"]


def start_worker(stack: LocalStack) -> ManagedProcess:
    return stack.start_service(WORKER, name=f"worker-{uuid.uuid4().hex[:6]}")


async def victim_jobs(db: Database, victim: ManagedProcess) -> dict[str, int]:
    """What the worker about to die holds: its leased jobs by lifecycle point."""
    owner = {"$regex": f"-{victim.pid}-"}
    docs = db["removal_jobs"].find({"lease_owner": owner, "status": {"$in": ACTIVE}})
    points: dict[str, int] = {}
    async for doc in docs:
        point = doc["status"] + ("+task" if doc.get("task_id") else "")
        points[point] = points.get(point, 0) + 1
    return points


async def kill_workers(
    stack: LocalStack, db: Database, workers: list[ManagedProcess], rng: random.Random
) -> dict[str, int]:
    """Kill a random live worker KILLS times, starting a replacement each time; count
    the jobs the victims held by lifecycle point ("idle" when it held none)."""
    held: dict[str, int] = {}
    for _ in range(KILLS):
        await asyncio.sleep(rng.uniform(1.5, 3.5))
        victim = rng.choice(workers)
        points = await victim_jobs(db, victim)
        victim.kill()
        workers.remove(victim)
        workers.append(start_worker(stack))
        for point, n in (points or {"idle": 1}).items():
            held[point] = held.get(point, 0) + n
    return held


@pytest.mark.timeout(420)
async def test_kill_9_workers_loses_no_job_and_charges_every_credit_once(
    tmp_path: Path, amqp_url: str, mongo_url: str
) -> None:
    rng = random.Random()
    started = time.monotonic()
    with chaos_stack(tmp_path, amqp_url=amqp_url, mongo_url=mongo_url) as stack:
        workers = [stack.processes["worker"], start_worker(stack)]
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            load = await Load.register(stack, http, every=0.6)
            async with database(stack) as db:
                load.start()
                held = await kill_workers(stack, db, workers, rng)
                await load.stop()
                await wait_terminal(db, load.accepted, within=120)
                result = await audit(stack, db, load)
        for proc in workers:
            proc.stop()

    notes = f"2 workers; jobs held by the victims: {held}"
    record(result.row("worker kill -9", KILLS, load, time.monotonic() - started, notes))
    assert sum(n for point, n in held.items() if point != "idle") >= 10, held
    assert load.refused == {}
    assert load.errors == 0
    assert result.lost == [], {j: result.jobs.get(j, {}).get("status") for j in result.lost}
    assert result.charged == result.reserved, (result.charged, result.reserved)
    assert result.second_tasks == [], result.second_tasks
    assert result.statuses.get("failed", 0) == 0, result.statuses
