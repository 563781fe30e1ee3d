"""The worker in process against the real broker, MongoDB-wire server and simulator.

Key-manager's side of the contract (the `acquire` RPC and the release messages) is a
small fake here: `FakeKeyManager` leases the simulator's keys round-robin, takes a key
out on a `limited` release and answers "cooldown" when none is left.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from git44_common.amqp import Publisher, RpcServer, Topology, start_consumer
from git44_common.amqp.consumer import Consumer
from git44_common.clock import utc_now
from git44_common.collections import REMOVAL_JOBS, USER_QUOTAS
from git44_common.contracts import (
    KeyAcquireRequest,
    KeyAcquireResult,
    KeyLease,
    KeyRelease,
    RemovalRequested,
)
from git44_common.mongo import Database
from git44_sim.client import SimControl
from git44_worker.core.config import WorkerSettings
from git44_worker.service import WorkerService
from tests.utils.factories import charged_quota, removal_job
from tests.utils.sim import running_sim

SIM_KEYS = ("wk-key-1", "wk-key-2", "wk-key-3")


@pytest.fixture(scope="module")
def sim_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    args = ("--processing-seconds", "0.3", "--failure-rate", "0", "--seed", "11")
    with running_sim(SIM_KEYS, *args, log_dir=tmp_path_factory.mktemp("sim")) as url:
        yield url


@pytest.fixture
async def sim(sim_url: str) -> AsyncIterator[SimControl]:
    async with SimControl(sim_url) as control:
        await control.reset(keys=list(SIM_KEYS))
        await control.update_config(processing_seconds=(0.3, 0.3), task_failure_rate=0.0)
        yield control


@dataclass
class FakeKeyManager:
    """Key-manager's contract, minimal: round-robin leases, limited keys, a cooldown."""

    keys: list[str] = field(default_factory=lambda: list(SIM_KEYS))
    cooldown_seconds: float = 2.0
    limited: set[str] = field(default_factory=set)
    cooldown_until: datetime | None = None
    releases: list[KeyRelease] = field(default_factory=list)
    acquires: int = 0
    _turn: Iterator[int] = field(default_factory=itertools.count)

    async def acquire(self, params: dict[str, Any]) -> KeyAcquireResult:
        KeyAcquireRequest.model_validate(params)
        self.acquires += 1
        now = utc_now()
        if self.cooldown_until is not None:
            if now < self.cooldown_until:
                return KeyAcquireResult.cooling_down(self.cooldown_until)
            self.cooldown_until, self.limited = None, set()
        usable = [key for key in self.keys if key not in self.limited]
        if not usable:
            if not self.keys:
                return KeyAcquireResult.none_available()
            self.cooldown_until = now + timedelta(seconds=self.cooldown_seconds)
            return KeyAcquireResult.cooling_down(self.cooldown_until)
        key = usable[next(self._turn) % len(usable)]
        lease = KeyLease(
            key_id=f"id-{key}",
            api_key=key,
            lease_id=uuid.uuid4().hex,
            lease_expires_at=now + timedelta(seconds=60),
        )
        return KeyAcquireResult.granted(lease)

    async def on_release(self, release: KeyRelease, message: AbstractIncomingMessage) -> None:
        self.releases.append(release)
        if release.outcome == "limited":
            self.limited.add(release.key_id.removeprefix("id-"))


@pytest.fixture
async def keys(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> AsyncIterator[FakeKeyManager]:
    fake = FakeKeyManager()
    server = RpcServer(
        await amqp_connection.channel(),
        queue_name=topology.keys_rpc_queue,
        handlers={"acquire": fake.acquire},
    )
    await server.start()
    consumer: Consumer[KeyRelease] = await start_consumer(
        await amqp_connection.channel(),
        topology.keys_release_queue,
        fake.on_release,
        model=KeyRelease,
        prefetch=20,
    )
    yield fake
    await consumer.cancel(grace=1)
    await server.close(grace=1)


@pytest.fixture
def worker_settings(
    mongo_url: str, amqp_url: str, db_name: str, amqp_namespace: str, sim_url: str
) -> WorkerSettings:
    return WorkerSettings(
        environment="test",
        mongodb_url=mongo_url,
        mongodb_db=db_name,
        amqp_url=amqp_url,
        amqp_namespace=amqp_namespace,
        scraperapi_url=f"{sim_url}/",
        removesora_url=f"{sim_url}/removesora",
        poll_min_seconds=0.1,
        poll_max_seconds=0.2,
        lease_seconds=3.0,
        heartbeat_seconds=0.5,
        retry_backoff_seconds=0.5,
        retry_backoff_factor=1.0,
        key_wait_seconds=0.5,
        key_unavailable_delay_seconds=1.0,
        key_acquire_timeout_seconds=2.0,
        webhook_retry_delays_seconds=[1.0, 1.0],
        webhook_allow_private=True,
        webhook_timeout_seconds=2.0,
        log_json=False,
    )


StartWorker = Callable[..., Awaitable[WorkerService]]


@pytest.fixture
async def start_worker(
    worker_settings: WorkerSettings, topology: Topology
) -> AsyncIterator[StartWorker]:
    """Start in-process workers (settings overridable); all stopped at the end."""
    started: list[WorkerService] = []

    async def start(**overrides: Any) -> WorkerService:
        settings = worker_settings.model_copy(update=overrides)
        worker = WorkerService(settings)
        await worker.start(wait_seconds=10)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        await worker.stop(grace=1)


@dataclass
class Jobs:
    """Submit jobs like jobs-api does (charged quota + queued job + message) and watch them."""

    db: Database
    publisher: Publisher
    user_id: str = field(default_factory=lambda: f"user-{uuid.uuid4().hex[:8]}")

    async def submit(self, n: int | str | None = None, **fields: Any) -> dict[str, Any]:
        doc = removal_job(user_id=self.user_id, n=n, **fields)
        await self._charge()
        await self.db[REMOVAL_JOBS].insert_one(doc)
        await self.publish(doc)
        return doc

    async def _charge(self) -> None:
        quota = await self.db[USER_QUOTAS].find_one({"_id": self.user_id})
        if quota is None:
            await self.db[USER_QUOTAS].insert_one(charged_quota(self.user_id, charged=1))
        else:
            await self.db[USER_QUOTAS].update_one(
                {"_id": self.user_id}, {"$inc": {"remaining_quota": -1, "daily_used": 1}}
            )

    async def publish(self, doc: dict[str, Any]) -> None:
        topology = self.publisher.topology
        request = RemovalRequested(job_id=doc["_id"], user_id=doc["user_id"])
        await self.publisher.publish(topology.jobs_exchange, "removal.requested", request)

    async def get(self, job_id: str) -> dict[str, Any]:
        doc = await self.db[REMOVAL_JOBS].find_one({"_id": job_id})
        assert doc is not None
        return doc

    async def wait_for(
        self, job_id: str, statuses: set[str], *, within: float = 20.0
    ) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            doc = await self.get(job_id)
            if doc["status"] in statuses:
                return doc
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"job stayed {doc['status']!r}: {doc}")
            await asyncio.sleep(0.05)

    async def quota(self) -> dict[str, Any]:
        doc = await self.db[USER_QUOTAS].find_one({"_id": self.user_id})
        assert doc is not None
        return doc


@pytest.fixture
async def publisher(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> AsyncIterator[Publisher]:
    publisher = await Publisher.open(amqp_connection, topology)
    yield publisher
    await publisher.close()


@pytest.fixture
def jobs(mongo_db: Database, publisher: Publisher) -> Jobs:
    return Jobs(mongo_db, publisher)
