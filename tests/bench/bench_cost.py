"""Cost per job: upstream credits, MongoDB writes and broker messages per successful job,
for distinct links and for a mix where 30 % of submissions repeat an earlier link.

One stack (simulator, auth, key-manager, jobs-api, one worker with the default poll
policy and result cache). Two runs, in order:

- `distinct`: N jobs with new links, submitted at once (what bench_pipeline measures,
  here with the writes and messages of each service);
- `repeat30`: N submissions arriving over time (BENCH_COST_INTERVAL s apart), 30 % of
  them a link submitted earlier in the run (picked at random among the earlier ones):
  answered from the cache once the first finished, or sharing its task while it runs.

"Upstream credits" are the simulator's charged ScraperAPI calls; writes are the
server's opcounters (insert + update + delete; SecantusDB reports them as mongod does);
messages are every process's `git44_amqp_messages_published_total` (RPC requests and
replies included). Each divided by the run's successful jobs.

Sizes: BENCH_COST_JOBS (60), BENCH_COST_INTERVAL (0.25), BENCH_COST_REPEAT (0.3),
BENCH_COST_SEED (7); keys and processing as bench_pipeline (3 keys × 2, "2-4" s).
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from typing import Any

import httpx
from localstack import LocalStack

from git44_sim.client import SimControl
from tests.bench._cost import CostMeter
from tests.bench._support import (
    bench_stack,
    client,
    env_float,
    env_int,
    keyed_upstream,
    wait_terminal,
)
from tests.utils.accounts import register_user

JOBS = env_int("BENCH_COST_JOBS", 60)
INTERVAL = env_float("BENCH_COST_INTERVAL", 0.25)
REPEAT = env_float("BENCH_COST_REPEAT", 0.3)
SEED = env_int("BENCH_COST_SEED", 7)
KEYS, KEY_CONCURRENCY = 3, 2
PROCESSING = os.environ.get("BENCH_COST_PROCESSING", "2-4")
PROCESSES = ("auth", "jobs-api", "key-manager", "worker")


def links(count: int, *, repeat: float, rng: random.Random) -> list[str]:
    """`count` Sora links, exactly round(`repeat` × `count`) of them (at random places
    after the first) a link submitted earlier, picked at random."""
    repeats = set(rng.sample(range(1, count), round(repeat * count))) if count > 1 else set()
    chosen: list[str] = []
    for i in range(count):
        if i in repeats:
            chosen.append(rng.choice(chosen))
        else:
            chosen.append(f"https://sora.chatgpt.com/p/s_cost{uuid.uuid4().hex[:12]}")
    return chosen


async def run() -> dict[str, Any]:
    sim_args, env = keyed_upstream(
        "cost", keys=KEYS, concurrency=KEY_CONCURRENCY, processing=PROCESSING
    )
    rng = random.Random(SEED)
    async with (
        bench_stack(tag="cost", extra_env=env, sim_args=sim_args) as stack,
        client(stack.url("auth")) as auth,
        client(stack.url("jobs-api")) as jobs,
    ):
        distinct = links(JOBS, repeat=0.0, rng=rng)
        mixed = links(JOBS, repeat=REPEAT, rng=rng)
        results = {
            "distinct": await measure(stack, auth, jobs, "distinct", distinct, interval=0.0),
            "repeat30": await measure(stack, auth, jobs, "repeat30", mixed, interval=INTERVAL),
        }
    return {"jobs": JOBS, "repeat": REPEAT, "processing_seconds": PROCESSING, **results}


async def measure(
    stack: LocalStack,
    auth: httpx.AsyncClient,
    jobs: httpx.AsyncClient,
    label: str,
    chosen: list[str],
    *,
    interval: float,
) -> dict[str, Any]:
    _, token = await register_user(auth, prefix=f"cost-{label}")
    headers = {"Authorization": f"Bearer {token}"}
    meter = CostMeter(stack, PROCESSES)
    async with SimControl(stack.url("sim")) as sim:
        await sim.reset(keep_config=True)
        await meter.start()
        answered: list[dict[str, Any]] = []
        for link in chosen:
            response = await jobs.post("/api/removal", json={"inputLink": link}, headers=headers)
            response.raise_for_status()
            answered.append(response.json())
            if interval:
                await asyncio.sleep(interval)
        done = await wait_terminal(jobs, token, len(chosen), within=120 + 5 * len(chosen))
        await meter.stop()
        stats = await sim.stats()
    successes = [job for job in done if job["status"] == "success"]
    charged = sum(key.charged for key in stats.requests_by_key.values())
    per_job = round(charged / len(successes), 2) if successes else None
    figures = {
        "submissions": len(chosen),
        "distinct_links": len(set(chosen)),
        "successes": len(successes),
        "answered_at_submission": sum(1 for job in answered if job["status"] == "success"),
        "cached": sum(1 for job in successes if job.get("cached")),
        "tasks_created": stats.tasks_created,
        "upstream_credits": charged,
        "upstream_credits_per_success": per_job,
        **meter.per_job(len(successes)),
    }
    print(
        f"{label}: {len(successes)}/{len(chosen)} success ({figures['distinct_links']} links, "
        f"{figures['cached']} cached, {figures['answered_at_submission']} at submission), "
        f"upstream credits/job {per_job}, writes/job {figures['db_writes_per_job']}, "
        f"broker messages/job {figures['broker_messages_per_job']}",
        flush=True,
    )
    return figures
