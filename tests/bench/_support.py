"""Shared helpers of the service benchmarks: a stack of real processes, users, figures.

`bench_stack` starts SecantusDB (or uses `MONGODB_URL`), optionally the simulator, and
the services asked for, on free ports with their own database and AMQP namespace
(deleted afterwards), like the e2e tests' `running_stack` but with a choice of services.
"""

from __future__ import annotations

import asyncio
import math
import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from localstack import (
    DEMO_SCRAPER_KEYS,
    DEV_ADMIN_EMAIL,
    DEV_ADMIN_PASSWORD,
    SERVICES,
    LocalStack,
    ServiceSpec,
)

from tests.utils.requests import bearer, sora_link
from tests.utils.stack import FAST_ENV, RAISED_LIMITS, delete_namespace

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
SPECS = {spec.name: spec for spec in SERVICES}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, str(default)))


GENEROUS = str(10**6)


def keyed_upstream(
    prefix: str, *, keys: int, concurrency: int, processing: str
) -> tuple[list[str], dict[str, str]]:
    """The simulator's arguments and the services' settings for `keys` ScraperAPI keys
    named `<prefix>-key-<n>` with `concurrency` calls each (key-manager told the same),
    tasks taking `processing` s, a worker running keys × concurrency jobs with the seed's
    3–5 s polling bounds (the test stacks' fast polling would run out of polls), and
    quotas no run exhausts."""
    names = ",".join(f"{prefix}-key-{i}" for i in range(1, keys + 1))
    sim_args = [
        "--keys", names,
        "--concurrency", str(concurrency),
        "--credits", GENEROUS,
        "--processing-seconds", processing,
        "--log-level", "warning",
    ]  # fmt: skip
    env = {
        "JOBS_DEFAULT_TOTAL_QUOTA": GENEROUS,
        "JOBS_DEFAULT_DAILY_LIMIT": GENEROUS,
        "KEYS_DEFAULT_MAX_CONCURRENCY": str(concurrency),
        "KEYS_SEED_KEYS": names,
        "WORKER_CONCURRENCY": str(keys * concurrency),
        "WORKER_POLL_MIN_SECONDS": "3",
        "WORKER_POLL_MAX_SECONDS": "5",
    }
    return sim_args, env


@asynccontextmanager
async def bench_stack(
    *,
    tag: str,
    services: Sequence[str] = ("auth", "key-manager", "jobs-api", "worker"),
    extra_env: Mapping[str, str] | None = None,
    sim_args: Sequence[str] | None = None,
    with_sim: bool = True,
) -> AsyncIterator[LocalStack]:
    """The named services as real processes, ready; stopped and cleaned up afterwards."""
    suffix = uuid.uuid4().hex[:8]
    stack = LocalStack(
        amqp_url=AMQP_URL,
        mongodb_url=os.environ.get("MONGODB_URL") or None,
        mongodb_db=f"git44_bench_{tag}_{suffix}",
        amqp_namespace=f".bench{tag}{suffix}",
        free_ports=True,
        sim_args=list(sim_args or ["--keys", ",".join(DEMO_SCRAPER_KEYS)]),
        extra_env={**FAST_ENV, **RAISED_LIMITS, **(extra_env or {})},
    )
    for spec in SERVICES:
        stack._port(spec.name, spec.default_port)
    stack._port("sim", 8090)
    try:
        await asyncio.to_thread(stack.start_mongo)
        if with_sim:
            await asyncio.to_thread(stack.start_sim)
        for name in services:
            await start_ready(stack, SPECS[name])
        yield stack
    finally:
        await asyncio.to_thread(stack.stop)
        await delete_namespace(AMQP_URL, stack.amqp_namespace)


async def start_ready(stack: LocalStack, spec: ServiceSpec, *, name: str | None = None) -> None:
    """Start one service process (e.g. `worker-2`) and wait until it is ready."""
    proc = stack.start_service(spec, name=name)
    url = f"{stack.url(name or spec.name)}{spec.ready_path}"
    await asyncio.to_thread(proc.wait_http_ok, url, timeout=90)


def client(
    base_url: str, *, timeout: float | None = 60.0, connections: int = 200
) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits, trust_env=False)


