"""Shared counters whose concurrent hits share one database write.

Every request of a user (and every submission of the whole service) increments a
counter document; done one write per hit, the hot documents (the global submission
counter above all) would cost the submission path its throughput. Hits that arrive
while a counter's write is in flight wait and go together in the next one — the
batching of `core/batching.py`, per counter document — and each still learns its own
exact position: the count before the write plus the hits ahead of it in the batch.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from git44_common.mongo import Database
from git44_jobs.ratelimits import crud

log = logging.getLogger(__name__)


@dataclass
class _Hit:
    amounts: dict[str, int]
    expires_at: datetime
    result: asyncio.Future[dict[str, int]]


class SharedCounters:
    """Counter documents in `api_rate_limits`, written at most once at a time each."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: dict[str, list[_Hit]] = {}
        self._writers: dict[str, asyncio.Task[None]] = {}

    async def hit(
        self, counter_id: str, amounts: dict[str, int], *, expires_at: datetime
    ) -> dict[str, int]:
        """Add `amounts` to the counter; the counts up to and including this hit."""
        hit = _Hit(amounts, expires_at, asyncio.get_running_loop().create_future())
        self._pending.setdefault(counter_id, []).append(hit)
        if counter_id not in self._writers:
            self._writers[counter_id] = asyncio.create_task(
                self._write(counter_id), name=f"counter-{counter_id}"
            )
        return await hit.result

    async def _write(self, counter_id: str) -> None:
        try:
            while hits := self._pending.pop(counter_id, None):
                await self._write_batch(counter_id, hits)
        finally:
            del self._writers[counter_id]

    async def _write_batch(self, counter_id: str, hits: list[_Hit]) -> None:
        total: dict[str, int] = {}
        for hit in hits:
            for name, amount in hit.amounts.items():
                total[name] = total.get(name, 0) + amount
        try:
            after = await crud.count(self._db, counter_id, total, expires_at=hits[0].expires_at)
        except Exception as exc:  # every hit of the batch learns it
            for hit in hits:
                if not hit.result.done():
                    hit.result.set_exception(exc)
            return
        running = {name: after[name] - amount for name, amount in total.items()}
        for hit in hits:
            for name, amount in hit.amounts.items():
                running[name] += amount
            if not hit.result.done():
                hit.result.set_result(dict(running))
