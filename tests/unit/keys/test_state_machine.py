"""The key state machine's rules, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from git44_common.contracts import KeyStatus, ReleaseOutcome
from git44_keys.state_machine import (
    COOL_DOWN,
    LIMIT,
    RECOVER,
    KeyEventName,
    Refusal,
    can_transition,
    cooldown_end,
    cooldown_over,
    pool_exhausted,
    refusal_reason,
    transition_on_release,
)

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
A, L, C, D = KeyStatus.ACTIVE, KeyStatus.LIMITED, KeyStatus.COOLDOWN, KeyStatus.DISABLED


def test_a_limited_outcome_limits_an_active_key() -> None:
    assert transition_on_release(A, ReleaseOutcome.LIMITED) == LIMIT
    assert LIMIT.event is KeyEventName.LIMITED


@pytest.mark.parametrize("outcome", [ReleaseOutcome.OK, ReleaseOutcome.ERROR])
def test_other_outcomes_change_nothing(outcome: ReleaseOutcome) -> None:
    assert transition_on_release(A, outcome) is None


@pytest.mark.parametrize("status", [L, C, D])
def test_a_late_limited_outcome_leaves_a_non_active_key_alone(status: KeyStatus) -> None:
    assert transition_on_release(status, ReleaseOutcome.LIMITED) is None


def test_the_automatic_transitions_form_the_cycle() -> None:
    assert [(t.source, t.target) for t in (LIMIT, COOL_DOWN, RECOVER)] == [(A, L), (L, C), (C, A)]
    assert can_transition(A, L)
    assert can_transition(L, C)
    assert can_transition(C, A)
    assert not can_transition(A, C)
    assert not can_transition(L, A)
    assert not can_transition(D, A)


@pytest.mark.parametrize(
    ("counts", "exhausted"),
    [
        ({A: 0, L: 2}, True),
        ({A: 1, L: 2}, False),
        ({A: 0, L: 0, C: 3}, False),
        ({A: 0, L: 0}, False),
        ({L: 1, D: 4}, True),
    ],
)
def test_the_pool_is_exhausted_when_no_active_key_remains(
    counts: dict[KeyStatus, int], exhausted: bool
) -> None:
    assert pool_exhausted(counts) is exhausted


def test_the_cooldown_lasts_the_configured_time() -> None:
    until = cooldown_end(NOW, 3600)
    assert until == NOW + timedelta(hours=1)
    assert not cooldown_over(until, NOW + timedelta(minutes=59))
    assert cooldown_over(until, until)
    assert cooldown_over(None, NOW)  # a cooldown without an end never strands a key


@pytest.mark.parametrize(
    ("counts", "reason"),
    [
        ({A: 2, L: 1}, Refusal.BUSY),
        ({A: 0, L: 2}, Refusal.EXHAUSTED),
        ({A: 0, L: 1, C: 2}, Refusal.EXHAUSTED),
        ({A: 0, C: 3}, Refusal.COOLING_DOWN),
        ({D: 2}, Refusal.NO_KEYS),
        ({}, Refusal.NO_KEYS),
    ],
)
def test_why_no_key_was_leased(counts: dict[KeyStatus, int], reason: Refusal) -> None:
    assert refusal_reason(counts) is reason
