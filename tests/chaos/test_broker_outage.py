"""RabbitMQ stopped for 30 s under a steady submission load, then restarted.

The stack runs on a private RabbitMQ node (the shared broker is never touched). While
the node is down, jobs-api keeps accepting (the job and its outbox flag are committed
first; the relay publishes once the broker is back); every service reports not-ready
and reconnects by itself when the node returns: no process is restarted.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.chaos.harness import (
    HTTP_SERVICES,
    Load,
    PrivateRabbit,
    all_ready,
    audit,
    chaos_stack,
    database,
    record,
    wait_ready,
    wait_terminal,
)

pytestmark = pytest.mark.chaos

OUTAGE_SECONDS = 30


@pytest.mark.timeout(480)
async def test_a_30s_broker_outage_keeps_accepting_and_every_job_completes_after(
    tmp_path: Path, private_rabbit: PrivateRabbit, mongo_url: str
) -> None:
    started = time.monotonic()
    with chaos_stack(
        tmp_path, amqp_url=private_rabbit.url, mongo_url=mongo_url, cleanup_amqp=False
    ) as stack:
        pids = {name: proc.pid for name, proc in stack.processes.items()}
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            load = await Load.register(stack, http, every=0.5)
            load.start()
            await asyncio.sleep(5)
            before_outage = len(load.accepted)

            await asyncio.to_thread(private_rabbit.stop)
            down_at = time.monotonic()
            await asyncio.sleep(5)
            during = await all_ready(stack)
            await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
            accepted_during = len(load.accepted) - before_outage
            slowest = load.slowest(down_at, time.monotonic())
            await asyncio.to_thread(private_rabbit.start)

            after = await wait_ready(stack, HTTP_SERVICES, within=90)
            await asyncio.sleep(5)
            await load.stop()
        async with database(stack) as db:
            await wait_terminal(db, load.accepted, within=150)
            result = await audit(stack, db, load)
        alive = {name: proc.alive() for name, proc in stack.processes.items()}
        same = {name: proc.pid for name, proc in stack.processes.items()} == pids

    notes = (
        f"{OUTAGE_SECONDS}s outage; {accepted_during} accepted while down, "
        f"slowest submission {slowest:.1f}s (publish timeout, then the outbox relay)"
    )
    record(result.row("broker down 30 s", 1, load, time.monotonic() - started, notes))
    print("readyz during the outage:", during, "after:", after)
    assert accepted_during >= 5, "submissions stopped being accepted during the outage"
    assert load.refused == {}
    assert load.errors == 0
    assert set(during.values()) == {503}, during
    assert set(after.values()) == {200}, after
    assert all(alive.values()), alive
    assert same
    assert result.lost == [], {j: result.jobs.get(j, {}).get("status") for j in result.lost}
    assert result.charged == result.reserved, (result.charged, result.reserved)
    assert result.statuses.get("failed", 0) == 0, result.statuses
    assert result.second_tasks == []
