"""When to poll a RemoveSora task (pure: no I/O, the clock is passed in).

Three policies, chosen by `WORKER_POLL_POLICY`:

- `fixed` (the seed's): every poll after a uniformly jittered 3–5 s.
- `adaptive`: the first poll at the median of the observed ready times, later polls
  at ever higher quantiles (p75, p87.5, ...). A success only narrows its ready time to
  the interval between the last "processing" answer and the "success" answer; the
  midpoint stands for it, which biases the estimate low (a success at the first poll
  only says "ready before now"), so it polls more often than it needs to.
- `frontier` (the default): as few polls as the ready→success latency allows, at the
  frontier of what two polls can do. It keeps the intervals themselves, for the last
  `window` successes, and estimates the distribution of ready times from them with
  Turnbull's self-consistent NPMLE (`estimate_ready_times`): the most likely
  distribution given only that each ready time lies in its interval. The first poll
  goes at its `first_quantile` q (0.85, `WORKER_POLL_FIRST_QUANTILE`), the second just
  after the observed maximum, so a task needs 1 + (1 − q) polls on average; a task
  ready at its first poll waits at most the distance between its ready time and that
  poll, a later one at most the distance to the maximum. For ready times uniform on
  [a, a + w] that is 2 + (1 − q) calls per task and a median wait of (2q − 1)·w: on
  the bench's 2–4 s tasks 2.15 calls and 0.70 s at q = 0.85, the middle of the band
  (q from 0.8 to 0.9) where both of issue 14's targets (2.2 calls, 0.8 s) hold. Each
  first poll is moved by up to ±5 % at random: the exploration that keeps the
  estimate honest around the quantile and lets it follow tasks getting faster (first
  polls keep succeeding and the quantile comes down) or slower (a task still
  processing after the maximum raises it). A task slower than any in the window is
  looked at at gaps doubling from the maximum, then on the fixed schedule. Two polls
  suit tasks whose times are bunched, like RemoveSora's: the latency grows with the
  spread of the ready times (a task ready at 1 s and polled at 17 s waits 16 s), so
  for widely spread times `fixed` or `adaptive` answer sooner, at more calls.

Both ends of an interval are measured when a poll is sent, the time that scheduling
controls. `adaptive` and `frontier` behave like `fixed` until they have seen
`min_samples` successes; a starting worker gives them the last `LEARNING_WINDOW`
intervals its predecessors stored with their successes (`ready_window`), and `frontier`
the time their first polls had been tracked to (`first_poll_at`), so a restart or a
new replica does not learn again. No policy decides how many polls a job gets:
the job's `max_polls` does.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable
from typing import Protocol

from git44_worker.domain.ready_times import ReadyTimes, estimate_ready_times


class PollPolicy(Protocol):
    def next_delay(self, *, poll_number: int, elapsed: float) -> float:
        """Seconds to wait before poll `poll_number` (1-based), `elapsed` s after creation."""
        ...

    def observe(
        self, *, last_processing_at: float, success_at: float, on_schedule: bool = True
    ) -> None:
        """A task was seen processing at `last_processing_at` and done at `success_at`;
        `on_schedule`: its first poll went out when this policy planned it."""
        ...

    def learn(
        self, intervals: Iterable[tuple[float, float]], *, first_poll_at: float | None = None
    ) -> None:
        """What earlier workers learnt: (last processing, success) pairs of their tasks,
        and where they had moved their first polls to (None: not known)."""
        ...

    @property
    def first_poll_at(self) -> float | None:
        """Where first polls go now, before jitter (None: not decided by learning)."""
        ...

    def estimated_ready_after(self, elapsed: float) -> float | None:
        """Seconds after creation a task still processing `elapsed` s after creation
        should be ready (the median of what was learnt); None when unknown."""
        ...


class FixedPollPolicy:
    """A jittered interval between `min_seconds` and `max_seconds` for every poll."""

    def __init__(self, *, min_seconds: float, max_seconds: float, rng: random.Random) -> None:
        self.min_seconds = min_seconds
        self.max_seconds = max_seconds
        self._rng = rng

    def next_delay(self, *, poll_number: int, elapsed: float) -> float:
        return self._rng.uniform(self.min_seconds, self.max_seconds)

    def observe(
        self, *, last_processing_at: float, success_at: float, on_schedule: bool = True
    ) -> None:
        return None

    def learn(
        self, intervals: Iterable[tuple[float, float]], *, first_poll_at: float | None = None
    ) -> None:
        return None

    @property
    def first_poll_at(self) -> float | None:
        return None

    def estimated_ready_after(self, elapsed: float) -> float | None:
        return None


def quantile(sorted_values: list[float], q: float) -> float:
    """The `q` quantile (0..1) of a non-empty sorted list, linearly interpolated."""
    position = q * (len(sorted_values) - 1)
    lower = int(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    fraction = position - lower
    return sorted_values[lower] * (1 - fraction) + sorted_values[upper] * fraction


def target_quantile(poll_number: int) -> float:
    """p50 for the first poll, then halfway to 1 each time: p75, p87.5, ..."""
    return 1.0 - 0.5**poll_number


class AdaptivePollPolicy:
    """Polls at quantiles of the observed processing times (see the module docstring)."""

    def __init__(
        self,
        *,
        fallback: FixedPollPolicy,
        min_samples: int = 5,
        window: int = 200,
        samples: Iterable[float] = (),
    ) -> None:
        self._fallback = fallback
        self._min_samples = min_samples
        self._samples: deque[float] = deque(samples, maxlen=window)
        # Never poll more often than a third of the fixed minimum: a floor for the
        # tail, where the quantiles run out.
        self._floor = fallback.min_seconds / 3

    @property
    def sample_count(self) -> int:
        return len(self._samples)

    def next_delay(self, *, poll_number: int, elapsed: float) -> float:
        if len(self._samples) < self._min_samples:
            return self._fallback.next_delay(poll_number=poll_number, elapsed=elapsed)
        target = quantile(sorted(self._samples), target_quantile(poll_number))
        delay = target - elapsed
        return min(max(delay, self._floor), self._fallback.max_seconds * 3)

    def observe(
        self, *, last_processing_at: float, success_at: float, on_schedule: bool = True
    ) -> None:
        low = max(0.0, min(last_processing_at, success_at))
        self._samples.append((low + success_at) / 2)

    def learn(
        self, intervals: Iterable[tuple[float, float]], *, first_poll_at: float | None = None
    ) -> None:
        for last_processing_at, success_at in intervals:
            self.observe(last_processing_at=last_processing_at, success_at=success_at)

    @property
    def first_poll_at(self) -> float | None:
        return None

    def estimated_ready_after(self, elapsed: float) -> float | None:
        if len(self._samples) < self._min_samples:
            return None
        return max(elapsed, quantile(sorted(self._samples), 0.5))


# How many of the latest successes the learning policies keep (a starting worker reads
# as many from the database).
LEARNING_WINDOW = 100
# The first poll moves by up to ±JITTER of its time (exploration; free on average), the
# second waits MARGIN past the observed maximum (the NPMLE's maximum runs a little low).
JITTER = 0.05
MARGIN = 0.05
# Each success moves the first poll's time by up to STEP of itself (see `_track`); the
# first ones a worker tracks by more, FIRST_STEP / sqrt(n) for its n-th, so an estimate
# made from the fixed schedule's polls alone (all "ready before", a thin basis that puts
# the first poll too early) is corrected within a few dozen jobs, not a few hundred.
STEP = 0.02
FIRST_STEP = 0.2
RESUMED_TRACKING = int((FIRST_STEP / STEP) ** 2)


class FrontierPollPolicy:
    """The first poll at a high quantile of the estimated ready times, the second just
    after the observed maximum (see the module docstring)."""

    def __init__(
        self,
        *,
        fallback: FixedPollPolicy,
        rng: random.Random,
        min_samples: int = 5,
        first_quantile: float = 0.85,
        window: int = LEARNING_WINDOW,
        intervals: Iterable[tuple[float, float]] = (),
    ) -> None:
        self._fallback = fallback
        self._rng = rng
        self._min_samples = min_samples
        self._first_quantile = first_quantile
        self._intervals: deque[tuple[float, float]] = deque(intervals, maxlen=window)
        self._estimate: ReadyTimes | None = None
        # when first polls go (before jitter): the estimate's quantile, then tracked
        self._first_at: float | None = None
        self._tracked = 0  # first polls tracked (how far the step has come down)
        # Never two polls closer than a tenth of the fixed minimum (0.3 s by default).
        self._floor = fallback.min_seconds / 10

    @property
    def sample_count(self) -> int:
        return len(self._intervals)

    def ready_times(self) -> ReadyTimes | None:
        """The current estimate; None until `min_samples` tasks were seen to finish."""
        if len(self._intervals) < self._min_samples:
            return None
        if self._estimate is None:
            self._estimate = estimate_ready_times(list(self._intervals))
        return self._estimate

    def next_delay(self, *, poll_number: int, elapsed: float) -> float:
        estimate = self.ready_times()
        if estimate is None:
            return self._fallback.next_delay(poll_number=poll_number, elapsed=elapsed)
        target = self._first_poll_at(estimate) if poll_number == 1 else 0.0
        if target <= elapsed:
            target = estimate.upper * (1 + MARGIN)
        if target <= elapsed:
            return self._beyond_support(estimate, elapsed=elapsed)
        return min(max(target - elapsed, self._floor), self._fallback.max_seconds * 3)

    def _first_poll_at(self, estimate: ReadyTimes) -> float:
        if self._first_at is None:
            self._first_at = estimate.quantile(self._first_quantile)
        # within the estimate's band: a change of speed the tracking would follow slowly
        # moves the estimate, and with it the band
        low = estimate.quantile(max(self._first_quantile - 0.25, 0.5))
        self._first_at = min(max(self._first_at, low), estimate.upper)
        return self._first_at * (1 + self._rng.uniform(-JITTER, JITTER))

    def _track(self, *, missed: bool) -> None:
        """Robbins–Monro: a first poll that found the task still processing moves the
        next ones later by q·step, one that found it done earlier by (1 − q)·step (the
        step coming down from FIRST_STEP to STEP). They
        settle where a share 1 − q of first polls miss — the upstream calls the quantile
        promises — whatever the estimate's bias (ready times known only as "before" or
        "after" polls bunched near one time are a thin basis for a quantile)."""
        if self._first_at is None:
            return  # the fixed schedule's polls: nothing to correct yet
        q = self._first_quantile
        self._tracked += 1
        step = max(STEP, FIRST_STEP / self._tracked**0.5)
        self._first_at *= 1 + (step * q if missed else -step * (1 - q))

    def _beyond_support(self, estimate: ReadyTimes, *, elapsed: float) -> float:
        """Slower than any task in the window: looks at gaps that double from the
        maximum (a task just past it is found within a tenth of it, a much slower one
        in a few polls more than the fixed schedule's), then the fixed schedule
        (`max_polls` polls still cover about as long as the seed's)."""
        boundary = estimate.upper * (1 + MARGIN)
        gap = max(self._floor, estimate.upper / 10, elapsed - boundary)
        if gap < self._fallback.min_seconds:
            return gap
        return self._fallback.next_delay(poll_number=0, elapsed=elapsed)

    def observe(
        self, *, last_processing_at: float, success_at: float, on_schedule: bool = True
    ) -> None:
        self.learn([(last_processing_at, success_at)], first_poll_at=None)
        if on_schedule:  # a poll held up (a wait for a key) says nothing of the schedule
            self._track(missed=last_processing_at > 0)

    def learn(
        self, intervals: Iterable[tuple[float, float]], *, first_poll_at: float | None = None
    ) -> None:
        for last_processing_at, success_at in intervals:
            low = max(0.0, min(last_processing_at, success_at))
            if success_at > low:
                self._intervals.append((low, success_at))
                self._estimate = None
        if first_poll_at is not None and first_poll_at > 0:
            self._first_at = first_poll_at  # resume the tracking where it was,
            self._tracked = max(self._tracked, RESUMED_TRACKING)  # with its small steps

    @property
    def first_poll_at(self) -> float | None:
        return self._first_at

    def estimated_ready_after(self, elapsed: float) -> float | None:
        """The median ready time of tasks still processing at `elapsed`; None while
        learning, or past the observed maximum (slower than any task seen)."""
        estimate = self.ready_times()
        if estimate is None or elapsed >= estimate.upper:
            return None
        done = estimate.cdf(elapsed)
        return max(elapsed, estimate.quantile(done + (1 - done) / 2))


POLICIES = ("fixed", "adaptive", "frontier")


def build_poll_policy(
    kind: str,
    *,
    min_seconds: float,
    max_seconds: float,
    min_samples: int,
    first_quantile: float = 0.85,
    rng: random.Random | None = None,
) -> PollPolicy:
    """The policy named `kind`, one of `POLICIES`."""
    rng = rng or random.Random()
    fixed = FixedPollPolicy(min_seconds=min_seconds, max_seconds=max_seconds, rng=rng)
    if kind == "adaptive":
        return AdaptivePollPolicy(fallback=fixed, min_samples=min_samples)
    if kind == "frontier":
        return FrontierPollPolicy(
            fallback=fixed, rng=rng, min_samples=min_samples, first_quantile=first_quantile
        )
    return fixed
