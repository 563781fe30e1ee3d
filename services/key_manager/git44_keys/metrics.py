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
KEYS_BACKOFFS = Counter(
    "git44_keys_backoffs_total",
    "429s (too many concurrent requests on a key's plan): the key backed off, no state change.",
)
KEYS_PLAN_CHECKS = Counter(
    "git44_keys_plan_checks_total",
    "Reads of a key's ScraperAPI /account, by result (ok, reserve: limited before it ran "
    "out, invalid: disabled, error).",
    ["result"],
)
KEYS_RELEASES = Counter("git44_keys_releases_total", "Lease releases, by outcome.", ["outcome"])
KEYS_LEASES_EXPIRED = Counter(
    "git44_keys_leases_expired_total",
    "Leases of this replica that ended by expiry, never released.",
)
KEYS_LEASES_IN_FLIGHT = Gauge(
    "git44_keys_leases_in_flight", "Leases this replica has granted and not got back."
)
KEYS_REPLICA_SLOTS = Gauge(
    "git44_keys_replica_slots",
    "Slots (over every key) this replica may lease at once: its share of max_concurrency.",
)
KEYS_REPLICAS = Gauge(
    "git44_keys_replicas", "key-manager replicas sharing the keys, as this replica sees them."
)
KEYS_USES_FLUSHED = Counter(
    "git44_keys_uses_flushed_total", "Key uses written to the keys' usage counters."
)


def set_keys_by_state(counts: Mapping[KeyStatus, int]) -> None:
    for status in KeyStatus:
        KEYS_BY_STATE.labels(status.value).set(counts.get(status, 0))
