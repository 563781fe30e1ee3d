"""The job state machine's rules and the compare-and-set filters of its transitions."""

from __future__ import annotations

import pytest

from git44_common.jobs.states import (
    ACTIVE,
    CANCEL,
    CLAIM,
    REQUEUE_ACTIVE,
    STORE_TASK,
    TERMINAL,
    JobStatus,
    Transition,
    can_transition,
)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (JobStatus.QUEUED, JobStatus.PROCESSING),
        (JobStatus.PROCESSING, JobStatus.PROCESSING),
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
        (JobStatus.QUEUED, JobStatus.FAILED),
        (JobStatus.FAILED, JobStatus.SUCCESS),
    ],
)
def test_impossible_transitions_are_refused(current: JobStatus, target: JobStatus) -> None:
    assert not can_transition(current, target)


def test_terminal_states_lead_nowhere_but_a_failed_job_can_be_retried() -> None:
    for status in TERMINAL - {JobStatus.FAILED}:
        assert not any(can_transition(status, target) for target in JobStatus)
    sources = {
        target: sorted(s for s in JobStatus if can_transition(s, target)) for target in JobStatus
    }
    assert sources[JobStatus.CANCELLED] == ["queued"]
    assert sources[JobStatus.QUEUED] == ["failed", "polling", "processing"]


@pytest.mark.parametrize(
    ("sources", "target"),
    [
        (frozenset({JobStatus.QUEUED}), JobStatus.FAILED),
        (frozenset({JobStatus.PROCESSING}), JobStatus.CANCELLED),
        (frozenset({JobStatus.QUEUED, JobStatus.POLLING}), JobStatus.SUCCESS),
        (frozenset(), JobStatus.QUEUED),
    ],
)
def test_a_transition_the_table_forbids_cannot_be_declared(
    sources: frozenset[JobStatus], target: JobStatus
) -> None:
    with pytest.raises(ValueError, match="is not a job transition"):
        Transition(sources, target)


def test_a_transitions_filter_matches_exactly_its_sources() -> None:
    assert CLAIM.query() == {"status": "queued"}
    assert CANCEL.query() == {"status": "queued"}
    assert STORE_TASK.query() == {"status": "processing"}
    assert REQUEUE_ACTIVE.query() == {"status": {"$in": ["polling", "processing"]}}
    assert REQUEUE_ACTIVE.sources == ACTIVE
