"""The one job record: a new job, a retry's update, the refund's update, the public shape."""

from __future__ import annotations

from datetime import UTC, datetime

from git44_common.jobs import (
    JobPublic,
    JobStatus,
    end_with_refund_update,
    job_event,
    new_job_document,
    requeue_update,
)

NOW = datetime(2026, 11, 26, 12, 0, 0, 123000, tzinfo=UTC)


def _job() -> dict:
    return new_job_document(
        job_id="j", user_id="u", source="web", input_link="https://sora.chatgpt.com/p/s_1",
        now=NOW, max_retries=3, max_polls=8,
    )  # fmt: skip


def test_a_new_job_is_queued_unpublished_reserved_and_retry_resets_it() -> None:
    job = _job()
    assert (job["status"], job["published"], job["charge"], job["charged_day"], job["version"]) == (
        "queued", False, "reserved", "2026-11-26", 1,
    )  # fmt: skip
    public = JobPublic.from_doc(job).model_dump(by_alias=True, mode="json")
    assert public["createdAt"] == "2026-11-26T12:00:00.123Z"
    free = requeue_update(now=NOW, charge=False, claim_until=NOW)
    assert "charge" not in free["$set"]
    assert free["$inc"] == {"version": 1}
    charged = requeue_update(now=NOW, charge=True, claim_until=NOW)
    assert charged["$set"]["charge"] == "reserved"


def test_the_public_shape_uses_the_seed_defaults_for_fields_an_old_document_lacks() -> None:
    job = _job()
    del job["max_retries"], job["max_polls"]
    public = JobPublic.from_doc(job).model_dump(by_alias=True, mode="json")
    assert (public["maxRetries"], public["maxPolls"]) == (3, 8)


def test_the_refund_update_is_one_pipeline_stage_with_literal_values() -> None:
    attempt = {"number": 1, "error": "$x"}
    (stage,) = end_with_refund_update(
        status=JobStatus.FAILED, now=NOW, fields={"error": "$x"}, attempt=attempt
    )
    fields = stage["$set"]
    assert fields["status"] == "failed"
    assert fields["error"] == {"$literal": "$x"}
    assert fields["charge"]["$cond"][1] == "refunded"
    assert fields["attempts"]["$concatArrays"][1] == [{"$literal": attempt}]


def test_a_job_event_describes_the_document_as_it_is() -> None:
    job = _job() | {"status": "polling", "poll_count": 2}
    event = job_event(job, previous="processing", event_id="e1")
    assert (event.status, event.previous_status, event.poll_count) == ("polling", "processing", 2)
    assert (event.event_id, event.occurred_at) == ("e1", NOW)


def test_the_estimated_ready_time_shows_only_while_the_job_is_at_the_upstream() -> None:
    ready = datetime(2026, 11, 26, 12, 0, 4, tzinfo=UTC)
    for status, shown in [("processing", True), ("polling", True), ("success", False)]:
        job = _job() | {"status": status, "estimated_ready_at": ready}
        public = JobPublic.from_doc(job).model_dump(by_alias=True, mode="json")
        assert public["estimatedReadyAt"] == ("2026-11-26T12:00:04.000Z" if shown else None)
    assert JobPublic.from_doc(_job()).estimated_ready_at is None
