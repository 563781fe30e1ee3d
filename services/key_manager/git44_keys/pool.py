"""The key pool: leasing keys to workers, taking them back, and expiring stale leases."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import datetime, timedelta

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
from git44_keys.crud import keys, leases
from git44_keys.crypto import KeyCipher
from git44_keys.lifecycle import KeyLifecycle
from git44_keys.metrics import (
    KEYS_ACQUIRE,
    KEYS_LEASE_WAIT,
    KEYS_LEASES_EXPIRED,
    KEYS_RELEASES,
    KEYS_SLOTS_RECOUNTED,
)
from git44_keys.state_machine import Refusal, refusal_reason, transition_on_release

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.1


class KeyPool:
    """`acquire` / `release` / `sweep_expired_leases`, safe to run in several replicas."""

    def __init__(
        self,
        db: Database,
        *,
        cipher: KeyCipher,
        lifecycle: KeyLifecycle,
        settings: KeysSettings,
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._lifecycle = lifecycle
        self._settings = settings
        # Set when this replica frees a slot, so local waiters need not poll for it.
        self._slot_freed = asyncio.Event()
        # Keys whose slots outnumbered their leases at the last recount:
        # key id → (in_flight, updated_at, leases).
        self._suspects: dict[str, tuple[int, datetime, int]] = {}

    async def acquire(self, request: KeyAcquireRequest) -> KeyAcquireResult:
        """A lease on the least-loaded, least recently used key, waiting briefly if all
        are busy; else the cooldown end, or no keys."""
        started = time.monotonic()
        deadline = started + self._settings.acquire_wait_seconds
        while True:
            lease = await self._try_lease(request)
            if lease is not None:
                return self._answer(KeyAcquireResult.granted(lease), "granted", started)
            refusal = await self._refusal()
            if isinstance(refusal, KeyAcquireResult):
                return self._answer(refusal, refusal.outcome, started)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                until = utc_now() + timedelta(seconds=self._settings.busy_retry_seconds)
                return self._answer(KeyAcquireResult.cooling_down(until), "busy", started)
            await self._wait_for_slot(min(remaining, _POLL_SECONDS))

    async def release(self, release: KeyRelease) -> None:
        """Give the lease's slot back (exactly once) and apply its outcome to the key."""
        KEYS_RELEASES.labels(release.outcome.value).inc()
        now = utc_now()
        lease = await leases.take_lease(self._db, release.lease_id)
        if lease is not None:
            await keys.finish_use(self._db, lease["key_id"], now=now)
            self._slot_freed.set()
        else:
            log.info("lease %s was already returned or expired", release.lease_id)
        if release.outcome is ReleaseOutcome.LIMITED:
            await self._apply_limited(release)

    async def sweep_expired_leases(self) -> int:
        """Give back the slots of expired leases; each one exactly once, across replicas."""
        now = utc_now()
        returned = 0
        for lease_id in await leases.expired_lease_ids(self._db, now):
            lease = await leases.take_expired_lease(self._db, lease_id, now)
            if lease is None:
                continue  # released, or swept by another replica, meanwhile
            await keys.return_slot(self._db, lease["key_id"], now=now)
            returned += 1
        if returned:
            KEYS_LEASES_EXPIRED.inc(returned)
            self._slot_freed.set()
            log.info("gave back %d slot(s) of expired key leases", returned)
        return returned

    async def recount_leaked_slots(self) -> int:
        """Give back slots no lease holds: a replica died between taking a slot and
        recording its lease, or between deleting a lease and giving its slot back.

        A key is recounted from its leases when it has not changed for a lease period
        and showed the same counter, change time and lease count at the previous call
        too — then no step on it is still on its way (a release between its two
        updates would have changed the count or the time). The update is a
        compare-and-set on both, so a slot taken meanwhile keeps the key as it is.
        """
        now = utc_now()
        unchanged_since = now - timedelta(seconds=self._settings.lease_seconds)
        suspects: dict[str, tuple[int, datetime, int]] = {}
        given_back = 0
        for key in await keys.idle_keys_holding_slots(self._db, unchanged_since=unchanged_since):
            held = await leases.count_key_leases(self._db, key["_id"])
            if held >= key["in_flight"]:
                continue
            seen = (key["in_flight"], key["updated_at"], held)
            suspects[key["_id"]] = seen
            if self._suspects.get(key["_id"]) != seen:
                continue  # first sighting: look again next round
            recounted = await keys.compare_and_set(
                self._db,
                key["_id"],
                expected={"in_flight": key["in_flight"], "updated_at": key["updated_at"]},
                update={"$set": {"in_flight": held, "updated_at": now}},
            )
            if recounted is not None:
                given_back += key["in_flight"] - held
                del suspects[key["_id"]]
                log.warning(
                    "key %s held %d slot(s) with %d lease(s): recounted",
                    key["_id"],
                    key["in_flight"],
                    held,
                )
        self._suspects = suspects
        if given_back:
            KEYS_SLOTS_RECOUNTED.inc(given_back)
            self._slot_freed.set()
        return given_back

    async def _try_lease(self, request: KeyAcquireRequest) -> KeyLease | None:
        now = utc_now()
        key = await keys.claim_slot(self._db, now)
        if key is None:
            return None
        lease_id = uuid.uuid4().hex
        expires_at = now + timedelta(seconds=self._settings.lease_seconds)
        try:
            api_key = self._cipher.decrypt(key["api_key_encrypted"])
            await leases.insert_lease(
                self._db,
                lease_id=lease_id,
                key_id=key["_id"],
                worker_id=request.worker_id,
                job_id=request.job_id,
                now=now,
                expires_at=expires_at,
            )
        except BaseException:
            await keys.return_slot(self._db, key["_id"], now=now)
            raise
        return KeyLease(
            key_id=key["_id"], api_key=api_key, lease_id=lease_id, lease_expires_at=expires_at
        )

    async def _refusal(self) -> KeyAcquireResult | None:
        """The answer when no slot was free, or None to wait (busy) and try again."""
        counts = await keys.count_by_status(self._db)
        reason = refusal_reason(counts)
        if reason is Refusal.BUSY:
            return None
        if await self._lifecycle.end_expired_cooldowns():
            return None  # keys just came back: try them
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
        key: Document | None = await keys.get_key(self._db, release.key_id)
        if key is None:
            return
        transition = transition_on_release(KeyStatus(key["status"]), release.outcome)
        if transition is not None:
            await self._lifecycle.limit_key(
                release.key_id, reason=f"upstream answered {release.status_code or 'limited'}"
            )

    @staticmethod
    def _answer(result: KeyAcquireResult, label: str, started: float) -> KeyAcquireResult:
        KEYS_ACQUIRE.labels(label).inc()
        KEYS_LEASE_WAIT.observe(time.monotonic() - started)
        return result
