"""Each replica's share of every key's max_concurrency, as pure rules (no I/O; applied
by `replicas.py`; ADR 0010).

A key-manager replica leases keys from its own memory, within its *allowance* of each
key, and registers in `key_manager_replicas` with a heartbeat. The allowances never add up past
a key's max_concurrency, even while replicas come and go:

- every replica computes the same *targets* from the live replicas (sorted ids):
  replica i of n gets max_concurrency // n, plus one slot for `max_concurrency % n`
  of them, rotated per key (so with more replicas than slots some get 0 of a key, and
  not always the same ones);
- a heartbeat first *writes* the replica's claim on each key — the largest of its
  allowance, its leases in flight and its target — and only then *reads* the others'
  claims; the new allowance is min(target, claim, max_concurrency − the others'
  claims). Of two replicas raising their allowances at once, the one that reads last
  sees the other's claim, so they never both count on the same slot;
- a replica's leases stay within its claim: a claim shrinks only once the leases in
  flight fit under it, and an allowance grows only up to a claim already written;
- a replica that stopped heartbeating loses its target at once, but its claims count
  until `forget_at` (its registration's expiry plus the lease period): it grants
  nothing once its registration has expired, so by then all its leases have expired.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# `forget_at` is the writer's clock, the reader compares it with its own: this much
# skew between replicas is tolerated.
CLOCK_SLACK = timedelta(seconds=5)


def target_share(*, key_id: str, max_concurrency: int, replicas: Sequence[str], me: str) -> int:
    """The slots of a key that replica `me` should hold among `replicas` (live ones)."""
    ordered = sorted(set(replicas) | {me})
    base, extra = divmod(max_concurrency, len(ordered))
    # The remainder goes to `extra` consecutive replicas, starting at a per-key offset.
    offset = zlib.crc32(key_id.encode()) % len(ordered)
    position = (ordered.index(me) - offset) % len(ordered)
    return base + (1 if position < extra else 0)


def targets(
    *, max_concurrency: Mapping[str, int], replicas: Sequence[str], me: str
) -> dict[str, int]:
    """`target_share` of every key (key id → max_concurrency)."""
    return {
        key_id: target_share(key_id=key_id, max_concurrency=limit, replicas=replicas, me=me)
        for key_id, limit in max_concurrency.items()
    }


def claims(
    *, allowance: Mapping[str, int], in_flight: Mapping[str, int], wanted: Mapping[str, int]
) -> dict[str, int]:
    """What a replica writes before it reads: per key, at least every slot it uses or
    may use until its next heartbeat (keys at 0 left out)."""
    claimed = {}
    for key_id in sorted({*allowance, *in_flight, *wanted}):
        held = max(allowance.get(key_id, 0), in_flight.get(key_id, 0), wanted.get(key_id, 0))
        if held > 0:
            claimed[key_id] = held
    return claimed


def allowances(
    *,
    wanted: Mapping[str, int],
    claimed: Mapping[str, int],
    max_concurrency: Mapping[str, int],
    others: Iterable[Mapping[str, int]],
) -> dict[str, int]:
    """The slots of each key this replica may lease now: its target, within the claim it
    wrote, and within what the other replicas' claims leave over (keys at 0 left out)."""
    taken: Counter[str] = Counter()
    for other in others:
        taken.update(other)
    allowed = {}
    for key_id, limit in max_concurrency.items():
        free = min(wanted.get(key_id, 0), claimed.get(key_id, 0), limit - taken[key_id])
        if free > 0:
            allowed[key_id] = free
    return allowed


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass(frozen=True)
class Registration:
    """A replica's registration as another replica reads it."""

    replica_id: str
    expires_at: datetime
    forget_at: datetime
    claims: Mapping[str, int]
    in_flight: Mapping[str, int]

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Registration:
        return cls(
            replica_id=str(doc["_id"]),
            expires_at=_as_utc(doc["expires_at"]),
            forget_at=_as_utc(doc["forget_at"]),
            claims={str(k): int(v) for k, v in (doc.get("claims") or {}).items()},
            in_flight={str(k): int(v) for k, v in (doc.get("in_flight") or {}).items()},
        )

    def live(self, now: datetime) -> bool:
        """Heartbeating: it gets a target share."""
        return self.expires_at > now

    def forgotten(self, now: datetime) -> bool:
        """Gone, and none of its leases can still be in use: its claims no longer count."""
        return now > self.forget_at + CLOCK_SLACK


def live_replicas(registrations: Iterable[Registration], *, me: str, now: datetime) -> list[str]:
    """The replicas that share the keys: the live ones and `me`, sorted."""
    return sorted({me, *(reg.replica_id for reg in registrations if reg.live(now))})
