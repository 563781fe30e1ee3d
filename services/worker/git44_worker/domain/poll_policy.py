"""When to poll a RemoveSora task (pure: no I/O, the clock is passed in).

Two policies, chosen by `WORKER_POLL_POLICY`:

- `fixed` (the seed's default): every poll after a uniformly jittered 3–5 s.
- `adaptive`: learns how long tasks take. The first poll waits until the observed
  median processing time has passed, later polls aim at ever higher quantiles
  (p75, p87.5, ...), so a typical task is seen finished on its first or second poll
  instead of after several fixed intervals. Each success narrows the true ready time
  to the interval between the last "processing" answer and the "success" answer; its
  midpoint is the observation. Until enough tasks were seen it behaves like `fixed`.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable
from typing import Protocol


class PollPolicy(Protocol):
    def next_delay(self, *, poll_number: int, elapsed: float) -> float:
        """Seconds to wait before poll `poll_number` (1-based), `elapsed` s after creation."""
        ...

    def observe(self, *, last_processing_at: float, success_at: float) -> None:
        """A task was seen processing at `last_processing_at` and done at `success_at`."""
        ...

    def estimated_ready_after(self, elapsed: float) -> float | None:
        """Seconds after creation a task still processing `elapsed` s after creation
        should be ready; None when unknown."""
        ...


class FixedPollPolicy:
    """A jittered interval between `min_seconds` and `max_seconds` for every poll."""

    def __init__(self, *, min_seconds: float, max_seconds: float, rng: random.Random) -> None:
        self.min_seconds = min_seconds
        self.max_seconds = max_seconds
        self._rng = rng

    def next_delay(self, *, poll_number: int, elapsed: float) -> float:
        return self._rng.uniform(self.min_seconds, self.max_seconds)

    def observe(self, *, last_processing_at: float, success_at: float) -> None:
        return None

    def estimated_ready_after(self, elapsed: float) -> float | None:
        return None  # learns nothing


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

    def observe(self, *, last_processing_at: float, success_at: float) -> None:
        low = max(0.0, min(last_processing_at, success_at))
        self._samples.append((low + success_at) / 2)

    def estimated_ready_after(self, elapsed: float) -> float | None:
        """The median of the tasks seen still processing at `elapsed`, if any."""
        later = sorted(t for t in self._samples if t > elapsed)
        if len(self._samples) < self._min_samples or not later:
            return None
        return quantile(later, 0.5)


def build_poll_policy(
    kind: str,
    *,
    min_seconds: float,
    max_seconds: float,
    min_samples: int,
    rng: random.Random | None = None,
) -> PollPolicy:
    """The policy named `kind` ("fixed" or "adaptive")."""
    fixed = FixedPollPolicy(
        min_seconds=min_seconds, max_seconds=max_seconds, rng=rng or random.Random()
    )
    if kind == "adaptive":
        return AdaptivePollPolicy(fallback=fixed, min_samples=min_samples)
    return fixed
