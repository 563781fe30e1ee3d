"""Submission A/B: POST /api/removal on this checkout's jobs-api against another commit's.

For a refactoring that must not cost speed: `BENCH_AB_BASE` names a checkout of the
commit to compare with (e.g. `git worktree add ../git44-base <commit>`); its jobs-api
runs as a second process beside this checkout's, on the same database, broker and auth,
with the base checkout's packages first on `PYTHONPATH`. Both are driven by the same
client at the same concurrency in alternating rounds (who goes first alternates); each
round's ratio is this / base, each pair of rounds (opposite orders) gives their
geometric mean, which cancels the server's drift over the pair; a row's figure is the
median of its pairs (`paired_ratio`; `ratio`: the median of the rounds). Without `BENCH_AB_BASE`
the benchmark says so and measures nothing.

Sizes: those of the submission benchmark (BENCH_SUBMIT_REQUESTS, _CONCURRENCY, _USERS),
and BENCH_AB_ROUNDS (default 8: four pairs of rounds in opposite orders).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import httpx
from localstack import ManagedProcess, free_port, python_module

from tests.bench import _support as bench
from tests.bench.bench_submission import CONCURRENCY, GENEROUS, REQUESTS, USER_COUNTS, WARMUP
from tests.utils.accounts import register_user

ROUNDS = bench.env_int("BENCH_AB_ROUNDS", 8)
PACKAGES = ("libs/git44_common", "services/jobs_api")


def start_base(base_dir: str, env: dict[str, str], log_dir: Path) -> tuple[ManagedProcess, str]:
    """The base checkout's jobs-api on a free port."""
    base = Path(base_dir).resolve()
    port = free_port()
    path = os.pathsep.join(str(base / package) for package in PACKAGES)
    env = {**env, "JOBS_PORT": str(port), "PYTHONPATH": path}
    proc = ManagedProcess("jobs-api-base", python_module("git44_jobs"), env=env, log_dir=log_dir)
    proc.start()
    url = f"http://127.0.0.1:{port}"
    proc.wait_http_ok(f"{url}/readyz", timeout=90)
    return proc, url


async def run() -> dict[str, Any]:
    base_dir = os.environ.get("BENCH_AB_BASE")
    if not base_dir:
        print("skipped: set BENCH_AB_BASE to a checkout of the commit to compare with")
        return {"skipped": "BENCH_AB_BASE not set"}
    env = {"JOBS_DEFAULT_TOTAL_QUOTA": GENEROUS, "JOBS_DEFAULT_DAILY_LIMIT": GENEROUS}
    async with bench.bench_stack(
        tag="ab", services=("auth", "jobs-api"), extra_env=env, with_sim=False
    ) as stack:
        async with bench.client(stack.url("auth")) as auth:
            groups = [
                [await register_user(auth, prefix="bench") for _ in range(n)] for n in USER_COUNTS
            ]
        base_env = {**stack.service_env(), **env}
        process, base_url = await asyncio.to_thread(start_base, base_dir, base_env, stack.data_dir)
        try:
            async with bench.client(stack.url("jobs-api")) as this, bench.client(base_url) as other:
                figures: dict[str, Any] = {"requests_per_measurement": REQUESTS}
                for users in groups:
                    figures[f"users_{len(users)}"] = await _measure(this, other, users)
        finally:
            await asyncio.to_thread(process.stop)
    return figures


async def _measure(
    this: httpx.AsyncClient, base: httpx.AsyncClient, users: list[tuple[str, str]]
) -> dict[str, Any]:
    def submitter(http: httpx.AsyncClient) -> Any:
        async def submit(i: int) -> int:
            _, token = users[i % len(users)]
            response = await http.post(
                "/api/removal", json={"inputLink": bench.sora_link()}, headers=bench.bearer(token)
            )
            return response.status_code

        return submit

    sides = [("base", submitter(base)), ("this", submitter(this))]
    for _, call in sides:
        await bench.closed_loop(call, total=WARMUP, concurrency=8)
    runs: dict[str, Any] = {}
    for concurrency in CONCURRENCY:
        runs[f"c{concurrency}"] = await bench.alternating_rounds(
            sides, rounds=ROUNDS, total=REQUESTS, concurrency=concurrency,
            ratio=("this", "base"), label=f"{len(users)} user(s), c={concurrency}",
        )  # fmt: skip
    return runs
