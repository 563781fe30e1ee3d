"""This replica's key leases, in memory (ADR 0010): granted by `acquire`, taken back
exactly once by their release or by their expiry, and the uses not yet written.

Nothing here touches the database: a lease costs no write. A replica that dies loses
its book; its leases end by themselves (`lease_expires_at`) and the other replicas
count its share as taken until then (`shares.py`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from git44_common.clock import Clock, utc_now


@dataclass(frozen=True)
class HeldLease:
    key_id: str
    worker_id: str
    job_id: str | None
    expires_at: datetime  # what the worker is told (wall clock)
    deadline: float  # when this replica stops counting it (monotonic)


@dataclass(frozen=True)
class Use:
    """Uses of a key not written yet: how many, and the last one's time."""

    count: int
    last_used: datetime


class LeaseBook:
    """Leases in flight by id and by key, and the uses counted since the last flush."""

    def __init__(
        self,
        *,
        lease_seconds: float,
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lease_seconds = lease_seconds
        self._clock = clock
        self._monotonic = monotonic
        self._leases: dict[str, HeldLease] = {}
        self._by_key: Counter[str] = Counter()
        self._uses: dict[str, Use] = {}
        self.emptied = asyncio.Event()  # set while no lease is in flight
        self.emptied.set()

    def __len__(self) -> int:
        return len(self._leases)

    def __contains__(self, lease_id: object) -> bool:
        return lease_id in self._leases

    def in_flight(self, key_id: str) -> int:
        return self._by_key[key_id]

    def in_flight_by_key(self) -> dict[str, int]:
        return {key_id: n for key_id, n in self._by_key.items() if n > 0}

    def latest_expiry(self) -> datetime | None:
        return max((lease.expires_at for lease in self._leases.values()), default=None)

    def grant(self, key_id: str, *, worker_id: str, job_id: str | None) -> tuple[str, HeldLease]:
        """A new lease on `key_id` (the caller checked the allowance); its id and record."""
        lease_id = uuid.uuid4().hex
        lease = HeldLease(
            key_id=key_id,
            worker_id=worker_id,
            job_id=job_id,
            expires_at=self._clock() + timedelta(seconds=self._lease_seconds),
            deadline=self._monotonic() + self._lease_seconds,
        )
        self._leases[lease_id] = lease
        self._by_key[key_id] += 1
        self.emptied.clear()
        return lease_id, lease

    def take(self, lease_id: str) -> HeldLease | None:
        """End the lease; returned only the first time (a duplicate release gets None)."""
        lease = self._leases.pop(lease_id, None)
        if lease is not None:
            self._by_key[lease.key_id] -= 1
            if not self._leases:
                self.emptied.set()
        return lease

    def expire(self) -> int:
        """End the leases past their deadline (never released); how many."""
        now = self._monotonic()
        expired = [lease_id for lease_id, lease in self._leases.items() if lease.deadline <= now]
        for lease_id in expired:
            self.take(lease_id)
        return len(expired)

    def count_use(self, key_id: str, *, at: datetime) -> None:
        before = self._uses.get(key_id)
        count = before.count + 1 if before else 1
        self._uses[key_id] = Use(count, max(at, before.last_used) if before else at)

    def take_uses(self) -> dict[str, Use]:
        """The uses counted since the last call (to be written)."""
        uses, self._uses = self._uses, {}
        return uses

    def return_uses(self, uses: dict[str, Use]) -> None:
        """Put back uses that could not be written, to go with the next flush."""
        for key_id, use in uses.items():
            before = self._uses.get(key_id)
            if before is None:
                self._uses[key_id] = use
            else:
                last = max(use.last_used, before.last_used)
                self._uses[key_id] = Use(use.count + before.count, last)
