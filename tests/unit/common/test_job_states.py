"""The job state machine's rules."""

from __future__ import annotations

import pytest

from git44_common.job_states import TERMINAL, JobStatus, can_transition, sources_of


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (JobStatus.QUEUED, JobStatus.PROCESSING),
        (JobStatus.PROCESSING, JobStatus.POLLING),
        (JobStatus.POLLING, JobStatus.POLLING),
        (JobStatus.POLLING, JobStatus.SUCCESS),
        (JobStatus.POLLING, JobStatus.QUEUED),
        (JobStatus.PROCESSING, JobStatus.FAILED),
        (JobStatus.QUEUED, JobStatus.CANCELLED),
        (JobStatus.FAILED, JobStatus.QUEUED),
    ],
)
def test_pipeline_and_user_transitions_are_allowed(current: JobStatus, target: JobStatus) -> None:
    assert can_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (JobStatus.SUCCESS, JobStatus.QUEUED),
        (JobStatus.CANCELLED, JobStatus.QUEUED),
        (JobStatus.PROCESSING, JobStatus.CANCELLED),
        (JobStatus.QUEUED, JobStatus.SUCCESS),
        (JobStatus.FAILED, JobStatus.SUCCESS),
    ],
)
def test_impossible_transitions_are_refused(current: JobStatus, target: JobStatus) -> None:
    assert not can_transition(current, target)


def test_terminal_states_lead_nowhere_but_a_failed_job_can_be_retried() -> None:
    for status in TERMINAL - {JobStatus.FAILED}:
        assert not any(can_transition(status, target) for target in JobStatus)
    assert sources_of(JobStatus.CANCELLED) == ["queued"]
    assert sources_of(JobStatus.QUEUED) == ["failed", "polling", "processing"]
