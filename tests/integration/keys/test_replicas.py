"""Two key-manager replicas share every key's max_concurrency (ADR 0010): under load
they never lease a key past it together — not while one joins, not when one is killed
(kill -9) with its leases still in use — and a survivor takes a dead replica's share
only once that one's leases have all expired. One that stops cleanly hands its share
over at once, and its usage counts are written as it leaves."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from git44_common.clock import utc_now
from git44_common.collections import KEY_REPLICAS, SCRAPER_KEYS
from git44_common.contracts import KeyLease
from git44_common.mongo import Database
from git44_keys.context import KeysContext
from git44_keys.shares import CLOCK_SLACK
from tests.integration.keys.conftest import SEED, KeyManagerClient, StartKeyManager, eventually
from tests.utils.processes import ManagedProcess, free_port, python_module
from tests.utils.tokens import TokenIssuer

pytestmark = pytest.mark.integration

LIMIT = 2  # max_concurrency of every key: 3 keys, 6 slots
SHARED = {"default_max_concurrency": LIMIT, "acquire_wait_seconds": 0.3}


@dataclass
class Load:
    """Workers leasing, holding a key for a short call, releasing; what they held at
    once per key is the peak. `hold_until_expiry` makes the holders of that replica's
    leases keep them to the end of the lease (the worst a crash can leave behind)."""

    client: KeyManagerClient
    held: Counter[str] = field(default_factory=Counter)
    held_from: dict[str, Counter[str]] = field(default_factory=dict)
    peak: Counter[str] = field(default_factory=Counter)
    by_replica: Counter[str] = field(default_factory=Counter)
    leases_of: dict[str, list[KeyLease]] = field(default_factory=dict)
    hold_until_expiry: str | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def worker(self, n: int) -> None:
        while not self._stop.is_set():
            result = await self.client.acquire(worker_id=f"w{n}")
            if result.lease is None:
                await asyncio.sleep(0.05)  # busy: ask again soon, as a worker does
                continue
            await self._use(result.lease)

    async def _use(self, lease: KeyLease) -> None:
        replica = lease.replica_id or ""
        self.held[lease.key_id] += 1
        held_from = self.held_from.setdefault(replica, Counter())
        held_from[lease.key_id] += 1
        self.peak[lease.key_id] = max(self.peak[lease.key_id], self.held[lease.key_id])
        self.by_replica[replica] += 1
        self.leases_of.setdefault(replica, []).append(lease)
        try:
            await asyncio.sleep(0.05)
            if self.hold_until_expiry == replica:
                remaining = (lease.lease_expires_at - utc_now()).total_seconds()
                await asyncio.sleep(max(0.0, remaining - 0.1))
        finally:
            self.held[lease.key_id] -= 1
            held_from[lease.key_id] -= 1
        await self.client.release(lease)

    @contextlib.asynccontextmanager
    async def running(self, workers: int = 12) -> AsyncIterator[Load]:
        tasks = [asyncio.create_task(self.worker(n)) for n in range(workers)]
        try:
            yield self
        finally:
            self._stop.set()
            await asyncio.gather(*tasks)


def sample_in_flight(
    replicas: list[KeysContext],
    peak: Counter[str],
    *,
    also: Callable[[], Counter[str]] = Counter,
) -> asyncio.Task[None]:
    """Every few ms, the leases the in-process replicas hold together per key (plus
    `also()`: what a replica that is not in this process left in use)."""

    async def sample() -> None:
        while True:
            total: Counter[str] = also()
            for context in replicas:
                total.update(context.pool.leases_here())
            for key_id, n in total.items():
                peak[key_id] = max(peak[key_id], n)
            await asyncio.sleep(0.005)

    return asyncio.create_task(sample())


async def test_two_replicas_never_lease_a_key_past_its_max_concurrency(
    start_key_manager: StartKeyManager, client: KeyManagerClient
) -> None:
    first = await start_key_manager(**SHARED)
    load, held_here = Load(client), Counter[str]()
    replicas = [first]
    sampler = sample_in_flight(replicas, held_here)  # sees the newcomer once appended
    try:
        async with load.running():
            await asyncio.sleep(1.0)  # the first one alone holds every slot
            replicas.append(await start_key_manager(**SHARED))  # joins under load
            await asyncio.sleep(2.0)
    finally:
        sampler.cancel()
    assert len(load.peak) == len(SEED)
    assert max(load.peak.values()) <= LIMIT, load.peak  # calls in flight at once
    assert max(held_here.values()) <= LIMIT, held_here  # leases both replicas held
    assert len(load.by_replica) == 2, load.by_replica  # the newcomer took its share

    async def shared_out() -> bool:
        return first.pool.slots + replicas[1].pool.slots == LIMIT * len(SEED)

    await eventually(shared_out)


@pytest.fixture
def spawn_replica(
    mongo_url: str,
    db_name: str,
    amqp_url: str,
    amqp_namespace: str,
    token_issuer: TokenIssuer,
    tmp_path: Path,
) -> Iterator[Callable[..., ManagedProcess]]:
    """key-manager as a real process (to be killed), on the test's database and queues."""
    started: list[ManagedProcess] = []

    def spawn(**settings: Any) -> ManagedProcess:
        port = free_port()
        env = {
            "GIT44_ENV": "test",
            "MONGODB_URL": mongo_url,
            "MONGODB_DB": db_name,
            "AMQP_URL": amqp_url,
            "AMQP_NAMESPACE": amqp_namespace,
            "JWKS_URL": token_issuer.jwks_url,
            "LOG_JSON": "false",
            "KEYS_PORT": str(port),
            "KEYS_ENCRYPTION_KEY": "integration-test-encryption-secret",
            "KEYS_SEED_KEYS": ",".join(SEED),
            **{f"KEYS_{name.upper()}": str(value) for name, value in settings.items()},
        }
        proc = ManagedProcess(
            f"key-manager-{port}", python_module("git44_keys"), env=env, log_dir=tmp_path
        )
        started.append(proc.start())
        proc.wait_http_ok(f"http://127.0.0.1:{port}/readyz", timeout=60)
        return proc

    yield spawn
    for proc in started:
        proc.stop()


