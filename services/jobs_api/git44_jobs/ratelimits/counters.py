"""Shared counters that cost the request path (almost) no database write.

Every request of a user, and every submission of the whole service, is counted against
a limit shared by all replicas (a counter document per subject and window). Written
once per hit, the hot documents would cost the submission path its throughput (A/B:
0.35-0.7 of the code without limits). So a replica **reserves** units of a limit in
chunks and spends them locally: the counter document holds what the replicas have
reserved, never less than what they have let through, so a limit is never exceeded.

A reservation is one `$inc` of the chunk (concurrent reservations go together through
`core/batching.Batcher`); the replica owns the part of it still under the limit. The
chunk starts at what is asked, doubles with each reservation in the same window (a
counter that needs a new chunk is busy) and is at most `LEASE_FRACTION` of the limit:
a quiet user costs one write per request, as before, and a busy counter far below its
limit costs a write per thousands of hits. The price: units a replica reserved and did
not spend before the window ended are lost, so with several replicas a subject may be
refused up to that fraction of its limit early (never late).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from git44_common.clock import Clock
from git44_common.mongo import Database
from git44_jobs.core.batching import Batcher
from git44_jobs.ratelimits import crud

LEASE_FRACTION = 20  # a replica reserves at most 1/20 of a limit at a time
_PRUNE_EVERY = timedelta(seconds=1)


@dataclass
class _Lease:
    """This replica's share of one counter in one window."""

    quota: int
    expires_at: datetime
    owned: int = 0  # reserved, not yet spent
    seen: int = 0  # the counter (every replica's reservations) at the last reservation
    chunk: int = 1  # the next reservation's size


@dataclass(frozen=True)
class _Ask:
    counter_id: str
    amount: int
    # the lease itself, not looked up by id when served: a hit on another counter may
    # prune this window's lease meanwhile (it ended), and the ask must still be answered
    lease: _Lease


@dataclass
class SharedCounters:
    """Counter documents in `api_rate_limits` (field `count`), spent through leases."""

    db: Database
    clock: Clock
    max_batch: int = 1000
    _leases: dict[str, _Lease] = field(default_factory=dict, init=False)
    _pruned_at: datetime | None = field(default=None, init=False)
    _batcher: Batcher[_Ask, int] = field(init=False)

    def __post_init__(self) -> None:
        self._batcher = Batcher(self._reserve, max_batch=self.max_batch, name="rate-counters")

    async def hit(self, counter_id: str, amount: int, *, quota: int, expires_at: datetime) -> int:
        """Spend `amount` units of the counter if `quota` allows; the counter's use as far
        as this replica knows, including this hit when it was let through (above `quota`
        when it was refused: nothing was spent then)."""
        lease = self._leases.get(counter_id)
        if lease is None:
            self._forget_ended()
            lease = self._leases[counter_id] = _Lease(quota=quota, expires_at=expires_at)
        if lease.owned >= amount:
            return _spend(lease, amount)
        if lease.seen >= quota:  # every unit of this window is reserved: no write can help
            return quota + amount
        return await self._batcher.submit(_Ask(counter_id, amount, lease))

    def _forget_ended(self) -> None:
        """Drop the leases of windows that are over, at most once a second."""
        now = self.clock()
        if self._pruned_at is not None and now - self._pruned_at < _PRUNE_EVERY:
            return
        self._pruned_at = now
        for counter_id in [cid for cid, lease in self._leases.items() if lease.expires_at <= now]:
            del self._leases[counter_id]

    async def _reserve(self, asks: list[_Ask]) -> list[int | BaseException]:
        """Reserve what these asks lack (one `$inc` per counter, counters concurrently),
        then serve them in order."""
        by_lease: dict[int, list[int]] = {}
        for index, ask in enumerate(asks):
            by_lease.setdefault(id(ask.lease), []).append(index)
        results: dict[int, int | BaseException] = {}

        async def serve(indexes: list[int]) -> None:
            try:
                await self._serve(asks[indexes[0]].lease, indexes, asks, results)
            except Exception as exc:  # every ask on this counter not yet served learns it
                for i in indexes:
                    results.setdefault(i, exc)

        await asyncio.gather(*(serve(indexes) for indexes in by_lease.values()))
        return [results[i] for i in range(len(asks))]

    async def _serve(
        self,
        lease: _Lease,
        indexes: list[int],
        asks: list[_Ask],
        results: dict[int, int | BaseException],
    ) -> None:
        """Serve these asks in order, reserving as long as the window has units left
        (hits spending the lease locally meanwhile may take what a reservation brought)."""
        waiting = list(indexes)
        while waiting:
            ask = asks[waiting[0]]
            if lease.owned >= ask.amount:
                results[waiting.pop(0)] = _spend(lease, ask.amount)
            elif lease.seen >= lease.quota:
                results[waiting.pop(0)] = lease.quota + ask.amount  # refused: nothing spent
            else:
                wanted = sum(asks[i].amount for i in waiting)
                await self._top_up(ask.counter_id, lease, wanted)

    async def _top_up(self, counter_id: str, lease: _Lease, wanted: int) -> None:
        """Reserve what `wanted` lacks, or the lease's next chunk if that is more."""
        quota = lease.quota
        size = max(wanted - lease.owned, min(lease.chunk, max(1, quota // LEASE_FRACTION)))
        after = await crud.count(self.db, counter_id, size, expires_at=lease.expires_at)
        before = after - size
        lease.owned += max(0, min(size, quota - before))
        lease.seen = max(lease.seen, after)
        lease.chunk = size * 2


def _spend(lease: _Lease, amount: int) -> int:
    lease.owned -= amount
    # what every replica reserved (at most the limit) less what this one still holds
    return min(lease.seen, lease.quota) - lease.owned
