"""Resource curves through the soak: per service process its RSS and open file
descriptors (from /proc), its event-loop lag (`git44_event_loop_lag_seconds` on its
/metrics), and the depth of the queues that hold work — every `every` seconds."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import httpx

from git44_common.amqp import Topology
from tests.soak.stack import SLOTS, SoakStack

LAG = re.compile(r"^git44_event_loop_lag_seconds(?:\{[^}]*\})? ([0-9.eE+-]+)$", re.M)


def rss_bytes(pid: int) -> int | None:
    with contextlib.suppress(OSError, ValueError), open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


def open_fds(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        return len(os.listdir(f"/proc/{pid}/fd"))
    return None


@dataclass
class Sampler:
    stack: SoakStack
    every: float = 10.0
    samples: list[dict[str, Any]] = field(default_factory=list)
    queues: list[dict[str, Any]] = field(default_factory=list)

    def queue_names(self) -> list[str]:
        topology = Topology(namespace=self.stack.local.amqp_namespace)
        return [
            topology.removal_queue,
            topology.webhooks_queue,
            topology.removal_dead_queue,
            topology.webhooks_dead_queue,
        ]

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=3, trust_env=False) as http:
            while not stop.is_set():
                await asyncio.gather(self.sample_processes(http), self.sample_queues())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.every)

    async def sample_processes(self, http: httpx.AsyncClient) -> None:
        t = round(self.stack.t(), 1)
        for slot, service in SLOTS.items():
            proc = self.stack.process(slot)
            if not proc.alive():
                continue
            rss, fds = rss_bytes(proc.pid), open_fds(proc.pid)
            if rss is None or fds is None:
                continue
            self.samples.append({
                "t": t,
                "slot": slot,
                "service": service,
                "pid": proc.pid,
                "started_t": round(self.stack.started_at[slot] - self.stack.clock_zero, 1),
                "rss_bytes": rss,
                "fds": fds,
                "loop_lag_seconds": await self.loop_lag(http, slot),
            })  # fmt: skip

    async def loop_lag(self, http: httpx.AsyncClient, slot: str) -> float | None:
        with contextlib.suppress(httpx.HTTPError):
            response = await http.get(f"{self.stack.url(slot)}/metrics")
            if match := LAG.search(response.text):
                return float(match.group(1))
        return None

    async def sample_queues(self) -> None:
        t = round(self.stack.t(), 1)
        namespace = self.stack.local.amqp_namespace
        try:
            connection = await aio_pika.connect(self.stack.rabbit.url, timeout=3)
        except (OSError, aio_pika.exceptions.AMQPError, TimeoutError):
            return  # the broker is down: no point on the curve
        async with connection:
            for name in self.queue_names():
                with contextlib.suppress(aio_pika.exceptions.AMQPError, TimeoutError):
                    channel = await connection.channel()
                    queue = await channel.declare_queue(name, passive=True, timeout=3)
                    depth = queue.declaration_result.message_count
                    label = name.removesuffix(namespace)
                    self.queues.append({"t": t, "queue": label, "messages": depth})
                    await channel.close()
