"""Live events: N concurrent SSE subscribers on one jobs-api; delivery latency of job events.

auth and one jobs-api run as real processes (no worker: the transitions driven are
submissions, each a `queued` event). U users each open S streams
(GET /api/removal/events with their bearer token); once every stream said `ready`,
some users submit jobs at a steady pace and every stream of the submitting user must
receive the event. Latency = client receive time − the job's `updatedAt` (the
transition's time, the same clock: everything runs on this machine).

Sizes: BENCH_SSE_USERS (50), BENCH_SSE_STREAMS_PER_USER (10), BENCH_SSE_JOBS (100,
submitted round-robin by the first BENCH_SSE_SUBMITTERS=20 users at BENCH_SSE_RATE=10/s).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from tests.bench._support import (
    bearer,
    bench_stack,
    client,
    env_float,
    env_int,
    parse_time,
    percentiles,
    sora_link,
)
from tests.utils.accounts import register_user

USERS = env_int("BENCH_SSE_USERS", 50)
STREAMS = env_int("BENCH_SSE_STREAMS_PER_USER", 10)
JOBS = env_int("BENCH_SSE_JOBS", 100)
SUBMITTERS = env_int("BENCH_SSE_SUBMITTERS", 20)
RATE = env_float("BENCH_SSE_RATE", 10.0)


class Subscriber:
    """One SSE stream: says when it is ready, records the latency of each job event."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.latencies: list[float] = []
        self.seen: set[str] = set()
        self.error: str | None = None

    async def listen(self, http: httpx.AsyncClient, token: str) -> None:
        try:
            async with http.stream("GET", "/api/removal/events", headers=bearer(token)) as response:
                response.raise_for_status()
                await self._read(response)
        except (httpx.HTTPError, ValueError) as exc:
            self.error = type(exc).__name__
            self.ready.set()

    async def _read(self, response: httpx.Response) -> None:
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
                if event == "ready":
                    self.ready.set()
            elif line.startswith("data:") and event == "job":
                received = time.time()
                job = json.loads(line[5:])
                self.seen.add(job["id"])
                self.latencies.append(received - parse_time(job["updatedAt"]).timestamp())


async def run() -> dict[str, Any]:
    total = USERS * STREAMS
    async with bench_stack(tag="sse", services=("auth", "jobs-api"), with_sim=False) as stack:
        async with client(stack.url("auth")) as auth:
            tokens = list(
                await asyncio.gather(*(register_user(auth, prefix="bench") for _ in range(USERS)))
            )
        streams = client(stack.url("jobs-api"), timeout=None, connections=total + 10)
        async with streams, client(stack.url("jobs-api")) as jobs:
            subscribers = [Subscriber() for _ in range(total)]
            tasks = [
                asyncio.create_task(sub.listen(streams, tokens[i // STREAMS][1]))
                for i, sub in enumerate(subscribers)
            ]
            t0 = time.perf_counter()
            await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in subscribers)), 120)
            connect_s = time.perf_counter() - t0
            submitted = await drive(jobs, tokens)
            await asyncio.sleep(5)  # the last events' delivery
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return summarise(subscribers, submitted, connect_s)


async def drive(jobs: httpx.AsyncClient, tokens: list[tuple[str, str]]) -> dict[int, set[str]]:
    """Submit JOBS jobs at RATE/s round-robin over the first SUBMITTERS users."""
    submitted: dict[int, set[str]] = {}

    async def submit(user: int) -> None:
        response = await jobs.post(
            "/api/removal", json={"inputLink": sora_link()}, headers=bearer(tokens[user][1])
        )
        if response.status_code == 202:
            submitted.setdefault(user, set()).add(response.json()["id"])

    pending = []
    for n in range(JOBS):
        pending.append(asyncio.create_task(submit(n % min(SUBMITTERS, len(tokens)))))
        await asyncio.sleep(1 / RATE)
    await asyncio.gather(*pending)
    return submitted


def summarise(
    subscribers: list[Subscriber], submitted: dict[int, set[str]], connect_s: float
) -> dict[str, Any]:
    expected = sum(len(submitted.get(i // STREAMS, set())) for i in range(len(subscribers)))
    missed = sum(
        len(submitted.get(i // STREAMS, set()) - sub.seen) for i, sub in enumerate(subscribers)
    )
    latencies = [value for sub in subscribers for value in sub.latencies]
    figures = {
        "subscribers": len(subscribers),
        "users": USERS,
        "streams_per_user": STREAMS,
        "stream_errors": sum(1 for sub in subscribers if sub.error),
        "all_ready_seconds": round(connect_s, 2),
        "jobs_submitted": sum(len(ids) for ids in submitted.values()),
        "submit_rate_per_s": RATE,
        "deliveries_expected": expected,
        "deliveries_missed": missed,
        "delivery_latency_ms": percentiles(latencies),
    }
    print(
        f"{len(subscribers)} subscribers ready in {figures['all_ready_seconds']} s; "
        f"{len(latencies)} deliveries ({missed} missed), latency {figures['delivery_latency_ms']}",
        flush=True,
    )
    return figures
