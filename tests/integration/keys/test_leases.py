"""The acquire RPC and release messages against real RabbitMQ and MongoDB: leases live
in the replica's memory (ADR 0010), only the usage counters reach the database."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from git44_common.amqp import RpcError
from git44_common.collections import KEY_LEASES, KEY_REPLICAS, SCRAPER_KEYS
from git44_common.contracts import KeyLease, KeyRelease, KeyStatus, ReleaseOutcome
from git44_common.mongo import Database
from git44_keys import pool as pool_module
from git44_keys.context import KeysContext
from git44_keys.metrics import KEYS_ACQUIRE, KEYS_LEASES_EXPIRED
from tests.integration.keys.conftest import (
    SEED,
    KeyManagerClient,
    StartKeyManager,
    eventually,
)

pytestmark = pytest.mark.integration


async def in_flight(context: KeysContext) -> dict[str, int]:
    """Leases in flight per key (0 for idle keys), as the admin API sums them."""
    counts = await context.pool.in_flight_by_key()
    return {key["_id"]: counts.get(key["_id"], 0) async for key in context.db[SCRAPER_KEYS].find()}


async def uses(db: Database) -> dict[str, int]:
    return {key["_id"]: key.get("usage_count", 0) async for key in db[SCRAPER_KEYS].find()}


async def test_seeded_keys_are_stored_encrypted_once(
    start_key_manager: StartKeyManager, db: Database
) -> None:
    await start_key_manager()  # a second replica seeds the same keys again
    documents = await db[SCRAPER_KEYS].find().to_list()
    assert len(documents) == len(SEED)
    for document in documents:
        assert document["status"] == "active"
        assert not any(plain in str(document) for plain in SEED)


async def test_acquire_grants_a_seeded_key_with_a_lease_held_in_memory(
    key_manager: KeysContext, client: KeyManagerClient, db: Database
) -> None:
    lease = await client.lease(worker_id="w1", job_id="job-1")
    assert lease.api_key.get_secret_value() in SEED
    assert lease.replica_id == key_manager.pool.replica_id
    assert (await in_flight(key_manager))[lease.key_id] == 1
    assert await db[KEY_LEASES].count_documents({"_id": lease.lease_id}) == 0  # not stored

    async def reported() -> bool:  # the replica's heartbeat tells the others
        doc = await db[KEY_REPLICAS].find_one({"_id": key_manager.pool.replica_id})
        return doc is not None and doc["in_flight"] == {lease.key_id: 1}

    await eventually(reported)


async def test_acquire_prefers_the_least_loaded_then_least_recently_used_key(
    key_manager: KeysContext, client: KeyManagerClient
) -> None:
    first = await client.lease()
    second = await client.lease()
    assert second.key_id != first.key_id  # fewest in flight
    await release_and_settle(client, key_manager, first)
    await release_and_settle(client, key_manager, second)
    third = await client.lease()
    assert third.key_id not in {first.key_id, second.key_id}  # never used
    await release_and_settle(client, key_manager, third)
    assert (await client.lease()).key_id == first.key_id  # least recently used


async def test_release_ok_frees_the_slot_and_counts_the_use(
    key_manager: KeysContext, client: KeyManagerClient, db: Database
) -> None:
    lease = await client.lease()
    await release_and_settle(client, key_manager, lease)

    async def counted() -> bool:  # the next usage flush writes it
        return (await uses(db))[lease.key_id] == 1

    await eventually(counted)
    key = await db[SCRAPER_KEYS].find_one({"_id": lease.key_id})
    assert key is not None
    assert key["status"] == "active"
    assert key["last_used"] is not None
    assert (await in_flight(key_manager))[lease.key_id] == 0


async def test_a_duplicate_release_gives_the_slot_back_only_once(
    key_manager: KeysContext, client: KeyManagerClient
) -> None:
    held = await client.lease()
    other = await client.lease()
    # make `held` key carry a second lease so a double decrement would show
    third = await client.lease()
    again = await client.lease()
    assert again.key_id in {held.key_id, other.key_id, third.key_id}
    await release_and_settle(client, key_manager, again)
    await client.release(again)  # delivered twice
    await asyncio.sleep(0.3)
    loads = await in_flight(key_manager)
    assert loads[again.key_id] == 1
    assert sum(loads.values()) == 3


async def test_a_limited_release_marks_the_key_limited(
    key_manager: KeysContext, client: KeyManagerClient, db: Database
) -> None:
    lease = await client.lease()
    await client.release(lease, ReleaseOutcome.LIMITED, 403)

    async def limited() -> bool:
        key = await db[SCRAPER_KEYS].find_one({"_id": lease.key_id})
        return key is not None and key["status"] == KeyStatus.LIMITED.value

    await eventually(limited)
    key = await db[SCRAPER_KEYS].find_one({"_id": lease.key_id})
    assert key is not None
    assert key["limited_at"] is not None
    assert (await in_flight(key_manager))[lease.key_id] == 0
    for _ in range(4):  # the other keys keep serving
        assert (await client.lease()).key_id != lease.key_id


async def test_a_refresh_read_before_a_limit_does_not_lease_the_key_again(
    key_manager: KeysContext, client: KeyManagerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A heartbeat that read the keys just before a release reported one limited must
    not put it back as active when its read returns (CI saw a lease on a cooled key)."""
    pool = key_manager.pool
    lease = await client.lease()
    read = asyncio.Event()
    answer = asyncio.Event()
    real_read = pool_module.keys.pool_keys
    held: list[asyncio.Task[None]] = []

    async def slow_first_read(db: Database) -> list[dict[str, object]]:
        docs = await real_read(db)
        if asyncio.current_task() in held and not read.is_set():  # the refresh below
            read.set()
            await answer.wait()
        return docs

    monkeypatch.setattr(pool_module.keys, "pool_keys", slow_first_read)
    stale_refresh = asyncio.create_task(pool.refresh_keys())
    held.append(stale_refresh)
    await read.wait()  # it saw the key active
    await pool.release(
        KeyRelease(
            lease_id=lease.lease_id,
            key_id=lease.key_id,
            outcome=ReleaseOutcome.LIMITED,
            status_code=403,
        )
    )
    answer.set()
    await stale_refresh
    for _ in range(6):
        assert (await client.lease()).key_id != lease.key_id


