"""jobs-api's own errors. What a client sees are git44_common.exceptions' problems
(QuotaExhausted, Conflict, ...); these stay inside the service.

    Git44Error (git44_common.exceptions)
    └── JobsError
        └── TransitionRefused     a retry/cancel transaction aborted: `reason` says why
"""

from __future__ import annotations

from typing import Literal

from git44_common.exceptions import Git44Error


class JobsError(Git44Error):
    """Root of the errors jobs-api raises on purpose."""


class TransitionRefused(JobsError):
    """Aborts a transition's transaction: the quota refused the charge, or the job was
    not in the state the transition starts from."""

    def __init__(self, reason: Literal["quota", "state"]) -> None:
        super().__init__(reason)
        self.reason = reason
