"""A three-node RabbitMQ cluster loses the node leading the job queue, under load.

The stack reaches the cluster only through haproxy. After 8 s of load the node leading
the quorum queue `git44.removal<namespace>` is killed (-9) and left down for 30 s, then
restarted on its data. The two nodes left are a majority: the queue elects a new
leader and keeps taking and delivering jobs; the services whose connection went
through the dead node reconnect through the balancer by themselves. Jobs only complete
if key leases keep flowing too: the worker asks key-manager over `git44.keys.acquire`, so
that queue must outlive the node as well (a classic queue lives on one node only).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from localstack import LocalStack

from git44_common.amqp import Topology
from git44_common.mongo import Database
from tests.chaos.cluster import HAProxy, RabbitCluster
from tests.chaos.harness import (
    HTTP_SERVICES,
    Load,
    all_ready,
    audit,
    chaos_stack,
    database,
    record,
    wait_ready,
    wait_terminal,
)

pytestmark = pytest.mark.chaos

DOWN_SECONDS = 30


async def succeeded(db: Database, user_id: str) -> set[str]:
    docs = db["removal_jobs"].find({"user_id": user_id, "status": "success"}, {"_id": 1})
    return {doc["_id"] async for doc in docs}


async def new_leader(cluster: RabbitCluster, queue: str, old: str, *, within: float) -> str:
    """The queue's leader once it is no longer `old` (or `old` after `within` seconds)."""
    deadline = time.monotonic() + within
    while True:
        leader = await asyncio.to_thread(cluster.leader_of, queue)
        if leader != old or time.monotonic() > deadline:
            return leader
        await asyncio.sleep(0.5)


async def watch_readiness(stack: LocalStack, stop: asyncio.Event) -> dict[str, float]:
    """Per service, the seconds from the start until its last `/readyz` other than 200."""
    started = time.monotonic()
    last_bad: dict[str, float] = {}
    while not stop.is_set():
        for name, code in (await all_ready(stack)).items():
            if code != 200:
                last_bad[name] = round(time.monotonic() - started, 1)
        await asyncio.sleep(0.5)
    return last_bad


@pytest.mark.timeout(420)
async def test_losing_the_job_queue_leader_keeps_jobs_flowing_and_loses_none(
    tmp_path: Path, cluster_balancer: HAProxy, rabbit_cluster: RabbitCluster, mongo_url: str
) -> None:
    started = time.monotonic()
    with chaos_stack(
        tmp_path, amqp_url=cluster_balancer.url, mongo_url=mongo_url, cleanup_amqp=False
    ) as stack:
        queue = Topology(namespace=stack.amqp_namespace).removal_queue
        pids = {name: proc.pid for name, proc in stack.processes.items()}
        async with (
            httpx.AsyncClient(timeout=30, trust_env=False) as http,
            database(stack) as db,
        ):
            load = await Load.register(stack, http, every=0.5)
            load.start()
            await asyncio.sleep(8)

            leader = await asyncio.to_thread(rabbit_cluster.leader_of, queue)
            done_before = await succeeded(db, load.user_id)
            accepted_before = len(load.accepted)
            await asyncio.to_thread(rabbit_cluster.kill, leader)
            down_at = time.monotonic()
            stop_watch = asyncio.Event()
            watch = asyncio.create_task(watch_readiness(stack, stop_watch))
            moved_to = await new_leader(rabbit_cluster, queue, leader, within=20)
            await asyncio.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - down_at)))

            accepted_down = load.accepted[accepted_before:]
            done_down = await succeeded(db, load.user_id) - done_before
            down_for = time.monotonic() - down_at
            rabbit_cluster.restart(leader)  # from this thread: the node outlives it
            rejoined_in = await asyncio.to_thread(rabbit_cluster.wait_rejoined, leader)
            stop_watch.set()
            not_ready_until = await watch

            after = await wait_ready(stack, HTTP_SERVICES, within=60)
            await asyncio.sleep(5)
            await load.stop()
            await wait_terminal(db, load.accepted, within=150)
            result = await audit(stack, db, load)
        final = await all_ready(stack)
        alive = {name: proc.alive() for name, proc in stack.processes.items()}
        same = {name: proc.pid for name, proc in stack.processes.items()} == pids

    submitted_down = len(done_down & set(accepted_down))
    notes = (
        f"killed {leader} (leader of {queue}), new leader {moved_to}; down {down_for:.0f}s: "
        f"{len(accepted_down)} accepted, {len(done_down)} completed ({submitted_down} of "
        f"them submitted while down); last /readyz not 200 at {not_ready_until} s after "
        f"the kill; rejoined in {rejoined_in:.0f}s; slowest submission while down "
        f"{load.slowest(down_at, down_at + down_for):.1f}s"
    )
    seconds = time.monotonic() - started
    record(result.row("broker cluster: queue leader killed", 1, load, seconds, notes))
    print("readyz after the rejoin:", after, "at the end:", final)
    assert moved_to != leader, notes
    assert len(accepted_down) >= 20, notes
    assert submitted_down >= 5, notes
    assert load.refused == {}
    assert load.errors == 0
    assert set(final.values()) == {200}, final
    assert all(alive.values()), alive
    assert same, "a service process was restarted: it must reconnect by itself"
    assert result.lost == [], {j: result.jobs.get(j, {}).get("status") for j in result.lost}
    assert result.charged == result.reserved, (result.charged, result.reserved)
    assert result.statuses.get("failed", 0) == 0, result.statuses
    assert result.second_tasks == []
