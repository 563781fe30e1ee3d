"""Prometheus metrics of the key pool (module-level: created once per process)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram

from git44_common.contracts import KeyStatus

KEYS_BY_STATE = Gauge("git44_keys_by_state", "ScraperAPI keys by state.", ["state"])
KEYS_ACQUIRE = Counter(
    "git44_keys_acquire_total",
    "Key lease requests answered, by result (granted, busy, cooldown, no_keys).",
    ["result"],
)
KEYS_LEASE_WAIT = Histogram(
    "git44_keys_lease_wait_seconds",
    "Time an acquire spent waiting for a free key slot before its answer.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
)
KEYS_TRANSITIONS = Counter("git44_keys_transitions_total", "Key state transitions.", ["from", "to"])
KEYS_RELEASES = Counter("git44_keys_releases_total", "Lease releases, by outcome.", ["outcome"])
KEYS_LEASES_EXPIRED = Counter(
    "git44_keys_leases_expired_total", "Leases whose slot the sweeper gave back after expiry."
)

KEYS_SLOTS_RECOUNTED = Counter(
    "git44_keys_slots_recounted_total",
    "Slots given back because no lease held them (a replica died between two steps).",
)


def set_keys_by_state(counts: Mapping[KeyStatus, int]) -> None:
    for status in KeyStatus:
        KEYS_BY_STATE.labels(status.value).set(counts.get(status, 0))
