"""Poll policies: the seed's jittered 3–5 s, and the adaptive one that learns."""

from __future__ import annotations

import random

from git44_worker.domain.poll_policy import (
    AdaptivePollPolicy,
    FixedPollPolicy,
    build_poll_policy,
    quantile,
    target_quantile,
)


def fixed(seed: int = 1) -> FixedPollPolicy:
    return FixedPollPolicy(min_seconds=3.0, max_seconds=5.0, rng=random.Random(seed))


def test_the_fixed_policy_waits_a_jittered_3_to_5_seconds() -> None:
    policy = fixed()
    delays = [policy.next_delay(poll_number=n % 8 + 1, elapsed=0.0) for n in range(200)]
    assert all(3.0 <= d <= 5.0 for d in delays)
    assert len({round(d, 3) for d in delays}) > 100  # jittered, not one value


def test_quantiles_interpolate() -> None:
    assert quantile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert quantile([1.0, 3.0], 0.5) == 2.0
    assert quantile([7.0], 0.9) == 7.0
    assert [target_quantile(n) for n in (1, 2, 3)] == [0.5, 0.75, 0.875]


def test_the_adaptive_policy_behaves_like_fixed_until_it_has_seen_enough_tasks() -> None:
    policy = AdaptivePollPolicy(fallback=fixed(), min_samples=3, samples=[6.0, 6.0])
    assert 3.0 <= policy.next_delay(poll_number=1, elapsed=0.0) <= 5.0


def test_the_adaptive_first_poll_waits_for_the_median_processing_time() -> None:
    policy = AdaptivePollPolicy(
        fallback=fixed(), min_samples=3, samples=[4.0, 6.0, 8.0, 10.0, 12.0]
    )
    assert policy.next_delay(poll_number=1, elapsed=0.5) == 7.5  # p50 = 8, minus elapsed
    # the second poll aims at p75 (10), measured from creation
    assert policy.next_delay(poll_number=2, elapsed=8.2) == 10.0 - 8.2


def test_the_adaptive_policy_never_polls_faster_than_its_floor_or_slower_than_its_cap() -> None:
    policy = AdaptivePollPolicy(fallback=fixed(), min_samples=1, samples=[5.0, 100.0])
    assert policy.next_delay(poll_number=3, elapsed=99.9) == 1.0  # a third of the fixed minimum
    assert policy.next_delay(poll_number=1, elapsed=0.0) == 15.0  # three fixed maxima


def test_an_observed_success_counts_at_the_middle_of_its_uncertainty() -> None:
    policy = AdaptivePollPolicy(fallback=fixed(), min_samples=1)
    policy.observe(last_processing_at=4.0, success_at=8.0)
    assert policy.sample_count == 1
    assert policy.next_delay(poll_number=1, elapsed=0.0) == 6.0


def test_adaptive_polls_fewer_times_than_fixed_for_the_same_tasks() -> None:
    rng = random.Random(3)
    durations = [rng.uniform(3.0, 8.0) for _ in range(300)]
    adaptive = AdaptivePollPolicy(fallback=fixed(), min_samples=5)

    def polls_until_done(policy: FixedPollPolicy | AdaptivePollPolicy, ready: float) -> int:
        elapsed, polls, last = 0.0, 0, 0.0
        while True:
            polls += 1
            elapsed += policy.next_delay(poll_number=polls, elapsed=elapsed)
            if elapsed >= ready:
                policy.observe(last_processing_at=last, success_at=elapsed)
                return polls
            last = elapsed

    fixed_polls = sum(polls_until_done(fixed(), d) for d in durations[50:])
    for d in durations[:50]:
        polls_until_done(adaptive, d)
    adaptive_polls = sum(polls_until_done(adaptive, d) for d in durations[50:])
    assert adaptive_polls < fixed_polls


def test_the_policy_is_chosen_by_name() -> None:
    assert isinstance(
        build_poll_policy("fixed", min_seconds=3, max_seconds=5, min_samples=5), FixedPollPolicy
    )
    adaptive = build_poll_policy("adaptive", min_seconds=3, max_seconds=5, min_samples=5)
    assert isinstance(adaptive, AdaptivePollPolicy)
