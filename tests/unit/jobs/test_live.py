"""SSE event ids (`<job id>:<version>`) as `Last-Event-ID`; each stream's version gate;
the message for an event."""

from __future__ import annotations

from datetime import UTC, datetime

from git44_common.contracts import JobStatus
from git44_common.jobs import JobPublic, job_event
from git44_jobs.live.hub import JobUpdate, VersionGate, update_for_event, update_from_doc
from git44_jobs.live.replay import parse_last_event_id
from tests.utils.factories import removal_job


def test_sse_ids_are_job_and_version() -> None:
    assert parse_last_event_id("abc:3") == ("abc", 3)
    assert parse_last_event_id("abc") is None
    assert parse_last_event_id("abc:x") is None
    assert parse_last_event_id(None) is None


def _update(job_id: str, version: int) -> JobUpdate:
    doc = removal_job(user_id="u", _id=job_id, version=version)
    return update_from_doc(doc)


def test_a_stream_sends_each_jobs_states_in_version_order_once() -> None:
    gate = VersionGate()
    assert gate.admit(_update("a", 2))
    assert gate.admit(_update("b", 1))  # another job: its own order
    assert not gate.admit(_update("a", 2))  # again
    assert not gate.admit(_update("a", 1))  # older than what was sent
    assert gate.admit(_update("a", 5))  # newer: skipped versions are fine


def test_the_gate_remembers_the_latest_jobs_only() -> None:
    gate = VersionGate(capacity=2)
    for job_id in ("a", "b", "c"):
        assert gate.admit(_update(job_id, 3))
    assert not gate.admit(_update("c", 3))
    assert gate.admit(_update("a", 3))  # forgotten: its current state may come once more


def test_an_event_is_shown_as_its_own_state_under_its_own_version() -> None:
    """A `polling` event handled after its job succeeded still shows `polling` — every
    field as of that version, none of the later success's."""
    now = datetime.now(UTC)
    polling = removal_job(user_id="u", _id="j", status="polling", poll_count=2, version=4,
                          task_id="t-1", started_at=now, estimated_ready_at=now)  # fmt: skip
    late = job_event(polling)  # handled once the job had moved on: nothing is read back
    update = update_for_event(late)
    assert update is not None
    assert update.id == "j:4"
    assert update.job == JobPublic.from_doc(polling)
    assert update.job.status == JobStatus.POLLING
    assert update.job.completed_at is None
    assert update.job.estimated_ready_at is not None


def test_an_event_without_its_state_is_left_to_the_stored_job() -> None:
    event = job_event(removal_job(user_id="u", _id="j")).model_copy(update={"job": None})
    assert update_for_event(event) is None


def test_a_stream_resumed_after_an_id_sends_nothing_older_for_that_job() -> None:
    gate = VersionGate()
    gate.note("a", 4)  # Last-Event-ID: a:4
    assert not gate.admit(_update("a", 3))
    assert not gate.admit(_update("a", 4))
    assert gate.admit(_update("a", 5))
