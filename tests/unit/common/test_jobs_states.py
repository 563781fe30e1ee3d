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

# (current, target, allowed?)
MOVES = [
    (JobStatus.QUEUED, JobStatus.PROCESSING, True),
    (JobStatus.PROCESSING, JobStatus.PROCESSING, True),
    (JobStatus.PROCESSING, JobStatus.POLLING, True),
    (JobStatus.POLLING, JobStatus.POLLING, True),
    (JobStatus.POLLING, JobStatus.SUCCESS, True),
    (JobStatus.POLLING, JobStatus.QUEUED, True),
    (JobStatus.PROCESSING, JobStatus.FAILED, True),
    (JobStatus.QUEUED, JobStatus.CANCELLED, True),
    (JobStatus.FAILED, JobStatus.QUEUED, True),
    (JobStatus.SUCCESS, JobStatus.QUEUED, False),
    (JobStatus.CANCELLED, JobStatus.QUEUED, False),
    (JobStatus.PROCESSING, JobStatus.CANCELLED, False),
    (JobStatus.QUEUED, JobStatus.SUCCESS, True),  # a cache hit: no upstream call
    (JobStatus.QUEUED, JobStatus.FAILED, False),
    (JobStatus.FAILED, JobStatus.SUCCESS, False),
]


@pytest.mark.parametrize(("current", "target", "allowed"), MOVES)
def test_pipeline_and_user_transitions_are_allowed_and_impossible_ones_refused(
    current: JobStatus, target: JobStatus, allowed: bool
) -> None:
    assert can_transition(current, target) is allowed


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
        (frozenset({JobStatus.FAILED, JobStatus.POLLING}), JobStatus.SUCCESS),
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
