"""The removal job's states and the transitions between them (pure rules, no I/O).

    queued ──► processing ──► polling ──► success
      ▲  │          │            │
      │  │          └──► queued ◄┘        (retry with backoff, retry_count + 1)
      │  │          └──► failed ◄┘        (retries exhausted; credit refunded once)
      │  └──► cancelled                   (user cancel; credit refunded once)
      └──── failed                        (user/admin retry; charges a credit)

jobs-api creates jobs and performs the user/admin transitions; the worker performs the
pipeline's. Every transition is a compare-and-set on the current status, so the filter
for a transition is always `{"status": {"$in": sources}}` with `sources` from here.
"""

from __future__ import annotations

from git44_common.contracts import JobStatus

TERMINAL = frozenset({JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.CANCELLED})
ACTIVE = frozenset({JobStatus.PROCESSING, JobStatus.POLLING})

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.PROCESSING, JobStatus.CANCELLED, JobStatus.FAILED}),
    JobStatus.PROCESSING: frozenset(
        {JobStatus.POLLING, JobStatus.QUEUED, JobStatus.FAILED, JobStatus.SUCCESS}
    ),
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


def sources_of(target: JobStatus) -> list[str]:
    """Every status a job may be in to move to `target` (the CAS filter's `$in`)."""
    return sorted(str(s) for s, targets in TRANSITIONS.items() if target in targets)
