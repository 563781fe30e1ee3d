"""Test-only fault points: a place in the code where a soak or chaos test may have the
process killed (-9) on purpose, because random timing rarely lands there.

    GIT44_FAULT_POINTS="jobs.after_commit=0.05,worker.after_task_created=0.05"

arms two points, each killing the process on 5 % of the passes. The setting is refused
unless `GIT44_ENV=test` (`ServiceSettings`), so production never carries an armed
point; unarmed, `fault_point` is one dictionary lookup.

The points:
- `jobs.after_commit`: jobs-api committed the charged job and its outbox flag, before
  its own publish (the outbox relay must publish it);
- `worker.after_task_created`: RemoveSora answered with a task id the worker has not
  stored yet (the gap ADR 0004 accepts: the retry creates one task).
"""

from __future__ import annotations

import logging
import os
import random
import signal

log = logging.getLogger(__name__)

POINTS = frozenset({"jobs.after_commit", "worker.after_task_created"})

_armed: dict[str, float] = {}


def parse_fault_points(spec: str) -> dict[str, float]:
    """`name=probability,...` into a mapping; raises ValueError on an unknown point or a
    probability outside (0, 1]."""
    points: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in POINTS:
            raise ValueError(f"unknown fault point {name!r} (known: {', '.join(sorted(POINTS))})")
        probability = float(value) if value.strip() else 1.0
        if not 0 < probability <= 1:
            raise ValueError(f"fault point {name}: probability {probability} not in (0, 1]")
        points[name] = probability
    return points


def arm_fault_points(spec: str) -> None:
    """Arm the points of `spec` in this process (an empty spec disarms every point)."""
    _armed.clear()
    _armed.update(parse_fault_points(spec))
    if _armed:
        log.warning("fault points armed: %s (tests only)", spec)


def fault_point(name: str) -> None:
    """Kill this process here (SIGKILL: no cleanup, like a crash) if `name` is armed
    and its draw says so."""
    probability = _armed.get(name)
    if probability is None or random.random() >= probability:
        return
    log.error("fault point %s: killing this process (kill -9)", name)
    for handler in logging.getLogger().handlers:
        handler.flush()
    os.kill(os.getpid(), signal.SIGKILL)
