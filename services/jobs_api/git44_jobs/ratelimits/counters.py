"""Shared counters whose concurrent hits share one database write.

Every request of a user (and every submission of the whole service) increments a
counter document; done one write per hit, the hot documents (the global submission
counter above all) would cost the submission path its throughput. Hits that arrive
while a write is in flight go together in the next one (`core/batching.Batcher`): one
write per counter document in it, and each hit still learns its own exact position —
the count before the write plus the hits ahead of it in the batch.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from git44_common.mongo import Database
from git44_jobs.core.batching import Batcher
from git44_jobs.ratelimits import crud


@dataclass(frozen=True)
class _Hit:
    counter_id: str
    amount: int
    expires_at: datetime


class SharedCounters:
    """Counter documents in `api_rate_limits` (field `count`)."""

    def __init__(self, db: Database, *, max_batch: int = 1000) -> None:
        self._db = db
        self._batcher: Batcher[_Hit, int] = Batcher(
            self._write, max_batch=max_batch, name="rate-counters"
        )

    async def hit(self, counter_id: str, amount: int, *, expires_at: datetime) -> int:
        """Add `amount` to the counter; the count up to and including this hit."""
        return await self._batcher.submit(_Hit(counter_id, amount, expires_at))

    async def _write(self, hits: list[_Hit]) -> list[int | BaseException]:
        by_counter: dict[str, list[int]] = {}
        for index, hit in enumerate(hits):
            by_counter.setdefault(hit.counter_id, []).append(index)
        results: list[int | BaseException] = [0] * len(hits)

        async def write(counter_id: str, indexes: list[int]) -> None:
            total = sum(hits[i].amount for i in indexes)
            try:
                after = await crud.count(
                    self._db, counter_id, total, expires_at=hits[indexes[0]].expires_at
                )
            except Exception as exc:  # every hit on this counter learns it
                for i in indexes:
                    results[i] = exc
                return
            running = after - total
            for i in indexes:
                running += hits[i].amount
                results[i] = running

        await asyncio.gather(*(write(cid, indexes) for cid, indexes in by_counter.items()))
        return results
