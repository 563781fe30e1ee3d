"""The job event published after each transition describes the saved document."""

from __future__ import annotations

from git44_common.contracts import JobStatus
from git44_common.jobs import job_event
from tests.utils.factories import removal_job


def test_a_job_event_carries_the_new_state_and_the_given_event_id() -> None:
    doc = {
        "_id": "j1",
        "user_id": "u1",
        "status": "success",
        "retry_count": 1,
        "poll_count": 3,
        "output_link": "https://x/y.mp4",
        "error": None,
    }

    event = job_event(doc, previous=JobStatus.POLLING, event_id="evt-1")

    assert event.status is JobStatus.SUCCESS
    assert event.previous_status is JobStatus.POLLING
    assert (event.retry_count, event.poll_count) == (1, 3)
    assert event.output_link == "https://x/y.mp4"
    assert event.event_id == "evt-1"
    assert job_event(doc, previous=None, event_id=None).event_id != "evt-1"
    assert event.job is None  # not a whole job: no state to carry


def test_a_job_event_carries_the_jobs_public_state_at_its_version() -> None:
    doc = removal_job(user_id="u1", status="polling", poll_count=2, version=5)
    event = job_event(doc)
    assert event.version == 5
    assert event.job is not None
    assert (event.job["status"], event.job["poll_count"]) == ("polling", 2)
    assert event.job["input_link"] == doc["input_link"]
