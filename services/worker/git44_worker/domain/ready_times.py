"""The distribution of ready times from intervals (pure): Turnbull's NPMLE.

A success tells the poll policy only that its task became ready after the last poll
that found it processing and by the poll that found it done: an interval. From the
intervals of the last successes, `estimate_ready_times` finds the most likely
distribution (`ReadyTimes`) that puts each ready time inside its interval.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ReadyTimes:
    """An estimated ready-time distribution: `masses[i]` on the cell (`lows[i]`,
    `highs[i]`], cells sorted and disjoint, masses summing to 1. A cell's mass is spread
    evenly over it, except the first cell's, which sits at its end: nothing was seen
    before the earliest success, so no earlier time is claimed (often that cell is
    (0, earliest success])."""

    lows: tuple[float, ...]
    highs: tuple[float, ...]
    masses: tuple[float, ...]

    @property
    def upper(self) -> float:
        """The end of the support: the earliest success seen after the latest time a
        task was still processing."""
        return self.highs[-1]

    def _cells(self) -> Iterator[tuple[float, float, float]]:
        yield self.highs[0], self.highs[0], self.masses[0]
        yield from zip(self.lows[1:], self.highs[1:], self.masses[1:], strict=True)

    def cdf(self, t: float) -> float:
        total = 0.0
        for low, high, mass in self._cells():
            if t >= high:
                total += mass
            elif t > low:
                total += mass * (t - low) / (high - low)
        return min(total, 1.0)

    def quantile(self, q: float) -> float:
        total = 0.0
        for low, high, mass in self._cells():
            if mass > 0 and total + mass >= q:
                return low + (high - low) * max(q - total, 0.0) / mass
            total += mass
        return self.upper


def estimate_ready_times(
    intervals: Sequence[tuple[float, float]], *, iterations: int = 100, tolerance: float = 1e-6
) -> ReadyTimes:
    """Turnbull's NPMLE of the distribution of ready times known to lie in `intervals`
    ((low, high], non-empty list): the mass sits on the innermost intervals ("cells")
    and is found by the self-consistency (EM) iteration."""
    ends = sorted([(low, 1) for low, _ in intervals] + [(high, 0) for _, high in intervals])
    # a cell: a left end followed at once by a right end ((a, b] and (b, c] are disjoint,
    # so at equal values a right end sorts first)
    cells = [(a[0], b[0]) for a, b in itertools.pairwise(ends) if a[1] == 1 and b[1] == 0]
    lows, highs = [c[0] for c in cells], [c[1] for c in cells]
    # the cells inside each interval are a run [first, stop) of the sorted cells
    runs = [
        (bisect.bisect_left(lows, low), bisect.bisect_right(highs, high)) for low, high in intervals
    ]
    masses = [1.0 / len(cells)] * len(cells)
    share = 1.0 / len(intervals)
    for _ in range(iterations):
        prefix = [0.0]
        for mass in masses:
            prefix.append(prefix[-1] + mass)
        weight = [0.0] * (len(cells) + 1)
        for first, stop in runs:
            inside = share / (prefix[stop] - prefix[first])
            weight[first] += inside
            weight[stop] -= inside
        running, updated = 0.0, []
        for mass, step in zip(masses, weight, strict=False):
            running += step
            updated.append(mass * running)
        change = max(abs(a - b) for a, b in zip(masses, updated, strict=True))
        masses = updated
        if change < tolerance:
            break
    return ReadyTimes(tuple(lows), tuple(highs), tuple(masses))
