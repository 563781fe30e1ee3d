"""Pipeline: jobs/s against the keys' bound, 429s, upstream calls per job, ready→success delay.

One stack (simulator, auth, two key-manager replicas, jobs-api); per poll policy
(`fixed` 3–5 s, the seed's, then `adaptive`, then `frontier`) a fresh worker process
that learns from scratch (what earlier runs stored is forgotten), the simulator's
counters reset, N jobs submitted at once by one user, and the figures
read back from the jobs and the simulator's control plane: upstream calls per
successful job (1 create + polls), ready→success p50/p99, jobs/s, and per successful
job the MongoDB writes and broker messages of every process (tests/bench/_cost.py).
`frontier-restarted` is `frontier` in a worker started after the `frontier` run: it
starts from what that run learnt, as a restarted or added worker does. `kie` and
`kie-callbacks` run `frontier` against the second provider (the simulator's `/kie`, its
own keys), polled or calling back (issue 16); their calls per job are that provider's
(creates + polls).

The simulator has K keys with concurrency C each (key-manager is told the same C);
the worker runs K·C jobs at a time, so at most K·C tasks are being processed and the
bound is K·C / mean processing time. Key slots are leased per upstream call (ADR 0004),
so with fast calls the keys themselves are far from saturated; the simulator's peak
in-flight calls per key (`max_concurrent_by_key`) shows how close.

Sizes: BENCH_PIPELINE_JOBS (60), BENCH_PIPELINE_KEYS (3), BENCH_PIPELINE_KEY_CONCURRENCY
(2), BENCH_PIPELINE_PROCESSING ("2-4" s), BENCH_PIPELINE_POLICIES
("fixed,adaptive,frontier,frontier-restarted"), BENCH_PIPELINE_KEY_MANAGERS (2),
BENCH_PIPELINE_LEARNT_JOBS (180: the jobs of each `-restarted` run).
"""

from __future__ import annotations

import os
from typing import Any

import httpx
from localstack import LocalStack

from git44_common.collections import REMOVAL_JOBS
from git44_common.mongo import create_mongo_client
from git44_sim.client import SimControl
from tests.bench._cost import CostMeter
from tests.bench._support import (
    SPECS,
    bench_stack,
    client,
    env_int,
    keyed_upstream,
    parse_time,
    percentiles,
    start_ready,
    steady_rate,
    submit_many,
    wait_terminal,
)
from tests.utils.accounts import register_user

JOBS = env_int("BENCH_PIPELINE_JOBS", 60)
# A learnt policy's runs are measured on more jobs: each job's first poll misses or not
# by chance, so 60 jobs move calls per job by ±0.04 and the p50 by ±0.13 s from run to
# run — as wide as the frontier's room between its two targets.
LEARNT_JOBS = env_int("BENCH_PIPELINE_LEARNT_JOBS", 180)
KEYS = env_int("BENCH_PIPELINE_KEYS", 3)
KEY_CONCURRENCY = env_int("BENCH_PIPELINE_KEY_CONCURRENCY", 2)
PROCESSING = os.environ.get("BENCH_PIPELINE_PROCESSING", "2-4")
POLICIES = os.environ.get(
    "BENCH_PIPELINE_POLICIES", "fixed,adaptive,frontier,frontier-restarted"
).split(",")
RESTARTED = "-restarted"  # a policy run that keeps what the runs before it learnt
KIE = "kie"  # `kie`, `kie-callbacks`: the second provider, polled or calling back
# key-manager replicas sharing the keys (docs/operations.md promises two work)
KEY_MANAGERS = env_int("BENCH_PIPELINE_KEY_MANAGERS", 2)


def mean_processing() -> float:
    low, _, high = PROCESSING.partition("-")
    return (float(low) + float(high or low)) / 2


async def run() -> dict[str, Any]:
    sim_args, env = keyed_upstream(
        "bench", keys=KEYS, concurrency=KEY_CONCURRENCY, processing=PROCESSING
    )
    services = ("auth", "key-manager", "jobs-api")
    async with (
        bench_stack(tag="pipe", services=services, extra_env=env, sim_args=sim_args) as stack,
        client(stack.url("auth")) as auth,
        client(stack.url("jobs-api")) as jobs,
    ):
        for n in range(2, KEY_MANAGERS + 1):
            await start_ready(stack, SPECS["key-manager"], name=f"key-manager-{n}")
        results = {}
        for policy in POLICIES:
            _, token = await register_user(auth, prefix="bench")
            results[policy] = await run_policy(stack, jobs, token, policy)
    print_comparison(results)
    return {
        "jobs": JOBS,
        "learnt_jobs": LEARNT_JOBS,
        "keys": KEYS,
        "key_concurrency": KEY_CONCURRENCY,
        "worker_concurrency": KEYS * KEY_CONCURRENCY,
        "key_manager_replicas": KEY_MANAGERS,
        "processing_seconds": PROCESSING,
        "bound_jobs_per_s": round(KEYS * KEY_CONCURRENCY / mean_processing(), 3),
        "policies": results,
    }


