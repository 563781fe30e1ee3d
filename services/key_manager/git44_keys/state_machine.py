"""The ScraperAPI key state machine, as pure rules (no I/O; applied by `lifecycle`).

    active ──403 (credits exhausted)────► limited
    limited ──no active key remains─────► cooldown (cooldown_until = now + setting)
    cooldown ──cooldown_until passed────► active (limited_at, cooldown_until cleared)
    any but disabled ──401 (invalid key)► disabled (audited; never cycled back)
    any ──admin reset───────────────────► active
    disabled: never leased, left alone by the rules above.

A 429 (too many concurrent requests on the key's plan) is transient: no state change,
the replica that granted the lease backs off that key for a few seconds (`pool.py`).

While every usable key is cooling down, `acquire` answers the earliest cooldown end;
while some active key exists but all are at `max_concurrency`, it answers "busy".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from git44_common.contracts import KeyStatus, ReleaseOutcome


class KeyEventName(StrEnum):
    """What happened to a key; the routing key of its event is `key.<name>`."""

    ADDED = "added"
    DELETED = "deleted"
    LIMITED = "limited"
    COOLDOWN = "cooldown"
    RECOVERED = "recovered"
    RESET = "reset"
    DISABLED = "disabled"


class Refusal(StrEnum):
    """Why `acquire` found no free key."""

    BUSY = "busy"  # active keys exist, all at max_concurrency
    COOLING_DOWN = "cooldown"  # no active key, some cooling down
    EXHAUSTED = "exhausted"  # no active key, some limited: the pool must enter cooldown
    NO_KEYS = "no_keys"  # nothing usable configured


@dataclass(frozen=True)
class Transition:
    source: KeyStatus
    target: KeyStatus
    event: KeyEventName


LIMIT = Transition(KeyStatus.ACTIVE, KeyStatus.LIMITED, KeyEventName.LIMITED)
COOL_DOWN = Transition(KeyStatus.LIMITED, KeyStatus.COOLDOWN, KeyEventName.COOLDOWN)
RECOVER = Transition(KeyStatus.COOLDOWN, KeyStatus.ACTIVE, KeyEventName.RECOVERED)

_ALLOWED = {(t.source, t.target) for t in (LIMIT, COOL_DOWN, RECOVER)}


def can_transition(source: KeyStatus, target: KeyStatus) -> bool:
    """True for the automatic transitions (an admin reset may go anywhere → active)."""
    return (source, target) in _ALLOWED


# ScraperAPI's answers about the key itself (the release's status code)
INVALID_KEY = 401
TOO_MANY_CONCURRENT = 429


def disable(source: KeyStatus) -> Transition:
    return Transition(source, KeyStatus.DISABLED, KeyEventName.DISABLED)


def transition_on_release(
    status: KeyStatus, outcome: ReleaseOutcome, status_code: int | None = None
) -> Transition | None:
    """The transition a released lease's outcome causes, if any: a 401 disables the
    key, a 429 changes nothing (a back-off), any other refusal limits an active key."""
    if outcome is not ReleaseOutcome.LIMITED:
        return None
    if status_code == INVALID_KEY:
        return None if status is KeyStatus.DISABLED else disable(status)
    if status_code == TOO_MANY_CONCURRENT:
        return None
    if status is KeyStatus.ACTIVE:
        return LIMIT
    return None


def pool_exhausted(counts: Mapping[KeyStatus, int]) -> bool:
    """No active key remains while some are limited: every limited key cools down."""
    return counts.get(KeyStatus.ACTIVE, 0) == 0 and counts.get(KeyStatus.LIMITED, 0) > 0


def cooldown_end(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)


def cooldown_over(cooldown_until: datetime | None, now: datetime) -> bool:
    """A cooldown without an end (should not happen) is over: never strand a key."""
    return cooldown_until is None or cooldown_until <= now


def refusal_reason(counts: Mapping[KeyStatus, int]) -> Refusal:
    """Why no key could be leased, given the pool's counts by status."""
    if counts.get(KeyStatus.ACTIVE, 0) > 0:
        return Refusal.BUSY
    if counts.get(KeyStatus.LIMITED, 0) > 0:
        return Refusal.EXHAUSTED
    if counts.get(KeyStatus.COOLDOWN, 0) > 0:
        return Refusal.COOLING_DOWN
    return Refusal.NO_KEYS
