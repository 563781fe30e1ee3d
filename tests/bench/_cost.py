"""What a run costs besides upstream credits: MongoDB writes (the server's `serverStatus`
opcounters: insert + update + delete, which SecantusDB reports as mongod does) and
RabbitMQ messages (every process's `git44_amqp_messages_published_total`, read from its
/metrics before it stops). Both are read before and after a run and divided by the
successful jobs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import httpx
from localstack import LocalStack

from git44_common.mongo import create_mongo_client

_PUBLISHED = re.compile(r"^git44_amqp_messages_published_total\{[^}]*\} ([0-9.e+]+)$", re.M)


async def database_writes(stack: LocalStack) -> int:
    """Writes the stack's MongoDB-wire server has done since it started."""
    assert stack.mongodb_url is not None
    client = create_mongo_client(stack.mongodb_url, app_name="bench-cost")
    try:
        status = await client.admin.command("serverStatus")
    finally:
        await client.close()
    counters = status["opcounters"]
    return int(counters["insert"] + counters["update"] + counters["delete"])


async def broker_messages(stack: LocalStack, processes: Iterable[str]) -> float:
    """Messages the named service processes have published since they started."""
    total = 0.0
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        for name in processes:
            exposition = (await http.get(f"{stack.url(name)}/metrics")).text
            total += sum(float(value) for value in _PUBLISHED.findall(exposition))
    return total


@dataclass
class CostMeter:
    """Counts writes and messages over a run: `await start()`, the run, `await stop()`
    (before a process whose messages count is stopped), then `per_job(successes)`."""

    stack: LocalStack
    processes: tuple[str, ...]
    writes: int = 0
    messages: float = 0.0

    async def start(self) -> None:
        self.writes = -await database_writes(self.stack)
        self.messages = -await broker_messages(self.stack, self.processes)

    async def stop(self) -> None:
        self.writes += await database_writes(self.stack)
        self.messages += await broker_messages(self.stack, self.processes)

    def per_job(self, successes: int) -> dict[str, float | None]:
        if not successes:
            return {"db_writes_per_job": None, "broker_messages_per_job": None}
        return {
            "db_writes_per_job": round(self.writes / successes, 2),
            "broker_messages_per_job": round(self.messages / successes, 2),
        }