TIMING = {
    "lease_seconds": 3.0,
    "replica_heartbeat_seconds": 0.2,
    "replica_ttl_seconds": 1.0,
    "maintenance_interval_seconds": 0.2,
}


async def test_a_killed_replicas_share_is_taken_over_only_once_its_leases_expired(
    start_key_manager: StartKeyManager,
    spawn_replica: Callable[..., ManagedProcess],
    client: KeyManagerClient,
    mongo_db: Database,
) -> None:
    survivor = await start_key_manager(**SHARED, **TIMING)
    victim = await asyncio.to_thread(spawn_replica, **SHARED, **TIMING)
    await eventually(lambda: _sees(survivor, replicas=2), within=10)
    victim_id = await _other_replica(mongo_db, survivor)
    load, peak = Load(client), Counter[str]()
    victims_in_use = lambda: Counter(load.held_from.get(victim_id, {}))  # noqa: E731
    sampler = sample_in_flight([survivor], peak, also=victims_in_use)
    try:
        async with load.running():
            await eventually(lambda: _leased_from(load, victim_id), within=10)
            load.hold_until_expiry = victim_id  # its calls go on as long as they may
            victim.kill()
            killed_at = utc_now()
            await eventually(lambda: _sees(survivor, replicas=1), within=10)
            # the victim's last word: its claims count until then
            registration = await mongo_db[KEY_REPLICAS].find_one({"_id": victim_id})
            assert registration is not None
            while survivor.pool.slots < LIMIT * len(SEED):
                assert (utc_now() - killed_at).total_seconds() < 30, "never took over"
                await asyncio.sleep(0.02)
            takeover = utc_now()
            await asyncio.sleep(1.0)  # the survivor now serves every slot
    finally:
        sampler.cancel()
    assert max(load.peak.values()) <= LIMIT, load.peak  # calls in flight at once
    assert max(peak.values()) <= LIMIT, peak  # the survivor's leases + the victim's in use
    last_lease = max(lease.lease_expires_at for lease in load.leases_of[victim_id])
    # Not before every lease the dead replica granted had ended, as its registration said
    assert last_lease <= registration["forget_at"]
    assert takeover >= registration["forget_at"] + CLOCK_SLACK, (takeover, registration)
    assert load.by_replica[survivor.pool.replica_id] > 0


async def test_a_replica_that_stops_hands_its_share_over_at_once(
    start_key_manager: StartKeyManager, client: KeyManagerClient, mongo_db: Database
) -> None:
    """A clean stop with no lease in flight deregisters: no waiting out the lease period."""
    settings = {**SHARED, "lease_seconds": 60, "usage_flush_seconds": 3600}
    staying = await start_key_manager(**settings)
    leaving = await start_key_manager(**settings)
    await eventually(lambda: _sees(staying, replicas=2))
    assert staying.pool.slots < LIMIT * len(SEED)
    leases = []
    while len({lease.replica_id for lease in leases}) < 2:
        assert len(leases) < 6, "one replica answered every acquire"
        leases.append(await client.lease())
    for lease in leases:
        await client.release(lease)
    await eventually(lambda: _idle(leaving))
    started = time.monotonic()
    await start_key_manager.stop(leaving)
    await eventually(lambda: _slots(staying, LIMIT * len(SEED)), within=5)
    assert time.monotonic() - started < 5  # far less than the 60 s lease period
    assert await mongo_db[KEY_REPLICAS].count_documents({"_id": leaving.pool.replica_id}) == 0
    # the leaving replica wrote its uses as it left (no periodic flush came, here or there)
    assert await _uses(mongo_db) == sum(
        1 for x in leases if x.replica_id != staying.pool.replica_id
    )


async def _uses(db: Database) -> int:
    return sum([key.get("usage_count", 0) async for key in db[SCRAPER_KEYS].find()])


async def _sees(context: KeysContext, *, replicas: int) -> bool:
    return context.pool.replicas == replicas


async def _slots(context: KeysContext, slots: int) -> bool:
    return context.pool.slots == slots


async def _idle(context: KeysContext) -> bool:
    return not context.pool.leases_here()


async def _leased_from(load: Load, replica_id: str) -> bool:
    return load.by_replica[replica_id] > 0


async def _other_replica(db: Database, me: KeysContext) -> str:
    ids = [doc["_id"] async for doc in db[KEY_REPLICAS].find({"kind": "replica"})]
    others = [replica_id for replica_id in ids if replica_id != me.pool.replica_id]
    assert len(others) == 1, ids
    return str(others[0])
