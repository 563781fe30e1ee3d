"""Scale-out: pipeline throughput with 1, 2 and 4 worker processes.

One stack (simulator, auth, key-manager, jobs-api); keys generous enough that the
workers are the bound (K keys × a high concurrency), short processing times and fast
polls. Per worker count: that many worker processes (WORKER_CONCURRENCY each), ready
before N jobs are submitted by a fresh user; steady-state completions/s from the jobs'
`completedAt`. The ideal is linear: n workers × concurrency / time per job.

Sizes: BENCH_SCALEOUT_WORKERS ("1,2,4"), BENCH_SCALEOUT_JOBS (80),
BENCH_SCALEOUT_CONCURRENCY (2 per worker), BENCH_SCALEOUT_PROCESSING ("0.5-1.0" s).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
from localstack import LocalStack

from tests.bench import _support as bench
from tests.utils.accounts import register_user

WORKERS = [int(n) for n in os.environ.get("BENCH_SCALEOUT_WORKERS", "1,2,4").split(",")]
JOBS = bench.env_int("BENCH_SCALEOUT_JOBS", 80)
CONCURRENCY = bench.env_int("BENCH_SCALEOUT_CONCURRENCY", 2)
PROCESSING = os.environ.get("BENCH_SCALEOUT_PROCESSING", "0.5-1.0")
KEYS = ["scale-key-1", "scale-key-2", "scale-key-3"]
GENEROUS = str(10**6)


async def run() -> dict[str, Any]:
    env = {
        "JOBS_DEFAULT_TOTAL_QUOTA": GENEROUS,
        "JOBS_DEFAULT_DAILY_LIMIT": GENEROUS,
        "KEYS_SEED_KEYS": ",".join(KEYS),
        "KEYS_DEFAULT_MAX_CONCURRENCY": "50",
        "WORKER_CONCURRENCY": str(CONCURRENCY),
        "WORKER_POLL_POLICY": "fixed",
    }
    sim_args = [
        "--keys", ",".join(KEYS), "--concurrency", "50", "--credits", GENEROUS,
        "--processing-seconds", PROCESSING, "--log-level", "warning",
    ]  # fmt: skip
    services = ("auth", "key-manager", "jobs-api")
    results: dict[str, Any] = {}
    async with (
        bench.bench_stack(
            tag="scale", services=services, extra_env=env, sim_args=sim_args
        ) as stack,
        bench.client(stack.url("auth")) as auth,
        bench.client(stack.url("jobs-api")) as jobs,
    ):
        for count in WORKERS:
            _, token = await register_user(auth, prefix="bench")
            results[str(count)] = await run_workers(stack, jobs, token, count)
    base = results[str(WORKERS[0])]["steady_jobs_per_s"] / WORKERS[0]
    for count in WORKERS:
        figures = results[str(count)]
        figures["speedup_vs_linear"] = round(figures["steady_jobs_per_s"] / (base * count), 3)
    return {
        "jobs": JOBS,
        "worker_concurrency": CONCURRENCY,
        "processing_seconds": PROCESSING,
        "poll_seconds": "0.3-0.6 (fixed)",
        "by_workers": results,
    }


async def run_workers(
    stack: LocalStack, jobs: httpx.AsyncClient, token: str, count: int
) -> dict[str, Any]:
    names = [f"worker-x{count}-{i}" for i in range(count)]
    await asyncio.gather(
        *(bench.start_ready(stack, bench.SPECS["worker"], name=name) for name in names)
    )
    try:
        await bench.submit_many(jobs, token, JOBS)
        done = await bench.wait_terminal(jobs, token, JOBS, within=60 + 5 * JOBS)
    finally:
        for name in names:
            await asyncio.to_thread(stack.processes[name].stop)
    successes = [j for j in done if j["status"] == "success"]
    durations = [
        (bench.parse_time(j["completedAt"]) - bench.parse_time(j["createdAt"])).total_seconds()
        for j in successes
    ]
    figures = {
        "workers": count,
        "successes": len(successes),
        "steady_jobs_per_s": bench.steady_rate(successes),
        "job_seconds_submit_to_success": bench.percentiles(durations, scale=1.0),
    }
    print(
        f"{count} worker(s): {len(successes)}/{len(done)} success, "
        f"steady {figures['steady_jobs_per_s']} jobs/s",
        flush=True,
    )
    return figures
