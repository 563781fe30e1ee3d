"""Submission: POST /api/removal against a reference doing only quota update + insert + publish.

jobs-api and auth run as real processes (no worker, no simulator: nothing competes for
the CPU); the reference (`_reference_app.py`) is its own uvicorn process on the same
database and broker. Both are driven by the same httpx client at the same concurrency,
in alternating rounds per concurrency level.

Sizes: BENCH_SUBMIT_REQUESTS (per measurement, default 300), BENCH_SUBMIT_ROUNDS
(default 3: per row, rounds of reference and jobs-api, alternating who goes first; the
row's ratio is the median of the rounds' ratios), BENCH_SUBMIT_CONCURRENCY (default
"16,64"), BENCH_SUBMIT_USERS (default "1,16": first every request from one user — all
contend for one quota document — then round-robin over 16 users).

Then, to explain the ratio, each database step of a submission alone, sequentially
(mean ms over 100): find_one, a no-op upsert, the reserve, an insert, and the
transaction {reserve; insert} that jobs-api uses; then 100 reserve+insert at once on
the same user's quota document, without and with the transaction (ops/s).
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from localstack import ManagedProcess, free_port, python_module

from git44_common.collections import REMOVAL_JOBS as JOBS
from git44_common.collections import USER_QUOTAS as QUOTAS
from git44_common.jobs import new_job_document, new_job_id
from git44_common.mongo import create_mongo_client
from git44_common.quota import reserve_filter, reserve_update
from tests.bench._support import (
    alternating_rounds,
    bearer,
    bench_stack,
    client,
    closed_loop,
    env_int,
    sora_link,
)
from tests.utils.accounts import register_user

REQUESTS = env_int("BENCH_SUBMIT_REQUESTS", 300)
ROUNDS = env_int("BENCH_SUBMIT_ROUNDS", 3)
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_SUBMIT_CONCURRENCY", "16,64").split(",")]
USER_COUNTS = [int(n) for n in os.environ.get("BENCH_SUBMIT_USERS", "1,16").split(",")]
WARMUP = 60
STEP_REPEATS = 100
ROOT = Path(__file__).resolve().parents[2]
GENEROUS = str(10**9)


def start_reference(env: dict[str, str], log_dir: Path) -> tuple[ManagedProcess, str]:
    port = free_port()
    env = {**env, "REFERENCE_PORT": str(port), "PYTHONPATH": str(ROOT)}
    proc = ManagedProcess(
        "reference", python_module("tests.bench._reference_app"), env=env, log_dir=log_dir
    ).start()
    url = f"http://127.0.0.1:{port}"
    proc.wait_http_ok(f"{url}/openapi.json", timeout=60)
    return proc, url


async def run() -> dict[str, Any]:
    env = {"JOBS_DEFAULT_TOTAL_QUOTA": GENEROUS, "JOBS_DEFAULT_DAILY_LIMIT": GENEROUS}
    async with bench_stack(
        tag="sub", services=("auth", "jobs-api"), extra_env=env, with_sim=False
    ) as stack:
        async with client(stack.url("auth")) as auth:
            groups = [
                [await register_user(auth, prefix="bench") for _ in range(n)] for n in USER_COUNTS
            ]
        reference, ref_url = await asyncio.to_thread(
            start_reference, stack.service_env(), stack.data_dir
        )
        try:
            async with client(stack.url("jobs-api")) as jobs, client(ref_url) as ref:
                figures: dict[str, Any] = {"requests_per_measurement": REQUESTS}
                for users in groups:
                    figures[f"users_{len(users)}"] = await _measure(jobs, ref, users)
        finally:
            await asyncio.to_thread(reference.stop)
        assert stack.mongodb_url is not None
        figures["database_steps_ms"] = await database_steps(
            stack.mongodb_url, stack.mongodb_db, groups[0][0][0]
        )
        print(f"database steps, one at a time (ms): {figures['database_steps_ms']}", flush=True)
        return figures


async def database_steps(url: str, db_name: str, user_id: str) -> dict[str, float]:
    """Mean ms of each database step of a submission, alone and sequential, same server;
    then ops/s of 100 concurrent reserve+insert on one quota document, plain vs transaction."""
    mongo = create_mongo_client(url, app_name="bench-steps")
    db = mongo[db_name]
    scratch = db["bench_steps_jobs"]
    now = datetime.now(UTC)

    def job() -> dict[str, Any]:
        return new_job_document(
            job_id=new_job_id(), user_id=user_id, source="web", input_link=sora_link(),
            now=now, max_retries=3, max_polls=8,
        )  # fmt: skip

    async def find() -> None:
        await db[JOBS].find_one({"_id": "missing", "user_id": user_id})

    async def upsert() -> None:
        await db[QUOTAS].update_one({"_id": user_id}, {"$setOnInsert": {"x": 1}}, upsert=True)

    async def reserve() -> None:
        await db[QUOTAS].find_one_and_update(reserve_filter(user_id, now), reserve_update(now))

    async def insert() -> None:
        await scratch.insert_one(job())

    async def transaction() -> None:
        async with mongo.start_session() as session:

            async def unit(session: Any) -> None:
                await db[QUOTAS].find_one_and_update(
                    reserve_filter(user_id, now), reserve_update(now), session=session
                )
                await scratch.insert_one(job(), session=session)

            await session.with_transaction(unit)

    steps = {
        "find_one": find,
        "upsert_noop": upsert,
        "reserve": reserve,
        "insert": insert,
        "transaction_reserve_insert": transaction,
    }

    async def reserve_insert() -> None:
        await reserve()
        await insert()

    figures: dict[str, float] = {}
    try:
        for name, step in steps.items():
            t0 = time.perf_counter()
            for _ in range(STEP_REPEATS):
                await step()
            figures[name] = round((time.perf_counter() - t0) / STEP_REPEATS * 1000, 2)
        # the same user's quota document, STEP_REPEATS at once: with and without a transaction
        for name, step in (("reserve_insert", reserve_insert), ("transaction", transaction)):
            t0 = time.perf_counter()
            await asyncio.gather(*(step() for _ in range(STEP_REPEATS)))
            figures[f"{name}_concurrent_per_s"] = round(
                STEP_REPEATS / (time.perf_counter() - t0), 1
            )
    finally:
        await mongo.close()
    return figures


async def _measure(
    jobs: httpx.AsyncClient, ref: httpx.AsyncClient, users: list[tuple[str, str]]
) -> dict[str, Any]:
    async def service(i: int) -> int:
        _, token = users[i % len(users)]
        response = await jobs.post(
            "/api/removal", json={"inputLink": sora_link()}, headers=bearer(token)
        )
        return response.status_code

    async def reference(i: int) -> int:
        user_id, _ = users[i % len(users)]
        response = await ref.post(f"/reference/{user_id}", json={"inputLink": sora_link()})
        return response.status_code

    # jobs-api first: it creates the users' quota documents the reference then updates
    await closed_loop(service, total=WARMUP, concurrency=8)
    await closed_loop(reference, total=WARMUP, concurrency=8)
    runs: dict[str, Any] = {}
    for concurrency in CONCURRENCY:
        sides = [("reference", reference), ("jobs_api", service)]
        runs[f"c{concurrency}"] = await alternating_rounds(
            sides, rounds=ROUNDS, total=REQUESTS, concurrency=concurrency,
            ratio=("jobs_api", "reference"), ratio_key="throughput_ratio",
            label=f"{len(users)} user(s), c={concurrency}",
        )  # fmt: skip
    return runs
