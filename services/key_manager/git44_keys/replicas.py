"""This replica's registration in `key_manager_replicas` and its allowance of every key (ADR 0010).

`renew()` is one heartbeat: write this replica's registration (its claims first), then
read every replica's, then set the allowances (the rules, and why they never add up
past a key's max_concurrency, are in `shares.py`). Leasing stops — every allowance is
0 — once the registration this replica last wrote has expired (the database could not
be written meanwhile): the others count its claims until its leases have expired too,
and then take its share.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from datetime import timedelta

from git44_common.clock import Clock, utc_now
from git44_common.mongo import Database
from git44_keys import shares
from git44_keys.crud import replicas
from git44_keys.leases import LeaseBook
from git44_keys.shares import Registration

log = logging.getLogger(__name__)


def new_replica_id() -> str:
    """Unique per process start; readable in logs and queue names (host, pid)."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(4)}"


class ReplicaShares:
    """The slots of each key this replica may lease, kept by heartbeats."""

    def __init__(
        self,
        db: Database,
        book: LeaseBook,
        *,
        replica_id: str,
        ttl_seconds: float,
        lease_seconds: float,
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._book = book
        self.replica_id = replica_id
        self._ttl = timedelta(seconds=ttl_seconds)
        self._lease = timedelta(seconds=lease_seconds)
        self._clock = clock
        self._monotonic = monotonic
        self._started_at = clock()
        self._lock = asyncio.Lock()
        self._allowance: dict[str, int] = {}
        self._wanted: dict[str, int] = {}
        self._view: list[str] = [replica_id]  # the live replicas, as last read
        self._others: list[Registration] = []  # not forgotten, as last read
        self._valid_until = float("-inf")  # monotonic: when the registration expires
        self._leaving = False

    @property
    def replicas(self) -> int:
        """How many replicas share the keys (this one included), as last read."""
        return len(self._view)

    def allowance(self, key_id: str) -> int:
        """The slots of `key_id` this replica may have leased at once right now."""
        return self._allowance.get(key_id, 0) if self._registered() else 0

    def total_allowance(self) -> int:
        return sum(self._allowance.values()) if self._registered() else 0

    def short_of_targets(self) -> bool:
        """True while another replica still holds part of what this one should."""
        return any(self._allowance.get(key_id, 0) < n for key_id, n in self._wanted.items())

    async def read(self) -> None:
        """Learn the other replicas before the first heartbeat (so it claims no more
        than its target among them)."""
        self._observe(await self._registrations())

    async def renew(self, max_concurrency: Mapping[str, int]) -> bool:
        """One heartbeat (`max_concurrency`: key id → limit); True when an allowance grew."""
        async with self._lock:
            if self._leaving:
                return False
            self._registered()  # an expired registration first loses its allowances
            wanted = self._targets(max_concurrency)
            claimed = shares.claims(
                allowance=self._allowance, in_flight=self._book.in_flight_by_key(), wanted=wanted
            )
            started = self._monotonic()
            await self._save(claimed)
            self._valid_until = started + self._ttl.total_seconds()
            forgotten = self._observe(await self._registrations())
            self._wanted = self._targets(max_concurrency)
            before, self._allowance = (
                self._allowance,
                shares.allowances(
                    wanted=self._wanted,
                    claimed=claimed,
                    max_concurrency=max_concurrency,
                    others=[other.claims for other in self._others],
                ),
            )
            if forgotten:
                await self._forget(forgotten)
        return any(n > before.get(key_id, 0) for key_id, n in self._allowance.items())

    async def in_flight_by_key(self) -> dict[str, int]:
        """Leases that may be in use, per key, over every replica: this one's now, the
        others' as their last heartbeat reported (a gone one's until it is forgotten)."""
        now = self._clock()
        counts = dict(self._book.in_flight_by_key())
        for reg in await self._registrations():
            if reg.replica_id != self.replica_id and not reg.forgotten(now):
                for key_id, n in reg.in_flight.items():
                    counts[key_id] = counts.get(key_id, 0) + n
        return counts

    async def leave(self, *, drain_seconds: float) -> None:
        """Stop leasing, give the leases in flight `drain_seconds` to come back, then
        leave: at once when none is left, else once they have expired."""
        self._leaving = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(drain_seconds):
                await self._book.emptied.wait()
        async with self._lock:
            latest = self._book.latest_expiry()
            if latest is None:
                await replicas.delete_registration(self._db, self.replica_id)
                return
            in_flight = self._book.in_flight_by_key()
            now = self._clock()
            await replicas.save_registration(
                self._db, self.replica_id, started_at=self._started_at, now=now,
                expires_at=now, forget_at=latest, claims=in_flight, in_flight=in_flight,
            )  # fmt: skip
            log.info("left with %d lease(s) in flight until %s", len(self._book), latest)

    def _registered(self) -> bool:
        if self._leaving:
            return False
        if self._monotonic() < self._valid_until:
            return True
        if self._allowance:
            log.warning("key-manager registration expired: leasing stops until it is renewed")
            self._allowance = {}  # every slot must be earned again by a heartbeat
        return False

    def _targets(self, max_concurrency: Mapping[str, int]) -> dict[str, int]:
        return shares.targets(
            max_concurrency=max_concurrency, replicas=self._view, me=self.replica_id
        )

    async def _save(self, claimed: Mapping[str, int]) -> None:
        now = self._clock()
        await replicas.save_registration(
            self._db,
            self.replica_id,
            started_at=self._started_at,
            now=now,
            expires_at=now + self._ttl,
            forget_at=now + self._ttl + self._lease,
            claims=claimed,
            in_flight=self._book.in_flight_by_key(),
        )

    async def _registrations(self) -> list[Registration]:
        return [Registration.from_doc(doc) for doc in await replicas.list_registrations(self._db)]

    def _observe(self, registrations: list[Registration]) -> list[Registration]:
        """Take in what was read; the registrations now forgotten."""
        now = self._clock()
        others = [reg for reg in registrations if reg.replica_id != self.replica_id]
        self._others = [reg for reg in others if not reg.forgotten(now)]
        view = shares.live_replicas(self._others, me=self.replica_id, now=now)
        if view != self._view:
            log.info("key-manager replicas: %s", ", ".join(view))
        self._view = view
        return [reg for reg in others if reg.forgotten(now)]

    async def _forget(self, forgotten: list[Registration]) -> None:
        ids = [reg.replica_id for reg in forgotten]
        cutoff = self._clock() - shares.CLOCK_SLACK
        await replicas.delete_registrations(self._db, ids, forgotten_before=cutoff)
        log.info("forgot gone key-manager replica(s): %s", ", ".join(ids))
