"""Why a job run stopped short of a result (raised inside `job_run.JobRun`).

Git44Error (git44_common.exceptions)
└── WorkerError
    ├── KeyWait ............. no ScraperAPI key can be used now: the job waits, no retry
    │   │                     spent
    │   ├── KeysCoolingDown . every key cools down until `until`
    │   ├── KeysUnavailable . no key configured, all busy/refused, or key-manager silent
    │   └── UpstreamDown .... an upstream's circuit is open (breaker.py) until `until`
    ├── FlightWait .......... another job is processing the same link: wait for its
    │                         result, no retry spent
    ├── AttemptFailed ....... this attempt failed (task failed, upstream error, polls ran
    │                         out): retry with backoff, or fail and refund when out of
    │                         retries
    └── JobLeaseLost ........ the job is no longer ours (our job lease expired and another
                              worker took it over): stop touching it
"""

from __future__ import annotations

from datetime import datetime

from git44_common.exceptions import Git44Error


class WorkerError(Git44Error):
    """Root of the worker's job-run errors."""


class KeyWait(WorkerError):
    """The job has to wait for a usable ScraperAPI key."""

    def __init__(self, reason: str, *, delay_seconds: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay_seconds = delay_seconds


class KeysCoolingDown(KeyWait):
    """Every key is cooling down until `until`."""

    def __init__(self, until: datetime, *, delay_seconds: float) -> None:
        super().__init__(
            f"all keys cool down until {until.isoformat()}", delay_seconds=delay_seconds
        )
        self.until = until


class KeysUnavailable(KeyWait):
    """No key could be leased (none configured, all refused, or no answer)."""


class UpstreamDown(KeyWait):
    """The circuit of `upstream` is open: wait until its next probe (or its closing
    wakes the job)."""

    def __init__(self, upstream: str, *, until: datetime, delay_seconds: float) -> None:
        super().__init__(f"{upstream} is down (circuit open)", delay_seconds=delay_seconds)
        self.upstream = upstream
        self.until = until


class FlightWait(WorkerError):
    """The job `leader` is processing the same link (flight `key`): wait for its result."""

    def __init__(self, key: str, *, leader: str) -> None:
        super().__init__(f"waiting for job {leader}, which is processing the same link")
        self.key = key
        self.leader = leader


class AttemptFailed(WorkerError):
    """This attempt failed; `error` is short, safe to store and to show the user."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class JobLeaseLost(WorkerError):
    """Another worker holds the job lease now."""
