"""Rate-limit counters spent through per-replica leases (ratelimits/counters.py): never
more let through than the limit, on one replica or several, and a busy counter far
below its limit costs few database writes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from git44_common.collections import API_RATE_LIMITS
from git44_common.mongo import Database
from git44_jobs.ratelimits import counters as counters_module
from git44_jobs.ratelimits.counters import LEASE_FRACTION, SharedCounters

NOW = datetime(2026, 11, 30, 12, 0, 30, tzinfo=UTC)
WINDOW_ENDS = NOW + timedelta(seconds=30)


def replica(db: Database) -> SharedCounters:
    return SharedCounters(db, lambda: NOW)


async def _hits(counters: SharedCounters, n: int, *, quota: int, counter: str = "c:1") -> list[int]:
    return await asyncio.gather(
        *(counters.hit(counter, 1, quota=quota, expires_at=WINDOW_ENDS) for _ in range(n))
    )


async def test_one_replica_lets_exactly_the_limit_through(mongo_db: Database) -> None:
    used = await _hits(replica(mongo_db), 200, quota=50)
    allowed = sorted(u for u in used if u <= 50)
    assert allowed == list(range(1, 51))  # each let-through hit learns its own position
    assert sum(u > 50 for u in used) == 150


@pytest.mark.parametrize("quota", [7, 60, 1000])
async def test_replicas_together_never_let_more_than_the_limit_through(
    mongo_db: Database, quota: int
) -> None:
    replicas = [replica(mongo_db) for _ in range(3)]
    rounds = [await asyncio.gather(*(_hits(r, 40, quota=quota) for r in replicas))]
    rounds.append(await asyncio.gather(*(_hits(r, quota, quota=quota) for r in replicas)))
    allowed = sum(u <= quota for each_round in rounds for used in each_round for u in used)
    assert allowed <= quota
    # refused early by at most what the other replicas hold unspent
    assert allowed >= quota - 2 * max(1, quota // LEASE_FRACTION)


async def test_a_busy_counter_far_below_its_limit_costs_few_writes(
    mongo_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = 0
    count = counters_module.crud.count

    async def counted(*args: Any, **kwargs: Any) -> int:
        nonlocal writes
        writes += 1
        return await count(*args, **kwargs)

    monkeypatch.setattr(counters_module.crud, "count", counted)
    counters = replica(mongo_db)
    for _ in range(20):  # 20 bursts of 50: 1,000 hits
        used = await _hits(counters, 50, quota=1_000_000)
        assert all(u <= 1_000_000 for u in used)
    assert writes <= 12, writes  # chunks double: 1,000 hits in about log2(1,000) writes
    stored = await mongo_db[API_RATE_LIMITS].find_one({"_id": "c:1"})
    assert stored is not None
    assert 1000 <= stored["count"] <= 1000 + 1_000_000 // LEASE_FRACTION


async def test_a_quiet_counter_is_exact_and_a_new_window_starts_afresh(
    mongo_db: Database,
) -> None:
    counters = replica(mongo_db)
    assert [await counters.hit("c:1", 1, quota=3, expires_at=WINDOW_ENDS) for _ in range(4)] == [
        1,
        2,
        3,
        4,  # above the limit: refused
    ]
    later = WINDOW_ENDS + timedelta(seconds=60)
    assert await counters.hit("c:2", 1, quota=3, expires_at=later) == 1


async def test_a_hit_waiting_for_its_reservation_survives_its_window_being_pruned(
    mongo_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The soak's 500s: a hit on a new counter prunes the leases of ended windows, one
    of which had an ask waiting in the batch; serving it then must not lose its lease."""
    now = [NOW]
    counters = SharedCounters(mongo_db, lambda: now[0])
    first_write_may_end = asyncio.Event()
    count = counters_module.crud.count

    async def slow_first(*args: Any, **kwargs: Any) -> int:
        await first_write_may_end.wait()
        return await count(*args, **kwargs)

    monkeypatch.setattr(counters_module.crud, "count", slow_first)
    later = NOW + timedelta(minutes=5)
    busy = asyncio.create_task(counters.hit("c:busy", 1, quota=100, expires_at=later))
    await asyncio.sleep(0.05)  # its reservation is in flight: the next asks queue
    ending = asyncio.create_task(
        counters.hit("c:ending", 1, quota=100, expires_at=NOW + timedelta(seconds=1))
    )
    await asyncio.sleep(0.05)
    now[0] = NOW + timedelta(seconds=2)  # c:ending's window is over
    fresh = asyncio.create_task(counters.hit("c:fresh", 1, quota=100, expires_at=later))
    await asyncio.sleep(0.05)
    first_write_may_end.set()

    assert await asyncio.gather(busy, ending, fresh) == [1, 1, 1]