async def test_fifty_concurrent_acquires_never_exceed_max_concurrency(
    start_key_manager: StartKeyManager, client: KeyManagerClient
) -> None:
    context = await start_key_manager(default_max_concurrency=2, acquire_wait_seconds=0.3)
    busy_before = KEYS_ACQUIRE.labels("busy")._value.get()
    results = await asyncio.gather(*(client.acquire(worker_id=f"w{i}") for i in range(50)))
    granted = [r.lease for r in results if r.lease is not None]
    assert len(granted) == 6  # 3 keys x 2
    assert KEYS_ACQUIRE.labels("busy")._value.get() - busy_before == 44
    assert set(Counter(lease.key_id for lease in granted).values()) == {2}
    assert all(r.outcome == "cooldown" for r in results if r.lease is None)  # busy: retry soon
    assert set((await in_flight(context)).values()) == {2}


async def test_concurrent_workers_holding_and_releasing_stay_within_limits(
    start_key_manager: StartKeyManager, client: KeyManagerClient
) -> None:
    context = await start_key_manager(default_max_concurrency=2, acquire_wait_seconds=5)
    holding: Counter[str] = Counter()
    peak: Counter[str] = Counter()

    async def lease_like_a_worker(worker_id: str) -> KeyLease:
        # "busy" (all slots taken for acquire_wait_seconds) means: ask again after
        # cooldown_until, as the worker does; on a loaded machine that can happen here.
        while True:
            result = await client.acquire(worker_id=worker_id)
            if result.lease is not None:
                return result.lease
            assert result.outcome == "cooldown", result
            await asyncio.sleep(0.1)

    async def work(i: int) -> None:
        lease = await lease_like_a_worker(f"w{i}")
        holding[lease.key_id] += 1
        peak[lease.key_id] = max(peak[lease.key_id], holding[lease.key_id])
        await asyncio.sleep(0.05)
        holding[lease.key_id] -= 1
        await client.release(lease)

    await asyncio.gather(*(work(i) for i in range(50)))
    assert peak
    assert max(peak.values()) <= 2
    await eventually(lambda: _all_idle(context))


async def test_expired_leases_give_their_slot_back(
    start_key_manager: StartKeyManager, client: KeyManagerClient
) -> None:
    context = await start_key_manager(
        default_max_concurrency=1, lease_seconds=0.5, acquire_wait_seconds=0
    )
    expired = KEYS_LEASES_EXPIRED._value.get()
    leases = [await client.lease() for _ in range(3)]
    assert (await client.acquire()).outcome == "cooldown"  # all busy
    await eventually(lambda: _all_idle(context), within=5)
    assert KEYS_LEASES_EXPIRED._value.get() - expired == 3
    fresh = await client.lease()
    await client.release(leases[0])  # a late release of an expired lease
    await asyncio.sleep(0.3)
    assert (await in_flight(context))[fresh.key_id] == 1


async def test_a_burst_of_leases_writes_nothing_per_lease(
    start_key_manager: StartKeyManager, client: KeyManagerClient, mongo_db: Database
) -> None:
    """100 acquires and releases cost no write of their own: the heartbeat and the usage
    flush write on their clocks (here 5 s), whatever the number of leases."""
    context = await start_key_manager(
        replica_heartbeat_seconds=5, replica_ttl_seconds=20, usage_flush_seconds=5
    )
    before = await writes(mongo_db)
    for _ in range(50):
        a, b = await client.lease(), await client.lease()
        await client.release(a)
        await client.release(b)
    await eventually(lambda: _all_idle(context))
    # at most a heartbeat and a usage flush (one $inc per key) fell inside the burst
    assert await writes(mongo_db) - before <= 1 + len(SEED)
    await context.pool.flush_usage()
    assert sum((await uses(context.db)).values()) == 100


async def writes(db: Database) -> int:
    counters = (await db.client.admin.command("serverStatus"))["opcounters"]
    return int(counters["insert"] + counters["update"] + counters["delete"])


async def release_and_settle(
    client: KeyManagerClient, context: KeysContext, lease: KeyLease
) -> None:
    """Release and wait until the replica has taken the lease back."""
    await client.release(lease)

    async def returned() -> bool:
        return not context.pool.holds(lease.lease_id)

    await eventually(returned)


async def _all_idle(context: KeysContext) -> bool:
    return set((await in_flight(context)).values()) == {0}


async def test_an_empty_pool_answers_no_keys(
    start_key_manager: StartKeyManager, client: KeyManagerClient
) -> None:
    await start_key_manager(seed_keys="")
    result = await client.acquire()
    assert result.outcome == "no_keys"
    assert result.lease is None


async def test_a_malformed_acquire_gets_an_error_reply(
    key_manager: KeysContext, client: KeyManagerClient
) -> None:
    with pytest.raises(RpcError) as caught:
        await client.rpc.call("acquire", {"job_id": "j1"}, timeout=5)
    assert caught.value.code == "invalid_params"
