"""How long a live stream may run: within the user's cap of open streams (on every
replica together), while its access token is valid and its user enabled.

A stream holds one of the user's slots (`crud.py`) under a lease it renews at every
check; the route checks every `check_seconds` and ends the stream when it should.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from git44_common.clock import Clock
from git44_common.ids import new_id
from git44_common.mongo import Database
from git44_common.ratelimit import Limit, enforce
from git44_jobs.live import crud


@dataclass(frozen=True)
class StreamSlot:
    stream_id: str
    user_id: str


class StreamSlots:
    """The per-user cap on open streams; RateLimited (429 `sse-streams`) past it."""

    def __init__(self, db: Database, *, per_user: int, check_seconds: float, clock: Clock) -> None:
        self._db = db
        self._per_user = per_user
        # a slot outlives a missed renewal or two; a dead replica's frees within it
        self._lease = timedelta(seconds=max(3 * check_seconds, 10))
        self.check_seconds = check_seconds
        self._clock = clock

    @property
    def limit(self) -> Limit:
        return Limit("sse-streams", self._per_user, int(self._lease.total_seconds()))

    async def open(self, user_id: str) -> StreamSlot:
        now = self._clock()
        slot = StreamSlot(new_id(), user_id)
        taken = await crud.take_slot(
            self._db, user_id, slots=self._per_user, stream_id=slot.stream_id,
            until=now + self._lease, now=now,
        )  # fmt: skip
        if taken is None:
            enforce([self.limit.usage(self._per_user + 1, now)], what="open event streams")
        return slot

    async def renew(self, slot: StreamSlot) -> bool:
        """Keep the slot; False if it was lost (the stream should end)."""
        return await crud.renew_slot(self._db, slot.stream_id, until=self._clock() + self._lease)

    async def close(self, slot: StreamSlot) -> None:
        await crud.release_slot(self._db, slot.stream_id)


def token_expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and now >= expires_at


def seconds_to_next_check(
    check_seconds: float, expires_at: datetime | None, now: datetime
) -> float:
    """How long a stream may wait for an update before its next check: at most
    `check_seconds`, and no later than its token's expiry (so it ends on time)."""
    if expires_at is None:
        return check_seconds
    return max(0.0, min(check_seconds, (expires_at - now).total_seconds()))
