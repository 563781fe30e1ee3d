"""The acquire RPC and release messages against real RabbitMQ and MongoDB."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from git44_common.amqp import RpcError
from git44_common.clock import utc_now
from git44_common.collections import KEY_LEASES, SCRAPER_KEYS
from git44_common.contracts import KeyLease, KeyStatus, ReleaseOutcome
from git44_common.mongo import Database
from git44_keys.context import KeysContext
from git44_keys.metrics import KEYS_ACQUIRE, KEYS_SLOTS_RECOUNTED
from tests.integration.keys.conftest import (
    SEED,
    KeyManagerClient,
    StartKeyManager,
    eventually,
)

pytestmark = pytest.mark.integration


async def in_flight(db: Database) -> dict[str, int]:
    return {key["_id"]: key["in_flight"] async for key in db[SCRAPER_KEYS].find()}


async def test_seeded_keys_are_stored_encrypted_once(
    start_key_manager: StartKeyManager, db: Database
) -> None:
    await start_key_manager()  # a second replica seeds the same keys again
    documents = await db[SCRAPER_KEYS].find().to_list()
    assert len(documents) == len(SEED)
    for document in documents:
        assert document["status"] == "active"
        assert not any(plain in str(document) for plain in SEED)


async def test_acquire_grants_a_seeded_key_with_a_lease(
    key_manager: KeysContext, client: KeyManagerClient, db: Database
) -> None:
    lease = await client.lease(worker_id="w1", job_id="job-1")
    assert lease.api_key.get_secret_value() in SEED
    record = await db[KEY_LEASES].find_one({"_id": lease.lease_id})
    assert record is not None
    assert (record["key_id"], record["worker_id"], record["job_id"]) == (
        lease.key_id,
        "w1",
        "job-1",
    )
    assert (await in_flight(db))[lease.key_id] == 1


async def test_acquire_prefers_the_least_loaded_then_least_recently_used_key(
    key_manager: KeysContext, client: KeyManagerClient, db: Database
) -> None:
    first = await client.lease()
    second = await client.lease()
    assert second.key_id != first.key_id  # fewest in flight
    await release_and_settle(client, db, first)
    await release_and_settle(client, db, second)
    third = await client.lease()
    assert third.key_id not in {first.key_id, second.key_id}  # never used
    await release_and_settle(client, db, third)
    assert (await client.lease()).key_id == first.key_id  # least recently used


async def test_release_ok_frees_the_slot_and_counts_the_use(
    key_manager: KeysContext, client: KeyManagerClient, db: Database
) -> None:
    lease = await client.lease()
    await release_and_settle(client, db, lease)
    assert await _released(db, lease.lease_id)
    key = await db[SCRAPER_KEYS].find_one({"_id": lease.key_id})
    assert key is not None
    assert (key["in_flight"], key["usage_count"], key["status"]) == (0, 1, "active")
    assert key["last_used"] is not None


async def test_a_duplicate_release_gives_the_slot_back_only_once(
    key_manager: KeysContext, client: KeyManagerClient, db: Database
) -> None:
    held = await client.lease()
    other = await client.lease()
    # make `held` key carry a second lease so a double decrement would show
    third = await client.lease()
    again = await client.lease()
    assert again.key_id in {held.key_id, other.key_id, third.key_id}
    await release_and_settle(client, db, again)
    await client.release(again)  # delivered twice
    await asyncio.sleep(0.3)
    loads = await in_flight(db)
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
    assert key["in_flight"] == 0
    for _ in range(4):  # the other keys keep serving
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
    assert set((await in_flight(context.db)).values()) == {2}


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
    await eventually(lambda: _all_idle(context.db))


async def test_expired_leases_give_their_slot_back(
    start_key_manager: StartKeyManager, client: KeyManagerClient
) -> None:
    context = await start_key_manager(
        default_max_concurrency=1, lease_seconds=0.5, acquire_wait_seconds=0
    )
    leases = [await client.lease() for _ in range(3)]
    assert (await client.acquire()).outcome == "cooldown"  # all busy
    await eventually(lambda: _all_idle(context.db), within=5)
    assert await context.db[KEY_LEASES].count_documents({}) == 0
    fresh = await client.lease()
    await client.release(leases[0])  # a late release of an expired lease
    await asyncio.sleep(0.3)
    assert (await in_flight(context.db))[fresh.key_id] == 1


async def test_slots_no_lease_holds_are_given_back_once_the_key_is_idle(
    start_key_manager: StartKeyManager, client: KeyManagerClient
) -> None:
    """A replica that died between taking a slot and recording its lease (or between
    deleting a lease and returning its slot) leaves `in_flight` too high: maintenance
    recounts idle keys from their leases, and leaves busy keys and live leases alone."""
    context = await start_key_manager(lease_seconds=30)
    db = context.db
    lease = await client.lease()
    leased, leaked, busy = [lease.key_id, *sorted(set(await in_flight(db)) - {lease.key_id})]
    long_ago = utc_now() - timedelta(minutes=5)
    slots = {leased: 3, leaked: 2, busy: 1}
    for key_id, count in slots.items():
        changed = utc_now() if key_id == busy else long_ago
        await db[SCRAPER_KEYS].update_one(
            {"_id": key_id}, {"$set": {"in_flight": count, "updated_at": changed}}
        )
    recounted = KEYS_SLOTS_RECOUNTED._value.get()

    async def recounted_from_leases() -> bool:
        counts = await in_flight(db)
        # The counter moves after the round's last update: a reader can see the update first.
        given_back = KEYS_SLOTS_RECOUNTED._value.get() - recounted
        return (counts[leased], counts[leaked], given_back) == (1, 0, 4)  # (3 - 1) + (2 - 0)

    await eventually(recounted_from_leases)
    await asyncio.sleep(0.6)  # a few more rounds: the recently changed key is left alone
    assert (await in_flight(db))[busy] == 1
    await release_and_settle(client, db, lease)
    assert (await in_flight(db))[leased] == 0


async def _released(db: Database, lease_id: str) -> bool:
    return await db[KEY_LEASES].count_documents({"_id": lease_id}) == 0


async def _uses(db: Database) -> int:
    return sum([key["usage_count"] async for key in db[SCRAPER_KEYS].find()])


async def release_and_settle(client: KeyManagerClient, db: Database, lease: KeyLease) -> None:
    """Release and wait until key-manager has counted it (slot and use are one update)."""
    before = await _uses(db)
    await client.release(lease)

    async def counted() -> bool:
        return await _uses(db) == before + 1

    await eventually(counted)


async def _all_idle(db: Database) -> bool:
    return set((await in_flight(db)).values()) == {0}


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
