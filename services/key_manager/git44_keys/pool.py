"""The key pool: leasing keys to workers and taking them back, in this replica's memory
within its share of each key (ADR 0010); the keys' state stays in MongoDB."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from git44_common.clock import utc_now
from git44_common.contracts import (
    KeyAcquireRequest,
    KeyAcquireResult,
    KeyLease,
    KeyRelease,
    KeyStatus,
    ReleaseOutcome,
)
from git44_common.mongo import Database, Document
from git44_keys.core.config import KeysSettings
from git44_keys.crud import keys
from git44_keys.crypto import KeyCipher
from git44_keys.leases import LeaseBook
from git44_keys.lifecycle import KeyLifecycle
from git44_keys.metrics import (
    KEYS_ACQUIRE,
    KEYS_BACKOFFS,
    KEYS_LEASE_WAIT,
    KEYS_LEASES_EXPIRED,
    KEYS_LEASES_IN_FLIGHT,
    KEYS_RELEASES,
    KEYS_REPLICA_SLOTS,
    KEYS_REPLICAS,
    KEYS_USES_FLUSHED,
)
from git44_keys.replicas import ReplicaShares
from git44_keys.state_machine import (
    TOO_MANY_CONCURRENT,
    Refusal,
    refusal_reason,
    transition_on_release,
)

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.1
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass
class PoolKey:
    """A key as this replica leases it (refreshed from MongoDB every heartbeat)."""

    key_id: str
    status: KeyStatus
    max_concurrency: int
    token: str  # the stored ciphertext, decrypted per lease
    last_used: datetime  # here: the last lease this replica granted on it

    @classmethod
    def from_doc(cls, doc: Document, *, seen: PoolKey | None) -> PoolKey:
        stored = doc.get("last_used") or _NEVER
        stored = stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored
        # the admin's limit, capped by what the key's plan admits (plans.py)
        plan_limit = (doc.get("plan") or {}).get("concurrency_limit")
        limit = int(doc["max_concurrency"])
        if plan_limit is not None and int(plan_limit) > 0:
            limit = min(limit, int(plan_limit))
        return cls(
            key_id=doc["_id"],
            status=KeyStatus(doc["status"]),
            max_concurrency=limit,
            token=doc["api_key_encrypted"],
            last_used=max(stored, seen.last_used) if seen else stored,
        )


class KeyPool:
    """`acquire` / `release` without database writes; `heartbeat` keeps this replica's
    share and its view of the keys; `flush_usage` writes the usage counters."""

    def __init__(
        self,
        db: Database,
        *,
        cipher: KeyCipher,
        lifecycle: KeyLifecycle,
        settings: KeysSettings,
        replica_id: str,
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._lifecycle = lifecycle
        self._settings = settings
        self._book = LeaseBook(lease_seconds=settings.lease_seconds)
        self._shares = ReplicaShares(
            db,
            self._book,
            replica_id=replica_id,
            ttl_seconds=settings.replica_ttl_seconds,
            lease_seconds=settings.lease_seconds,
        )
        self._keys: dict[str, PoolKey] = {}
        # Keys a release just reported limited, leased no more here while the database
        # catches up; `_local_changes` is bumped whenever that set changes, so a refresh
        # whose read began before reads again rather than put back what it saw.
        self._limiting: set[str] = set()
        self._local_changes = 0
        # 429 back-offs of this replica: until when (monotonic), and how many in a row
        self._backoff_until: dict[str, float] = {}
        self._backoff_strikes: dict[str, int] = {}
        # Set when a slot may have come free here, so local waiters need not poll for it.
        self._slot_freed = asyncio.Event()

    @property
    def replica_id(self) -> str:
        return self._shares.replica_id

    async def join(self) -> None:
        """Register and take this replica's share; wait a few heartbeats for replicas
        that must first give part of theirs up (they do at their next heartbeat)."""
        await self.refresh_keys()
        await self._shares.read()
        give_up_at = time.monotonic() + 3 * self._settings.replica_heartbeat_seconds
        await self.heartbeat()
        while self._shares.short_of_targets() and time.monotonic() < give_up_at:
            await asyncio.sleep(self._settings.replica_heartbeat_seconds / 2)
            await self.heartbeat()

    async def heartbeat(self) -> None:
        """Re-read the keys, renew the registration and this replica's share."""
        await self.refresh_keys()
        limits = {key.key_id: key.max_concurrency for key in self._keys.values()}
        if await self._shares.renew(limits):
            self._slot_freed.set()
        KEYS_REPLICAS.set(self.replicas)
        KEYS_REPLICA_SLOTS.set(self.slots)

    async def refresh_keys(self) -> None:
        """This replica's view of the keys (state, limit, ciphertext) from MongoDB."""
        while True:
            changes = self._local_changes
            docs = await keys.pool_keys(self._db)
            if changes == self._local_changes:
                break
        self._keys = {
            doc["_id"]: PoolKey.from_doc(doc, seen=self._keys.get(doc["_id"])) for doc in docs
        }
        for key_id in self._limiting:
            self._mark_limited(key_id)

    async def acquire(self, request: KeyAcquireRequest) -> KeyAcquireResult:
        """A lease on the key with the most free slots here, then the least recently
        used, waiting briefly if all are busy; else the cooldown end, or no keys."""
        started = time.monotonic()
        deadline = started + self._settings.acquire_wait_seconds
        while True:
            lease = self._try_lease(request)
            if lease is not None:
                return self._answer(KeyAcquireResult.granted(lease), "granted", started)
            refusal = await self._refusal()
            if isinstance(refusal, KeyAcquireResult):
                return self._answer(refusal, refusal.outcome, started)
            remaining = deadline - time.monotonic()
            # Holding no slot of any active key, waiting here is pointless: the caller
            # asks again and another replica may answer.
            if remaining <= 0 or not self._holds_active_slots():
                until = utc_now() + timedelta(seconds=self._settings.busy_retry_seconds)
                return self._answer(KeyAcquireResult.cooling_down(until), "busy", started)
            await self._wait_for_slot(min(remaining, _POLL_SECONDS))

    async def release(self, release: KeyRelease) -> None:
        """Give the lease's slot back (exactly once) and apply its outcome to the key.

        A lease another replica granted (a release that fell back to the shared queue)
        is not here: only its outcome is applied; its slot comes back when it expires.
        """
        KEYS_RELEASES.labels(release.outcome.value).inc()
        lease = self._book.take(release.lease_id)
        if lease is not None:
            self._book.count_use(lease.key_id, at=utc_now())
            KEYS_LEASES_IN_FLIGHT.set(len(self._book))
            self._slot_freed.set()
        else:
            log.info("lease %s was already returned, expired or is not ours", release.lease_id)
        if release.outcome is ReleaseOutcome.LIMITED:
            await self._apply_limited(release)
        elif release.outcome is ReleaseOutcome.OK:
            self._backoff_strikes.pop(release.key_id, None)

    def expire_leases(self) -> int:
        """End the leases never released within the lease period."""
        expired = self._book.expire()
        if expired:
            KEYS_LEASES_EXPIRED.inc(expired)
            KEYS_LEASES_IN_FLIGHT.set(len(self._book))
            self._slot_freed.set()
            log.info("%d key lease(s) expired unreleased", expired)
        return expired

    async def flush_usage(self) -> int:
        """Write the uses counted since the last flush: one $inc per key used."""
        uses = self._book.take_uses()
        try:
            await keys.add_usage(
                self._db, {key_id: (use.count, use.last_used) for key_id, use in uses.items()}
            )
        except BaseException:
            self._book.return_uses(uses)
            raise
        counted = sum(use.count for use in uses.values())
        KEYS_USES_FLUSHED.inc(counted)
        return counted

    @property
    def replicas(self) -> int:
        """The replicas sharing the keys, as this one last read them."""
        return self._shares.replicas

    @property
    def slots(self) -> int:
        """The leases this replica may have in flight at once (over every key)."""
        return self._shares.total_allowance()

    def holds(self, lease_id: str) -> bool:
        """True while the lease is in flight here."""
        return lease_id in self._book

    def leases_here(self) -> dict[str, int]:
        """This replica's leases in flight per key (no I/O)."""
        return self._book.in_flight_by_key()

    async def in_flight_by_key(self) -> dict[str, int]:
        """Leases that may be in use per key, over every replica."""
        return await self._shares.in_flight_by_key()

    async def leave(self, *, drain_seconds: float) -> None:
        """Stop leasing, wait briefly for the leases in flight, deregister, flush uses."""
        await self._shares.leave(drain_seconds=drain_seconds)
        await self.flush_usage()

    def _try_lease(self, request: KeyAcquireRequest) -> KeyLease | None:
        # No await from the check to the grant: concurrent acquires cannot both take
        # this replica's last slot of a key.
        key = self._pick_key()
        if key is None:
            return None
        api_key = self._cipher.decrypt(key.token)
        lease_id, lease = self._book.grant(
            key.key_id, worker_id=request.worker_id, job_id=request.job_id
        )
        key.last_used = utc_now()
        KEYS_LEASES_IN_FLIGHT.set(len(self._book))
        return KeyLease(
            key_id=key.key_id,
            api_key=api_key,
            lease_id=lease_id,
            lease_expires_at=lease.expires_at,
            replica_id=self.replica_id,
        )

    def _pick_key(self) -> PoolKey | None:
        """The active key with the most slots free here, then least recently used."""
        free = {
            key.key_id: self._shares.allowance(key.key_id) - self._book.in_flight(key.key_id)
            for key in self._keys.values()
            if key.status is KeyStatus.ACTIVE
        }
        now = time.monotonic()
        usable = [
            self._keys[key_id]
            for key_id, n in free.items()
            if n > 0 and self._backoff_until.get(key_id, 0.0) <= now
        ]
        return min(usable, key=lambda k: (-free[k.key_id], k.last_used, k.key_id), default=None)

    def _holds_active_slots(self) -> bool:
        return any(
            self._shares.allowance(key.key_id) > 0
            for key in self._keys.values()
            if key.status is KeyStatus.ACTIVE
        )

    async def _refusal(self) -> KeyAcquireResult | None:
        """The answer when no slot was free, or None to wait (busy) and try again."""
        if any(key.status is KeyStatus.ACTIVE for key in self._keys.values()):
            return None  # busy: slots come back here, or with the next heartbeat
        # No active key as this replica last read them: ask the database.
        counts = await keys.count_by_status(self._db)
        reason = refusal_reason(counts)
        if reason is Refusal.BUSY:
            await self.refresh_keys()  # keys came back meanwhile: try them
            return None
        if await self._lifecycle.end_expired_cooldowns():
            await self.refresh_keys()
            return None
        if reason is Refusal.EXHAUSTED:
            await self._lifecycle.cool_down_if_exhausted()
        until = await keys.earliest_cooldown_end(self._db)
        if until is None:
            # No cooldown left: either nothing is usable, or another replica just
            # ended the cooldown (try again).
            return KeyAcquireResult.none_available() if reason is Refusal.NO_KEYS else None
        return KeyAcquireResult.cooling_down(until)

    async def _wait_for_slot(self, seconds: float) -> None:
        self._slot_freed.clear()
        try:
            async with asyncio.timeout(seconds):
                await self._slot_freed.wait()
        except TimeoutError:
            pass

    async def _apply_limited(self, release: KeyRelease) -> None:
        if release.status_code == TOO_MANY_CONCURRENT:
            self._back_off(release.key_id)
            return
        # This replica leases the key no more from now on, before the database says so.
        self._limiting.add(release.key_id)
        self._local_changes += 1
        self._mark_limited(release.key_id)
        try:
            key: Document | None = await keys.get_key(self._db, release.key_id)
            if key is None:
                return
            transition = transition_on_release(
                KeyStatus(key["status"]), release.outcome, release.status_code
            )
            reason = f"upstream answered {release.status_code or 'limited'}"
            if transition is not None and transition.target is KeyStatus.DISABLED:
                await self._lifecycle.disable_key(
                    release.key_id, transition, reason=f"{reason}: invalid key"
                )
            elif transition is not None:
                await self._lifecycle.limit_key(release.key_id, reason=reason)
        finally:
            self._limiting.discard(release.key_id)
            self._local_changes += 1
        await self.refresh_keys()

    def _back_off(self, key_id: str) -> None:
        """A 429: the key's plan allows fewer concurrent requests than we made. Lease it
        no more here for a few seconds (doubling while 429s go on), with no state
        change; the next good answer ends the back-off."""
        strikes = self._backoff_strikes.get(key_id, 0) + 1
        self._backoff_strikes[key_id] = strikes
        seconds = min(
            self._settings.backoff_seconds * 2 ** (strikes - 1), self._settings.backoff_max_seconds
        )
        self._backoff_until[key_id] = time.monotonic() + seconds
        KEYS_BACKOFFS.inc()
        log.info("key %s answered 429: backing off %.1fs", key_id, seconds)

    def _mark_limited(self, key_id: str) -> None:
        key = self._keys.get(key_id)
        if key is not None and key.status is KeyStatus.ACTIVE:
            key.status = KeyStatus.LIMITED

    @staticmethod
    def _answer(result: KeyAcquireResult, label: str, started: float) -> KeyAcquireResult:
        KEYS_ACQUIRE.labels(label).inc()
        KEYS_LEASE_WAIT.observe(time.monotonic() - started)
        return result
