"""The removal job's states and the transitions between them (pure rules, no I/O).

    queued ──► processing ──► polling ──► success
      ▲  │ │        │            │          ▲
      │  │ │        └──► queued ◄┘          │ (retry with backoff, wait for a key or for
      │  │ │        └──► failed ◄┘          │  the job leading the same link's flight)
      │  │ └────────────────────────────────┘ (the link's result is cached: no upstream
      │  │                                     call; at submission or when picked up)
      │  └──► cancelled                   (user cancel; credit refunded once)
      └──── failed                        (user/admin retry; a user's retry charges a credit)

jobs-api creates jobs and performs the user/admin transitions; the worker performs the
pipeline's. Every transition is a compare-and-set on the current status: its filter is
`Transition.query()`, whose sources are checked against `TRANSITIONS` when the
transition is declared, so a filter can never allow a move the table forbids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from git44_common.contracts import JobStatus

TERMINAL = frozenset({JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.CANCELLED})
ACTIVE = frozenset({JobStatus.PROCESSING, JobStatus.POLLING})

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.PROCESSING, JobStatus.CANCELLED, JobStatus.SUCCESS}),
    JobStatus.PROCESSING: frozenset(
        {
            JobStatus.PROCESSING,
            JobStatus.POLLING,
            JobStatus.QUEUED,
            JobStatus.FAILED,
            JobStatus.SUCCESS,
        }
    ),  # fmt: skip
    JobStatus.POLLING: frozenset(
        {JobStatus.POLLING, JobStatus.QUEUED, JobStatus.FAILED, JobStatus.SUCCESS}
    ),
    JobStatus.SUCCESS: frozenset(),
    JobStatus.FAILED: frozenset({JobStatus.QUEUED}),
    JobStatus.CANCELLED: frozenset(),
}


def can_transition(current: JobStatus, target: JobStatus) -> bool:
    """Whether a job in `current` may move to `target`."""
    return target in TRANSITIONS[current]


@dataclass(frozen=True)
class Transition:
    """A move from any of `sources` to `target`; `query()` is its compare-and-set filter."""

    sources: frozenset[JobStatus]
    target: JobStatus

    def __post_init__(self) -> None:
        forbidden = [s for s in self.sources if not can_transition(s, self.target)]
        if forbidden or not self.sources:
            raise ValueError(f"{sorted(forbidden)} → {self.target} is not a job transition")

    def query(self) -> dict[str, Any]:
        """`{"status": ...}` matching exactly the source statuses."""
        if len(self.sources) == 1:
            (source,) = self.sources
            return {"status": str(source)}
        return {"status": {"$in": sorted(str(s) for s in self.sources)}}


# jobs-api
CANCEL = Transition(frozenset({JobStatus.QUEUED}), JobStatus.CANCELLED)
REQUEUE_FAILED = Transition(frozenset({JobStatus.FAILED}), JobStatus.QUEUED)
# worker
CLAIM = Transition(frozenset({JobStatus.QUEUED}), JobStatus.PROCESSING)
CACHE_HIT = Transition(frozenset({JobStatus.QUEUED}), JobStatus.SUCCESS)
STORE_TASK = Transition(frozenset({JobStatus.PROCESSING}), JobStatus.PROCESSING)
RECORD_POLL = Transition(ACTIVE, JobStatus.POLLING)
SUCCEED = Transition(ACTIVE, JobStatus.SUCCESS)
FAIL = Transition(ACTIVE, JobStatus.FAILED)
REQUEUE_ACTIVE = Transition(ACTIVE, JobStatus.QUEUED)