async def forget_learning(stack: LocalStack) -> None:
    """Drop what earlier workers learnt (`ready_window`), so a worker learns afresh."""
    assert stack.mongodb_url is not None
    mongo = create_mongo_client(stack.mongodb_url, app_name="bench-pipeline")
    try:
        jobs = mongo[stack.mongodb_db][REMOVAL_JOBS]
        await jobs.update_many({}, {"$unset": {"ready_window": ""}})
    finally:
        await mongo.close()


async def run_policy(
    stack: LocalStack, jobs: httpx.AsyncClient, token: str, policy: str
) -> dict[str, Any]:
    if not policy.endswith(RESTARTED):
        await forget_learning(stack)
    async with SimControl(stack.url("sim")) as sim:
        await sim.reset(keep_config=True)
        provider = "kie" if policy.startswith(KIE) else "removesora"
        stack.extra_env["WORKER_PROVIDERS"] = provider
        stack.extra_env["WORKER_CALLBACK_BASE_URL"] = (
            stack.url("jobs-api") if policy == f"{KIE}-callbacks" else ""
        )
        base_policy = "frontier" if provider == "kie" else policy.removesuffix(RESTARTED)
        stack.extra_env["WORKER_POLL_POLICY"] = base_policy
        name = f"worker-{policy}"
        await start_ready(stack, SPECS["worker"], name=name)
        key_managers = ["key-manager", *(f"key-manager-{n}" for n in range(2, KEY_MANAGERS + 1))]
        meter = CostMeter(stack, ("auth", "jobs-api", *key_managers, name))
        try:
            await meter.start()
            count = LEARNT_JOBS if policy.endswith(RESTARTED) else JOBS
            await submit_many(jobs, token, count)
            done = await wait_terminal(jobs, token, count, within=60 + 10 * count)
            await meter.stop()
        finally:
            stack.processes[name].stop()
        stats = await sim.stats()
        tasks = {t.task_id: t for t in await sim.tasks()}
    figures = summarise(done, stats.model_dump(), tasks)
    figures.update(meter.per_job(figures["successes"]))
    figures["summary"] += (
        f", writes/job {figures['db_writes_per_job']}, "
        f"broker messages/job {figures['broker_messages_per_job']}"
    )
    print(f"{policy}: {figures['summary']}", flush=True)
    return figures


def print_comparison(results: dict[str, dict[str, Any]]) -> None:
    print(
        "policy             calls/job  ready→success p50    p99  jobs/s  writes/job  messages/job",
        flush=True,
    )
    for policy, f in results.items():
        delay = f["ready_to_success_ms"]
        print(
            f"{policy:18} {f['upstream_calls_per_success']!s:>9}  {delay.get('p50')!s:>13} ms"
            f"  {delay.get('p99')!s:>6}  {f['steady_jobs_per_s']!s:>6}"
            f"  {f['db_writes_per_job']!s:>10}  {f['broker_messages_per_job']!s:>12}",
            flush=True,
        )


def summarise(
    done: list[dict[str, Any]], stats: dict[str, Any], tasks: dict[str, Any]
) -> dict[str, Any]:
    successes = [j for j in done if j["status"] == "success"]
    # ScraperAPI's charged calls, and the second provider's (creates + polls)
    charged = sum(k["charged"] for k in stats["requests_by_key"].values())
    charged += stats.get("kie_tasks_created", 0) + stats.get("kie_polls", 0)
    delays = [
        (parse_time(j["completedAt"]) - tasks[j["taskId"]].ready_at).total_seconds()
        for j in successes
        if j.get("taskId") in tasks
    ]
    rate = steady_rate(successes)
    bound = KEYS * KEY_CONCURRENCY / mean_processing()
    per_job = round(charged / len(successes), 2) if successes else None
    ready_delay = percentiles(delays)
    return {
        "summary": (
            f"{len(successes)}/{len(done)} success, steady {rate} jobs/s = "
            f"{round(rate / bound, 2)} of bound {round(bound, 2)}, 429s {stats['served_429']}, "
            f"upstream calls/job {per_job}, ready→success p50 {ready_delay.get('p50')} ms "
            f"p99 {ready_delay.get('p99')} ms"
        ),
        "successes": len(successes),
        "failed": sum(1 for j in done if j["status"] == "failed"),
        "steady_jobs_per_s": rate,
        "fraction_of_bound": round(rate / bound, 3),
        "served_429": stats["served_429"],
        "upstream_calls_charged": charged,
        "upstream_calls_per_success": per_job,
        "tasks_created": stats["tasks_created"],
        "task_polls": stats["task_polls"],
        "kie_tasks_created": stats.get("kie_tasks_created", 0),
        "kie_polls": stats.get("kie_polls", 0),
        "kie_callbacks_sent": stats.get("kie_callbacks_sent", 0),
        "max_concurrent_by_key": stats["max_concurrent_by_key"],
        "ready_to_success_ms": ready_delay,
    }