async def admin_token(http: httpx.AsyncClient) -> str:
    body = {"email": DEV_ADMIN_EMAIL, "password": DEV_ADMIN_PASSWORD}
    response = await http.post("/api/auth/login", json=body)
    response.raise_for_status()
    return str(response.json()["accessToken"])


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def percentiles(values: Sequence[float], *, scale: float = 1000.0) -> dict[str, float]:
    """p50/p99/max/mean of `values` (seconds) in ms by default."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * scale, 1)

    return {
        "n": len(ordered),
        "p50": at(0.50),
        "p99": at(0.99),
        "max": round(ordered[-1] * scale, 1),
        "mean": round(statistics.fmean(ordered) * scale, 1),
    }


async def closed_loop(
    request: Callable[[int], Awaitable[int]], *, total: int, concurrency: int
) -> dict[str, Any]:
    """`concurrency` lanes sending `total` requests (each answers its HTTP status) back
    to back: throughput, latency, and the statuses other than 2xx."""
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    counter = iter(range(total))

    async def lane() -> None:
        for i in counter:
            t0 = time.perf_counter()
            try:
                status = str(await request(i))
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            latencies.append(time.perf_counter() - t0)
            if not status.startswith("2"):
                failures[status] += 1

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "requests": total,
        "failures": dict(failures),
        "seconds": round(elapsed, 2),
        "requests_per_s": round(total / elapsed, 1),
        "latency_ms": percentiles(latencies),
    }


async def submit_many(
    jobs: httpx.AsyncClient, token: str, count: int, *, concurrency: int = 8
) -> list[str]:
    """Submit `count` jobs as the token's user; their ids in submission order."""
    ids: list[str] = []

    async def one(i: int) -> int:
        response = await jobs.post(
            "/api/removal", json={"inputLink": sora_link()}, headers=bearer(token)
        )
        if response.status_code == 202:
            ids.append(str(response.json()["id"]))
        return response.status_code

    figures = await closed_loop(one, total=count, concurrency=concurrency)
    if figures["failures"]:
        raise RuntimeError(f"submissions refused: {figures['failures']}")
    return ids


async def list_jobs(jobs: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    """Every job of the token's user (all pages)."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        response = await jobs.get("/api/removal/user/jobs", params=params, headers=bearer(token))
        response.raise_for_status()
        body = response.json()
        found.extend(body["data"])
        cursor = body.get("nextCursor")
        if not cursor:
            return found


TERMINAL = {"success", "failed", "cancelled"}


async def wait_terminal(
    jobs: httpx.AsyncClient, token: str, count: int, *, within: float
) -> list[dict[str, Any]]:
    """Poll until `count` of the user's jobs are terminal (or `within` s): the jobs."""
    deadline = time.monotonic() + within
    while True:
        found = await list_jobs(jobs, token)
        done = [job for job in found if job["status"] in TERMINAL]
        if len(done) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(1.0)


def steady_rate(jobs: list[dict[str, Any]], *, low: float = 0.2, high: float = 0.8) -> float:
    """Completions per second between the `low` and `high` fractions of completions
    (leaves out the ramp-up and the tail)."""
    times = sorted(parse_time(j["completedAt"]).timestamp() for j in jobs if j["completedAt"])
    if len(times) < 5:
        return 0.0
    a, b = int(len(times) * low), int(len(times) * high) - 1
    span = times[b] - times[a]
    return round((b - a) / span, 3) if span > 0 else 0.0


async def alternating_rounds(
    sides: Sequence[tuple[str, Callable[[int], Awaitable[int]]]],
    *,
    rounds: int,
    total: int,
    concurrency: int,
    ratio: tuple[str, str],
    ratio_key: str = "ratio",
    label: str = "",
) -> dict[str, Any]:
    """`rounds` measurements of every side (a `closed_loop` each), who goes first
    alternating — the embedded server slows down as a run goes on (docs/benchmarks.md),
    which would otherwise favour whoever runs later. Each round's `ratio_key` is the
    requests/s of `ratio[0]` over those of `ratio[1]`; the row's is their median.
    Prints one line, `label` first."""
    measured_rounds: list[dict[str, Any]] = []
    top, bottom = ratio
    for n in range(rounds):
        order = list(sides) if n % 2 == 0 else list(sides)[::-1]
        measured: dict[str, Any] = {
            name: await closed_loop(call, total=total, concurrency=concurrency)
            for name, call in order
        }
        rps = measured[top]["requests_per_s"] / measured[bottom]["requests_per_s"]
        measured[ratio_key] = round(rps, 3)
        measured_rounds.append(measured)
    ratios = [r[ratio_key] for r in measured_rounds]
    per_side = " | ".join(
        f"{name} {[r[name]['requests_per_s'] for r in measured_rounds]} req/s"
        f" p99 {[r[name]['latency_ms']['p99'] for r in measured_rounds]} ms"
        for name, _ in sides
    )
    median = round(statistics.median(ratios), 3)
    # a round and the next ran in opposite orders: their geometric mean cancels a drift
    # that is linear over the two (the server slowing down as its data grows)
    pairs = [round(math.sqrt(a * b), 3) for a, b in zip(ratios[::2], ratios[1::2], strict=False)]
    paired = round(statistics.median(pairs), 3) if pairs else median
    print(
        f"{label}: {per_side} | ratios {ratios} median {median}"
        f" | pair ratios {pairs} median {paired}",
        flush=True,
    )
    return {
        "rounds": measured_rounds,
        "round_ratios": ratios,
        ratio_key: median,
        "pair_ratios": pairs,
        f"paired_{ratio_key}": paired,
    }
