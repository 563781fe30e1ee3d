"""The soak's backend: a private RabbitMQ node, its own SecantusDB on disk, the simulator,
auth, jobs-api, key-manager and two workers — every one a real process that the fault
scheduler may kill, restart or take down, and `SoakStack` brings back on the same port.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from localstack import DEMO_SCRAPER_KEYS, SERVICES, LocalStack, ManagedProcess

from tests.chaos.harness import CHAOS_ENV, PrivateRabbit, restart_database

# slot -> the service it runs; two workers, so one is always consuming
SLOTS = {
    "auth": "auth",
    "jobs-api": "jobs-api",
    "key-manager": "key-manager",
    "worker-1": "worker",
    "worker-2": "worker",
}
SPECS = {spec.name: spec for spec in SERVICES}

# What keeps an hour of faults meaningful: auth signs with a key that outlives its
# process (else a killed auth would invalidate every token), tokens short enough that
# refreshes and SSE expiries happen, keys that cool down in seconds, webhook retries
# that fit the settle time, quotas no load reaches, and kie configured beside
# RemoveSora so a ScraperAPI outage moves new tasks there.
SOAK_ENV = {
    **CHAOS_ENV,
    "JOBS_DEFAULT_TOTAL_QUOTA": "1000000",
    "JOBS_DEFAULT_DAILY_LIMIT": "1000000",
    "JOBS_ALLOW_PRIVATE_CALLBACKS": "true",
    "WORKER_WEBHOOK_ALLOW_PRIVATE": "true",
    "WORKER_WEBHOOK_RETRY_DELAYS_SECONDS": "[2, 5, 10, 20, 40, 60, 90]",
    "WORKER_WEBHOOK_ENDPOINT_CACHE_SECONDS": "1",
    "JOBS_WEBHOOK_ENDPOINT_CACHE_SECONDS": "1",
    "WORKER_PROVIDERS": "removesora,kie",
    "JOBS_MAX_RETRIES": "5",
    "AUTH_ACCESS_TOKEN_TTL_SECONDS": "240",
    "KEYS_COOLDOWN_SECONDS": "15",
    "KEYS_ACCOUNT_CHECK_SECONDS": "0",
    "JOBS_SSE_STREAMS_PER_USER": "20",
}
SIM_ARGS = ("--keys", ",".join(DEMO_SCRAPER_KEYS), "--processing-seconds", "0.8-2.0")


def signing_key_pem() -> str:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode()


@dataclass
class SoakStack:
    base: Path
    rabbit: PrivateRabbit = field(init=False)
    local: LocalStack = field(init=False)
    started_at: dict[str, float] = field(default_factory=dict)  # slot -> monotonic start
    restarts: dict[str, int] = field(default_factory=dict)
    clock_zero: float = field(default_factory=time.monotonic)

    def start(self) -> None:
        self.rabbit = PrivateRabbit(self.base / "rabbit")
        self.rabbit.start()
        suffix = uuid.uuid4().hex[:10]
        self.local = LocalStack(
            amqp_url=self.rabbit.url,
            mongodb_url=None,
            mongodb_db=f"git44_soak_{suffix}",
            amqp_namespace=f".soak{suffix}",
            free_ports=True,
            data_dir=self.base / "stack",
            sim_args=list(SIM_ARGS),
            extra_env={**SOAK_ENV, "AUTH_JWT_PRIVATE_KEYS": signing_key_pem()},
        )
        self.local.data_dir.mkdir(parents=True, exist_ok=True)
        self.local.start(timeout=120)  # auth, key-manager, jobs-api, worker (slot worker-1)
        self.local.processes["worker-1"] = self.local.processes.pop("worker")
        self.local.ports["worker-1"] = self.local.ports["worker"]
        self.start_slot("worker-2")
        for slot in SLOTS:
            self.started_at.setdefault(slot, time.monotonic())
        self.wait_slot("worker-2")

    def stop(self) -> None:
        self.local.stop()
        self.rabbit.stop()

    # -- processes ---------------------------------------------------------------------

    def process(self, slot: str) -> ManagedProcess:
        return self.local.processes[slot]

    def url(self, slot: str) -> str:
        return self.local.url(slot)

    def start_slot(self, slot: str, *, env: Mapping[str, str] | None = None) -> ManagedProcess:
        spec = SPECS[SLOTS[slot]]
        proc = self.local.start_service(spec, name=slot, env=env)
        self.started_at[slot] = time.monotonic()
        return proc

    def wait_slot(self, slot: str, timeout: float = 120.0) -> None:
        spec = SPECS[SLOTS[slot]]
        self.process(slot).wait_http_ok(f"{self.url(slot)}{spec.ready_path}", timeout=timeout)

    def kill_slot(self, slot: str) -> int:
        """kill -9 the slot's process (as a crash would); its pid."""
        proc = self.process(slot)
        pid = proc.pid
        proc.kill()
        return pid

    def restart_slot(self, slot: str, *, env: Mapping[str, str] | None = None) -> None:
        """Start the slot again on its port (what a supervisor or Kubernetes does)."""
        self.restarts[slot] = self.restarts.get(slot, 0) + 1
        self.start_slot(slot, env=env)

    # -- infrastructure ------------------------------------------------------------------

    async def restart_broker(self, down_for: float) -> None:
        await asyncio.to_thread(self.rabbit.stop)
        await asyncio.sleep(down_for)
        await asyncio.to_thread(self.rabbit.start, 120.0)

    async def restart_database(self, down_for: float) -> None:
        await asyncio.to_thread(restart_database, self.local, down_for=down_for)

    def t(self) -> float:
        """Seconds since the soak started."""
        return time.monotonic() - self.clock_zero
