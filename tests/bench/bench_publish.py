"""Confirmed publishing: git44_common's Publisher against bare aio-pika, same broker, same run.

The reference does only the irreducible work: one persistent message, one publisher
confirm. The ratio shows what the Publisher adds (pydantic serialisation, tracing
headers, mandatory-return handling).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable

import aio_pika

from git44_common.amqp import Publisher, Topology, declare_topology, delete_topology
from git44_common.amqp.topology import REMOVAL_REQUESTED
from git44_common.contracts import RemovalRequested

MESSAGES = int(os.environ.get("BENCH_PUBLISH_MESSAGES", "2000"))
CONCURRENCY = int(os.environ.get("BENCH_PUBLISH_CONCURRENCY", "16"))


async def _drive(send: Callable[[int], Awaitable[None]]) -> dict[str, float]:
    latencies: list[float] = []
    counter = iter(range(MESSAGES))

    async def lane() -> None:
        for i in counter:
            t0 = time.perf_counter()
            await send(i)
            latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "messages_per_s": round(MESSAGES / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
    }


async def run() -> dict[str, object]:
    url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    topology = Topology(namespace=f".bench{uuid.uuid4().hex[:8]}")
    connection = await aio_pika.connect_robust(url)
    try:
        setup = await connection.channel()
        await declare_topology(setup, topology)
        raw_channel = await connection.channel(publisher_confirms=True)
        exchange = await raw_channel.get_exchange(topology.jobs_exchange)
        publisher = await Publisher.open(connection, topology)
        body = RemovalRequested(job_id="j", user_id="u").model_dump_json().encode()

        async def raw(i: int) -> None:
            message = aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
            await exchange.publish(message, routing_key=REMOVAL_REQUESTED)

        async def ours(i: int) -> None:
            payload = RemovalRequested(job_id=f"j{i}", user_id="u")
            await publisher.publish(topology.jobs_exchange, REMOVAL_REQUESTED, payload)

        await _drive(raw)  # warm-up
        reference = await _drive(raw)
        publisher_figures = await _drive(ours)
        await publisher.close()
        await delete_topology(setup, topology)
    finally:
        await connection.close()
    return {
        "messages": MESSAGES,
        "concurrency": CONCURRENCY,
        "reference_bare_aio_pika": reference,
        "git44_publisher": publisher_figures,
        "throughput_ratio": round(
            publisher_figures["messages_per_s"] / reference["messages_per_s"], 3
        ),
    }
