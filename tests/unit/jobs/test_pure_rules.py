"""jobs-api's pure rules: pagination, stats, quota changes, idempotency keys, ETags, SSE ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from git44_common.exceptions import ValidationFailed
from git44_jobs.documents import new_job_document, requeue_update
from git44_jobs.etag import _matches, compute_etag
from git44_jobs.events import parse_last_event_id
from git44_jobs.idempotency import check_key, fingerprint
from git44_jobs.listing import after_cursor, split_page
from git44_jobs.models import JobPublic, QuotaUpdate
from git44_jobs.quota_admin import quota_change
from git44_jobs.stats import success_rate, summarize_durations

NOW = datetime(2026, 11, 26, 12, 0, 0, 123000, tzinfo=UTC)


def _docs(n: int) -> list[dict]:
    return [{"_id": f"j{i}", "created_at": NOW - timedelta(seconds=i)} for i in range(n)]


def test_a_full_page_gives_a_cursor_that_continues_after_its_last_item() -> None:
    page, cursor = split_page(_docs(3), 2)
    assert [d["_id"] for d in page] == ["j0", "j1"]
    assert cursor is not None
    query = after_cursor({"user_id": "u"}, cursor)
    older = query["$and"][1]["$or"]
    assert older[0] == {"created_at": {"$lt": NOW - timedelta(seconds=1)}}
    assert older[1] == {"created_at": NOW - timedelta(seconds=1), "_id": {"$lt": "j1"}}


def test_the_last_page_has_no_cursor_and_a_bad_cursor_is_422() -> None:
    assert split_page(_docs(2), 2) == (_docs(2), None)
    with pytest.raises(ValidationFailed):
        after_cursor({}, "not-a-cursor")


def test_durations_average_and_p95() -> None:
    assert summarize_durations([]) == (None, None)
    average, p95 = summarize_durations([float(s) for s in range(1, 101)])
    assert (average, p95) == (50.5, 95.0)
    assert success_rate({"success": 3, "failed": 1, "queued": 9}) == 0.75
    assert success_rate({"queued": 2}) is None


def test_quota_changes_set_values_and_add_credits_to_both_counters() -> None:
    update = quota_change(QuotaUpdate(add_credits=5, daily_limit=10))
    assert update == {
        "$set": {"daily_limit": 10},
        "$inc": {"total_quota": 5, "remaining_quota": 5},
    }
    with pytest.raises(ValidationFailed):
        quota_change(QuotaUpdate())
    with pytest.raises(ValidationFailed):
        quota_change(QuotaUpdate(add_credits=1, total_quota=3))


def test_idempotency_keys_and_fingerprints() -> None:
    assert check_key("order-1") == "order-1"
    assert check_key(None) is None
    for bad in ["", "x" * 256, "has space", "naïve"]:
        with pytest.raises(ValidationFailed):
            check_key(bad)
    a = fingerprint("POST", "/api/removal", {"inputLink": "x", "b": 1})
    assert a == fingerprint("post", "/api/removal", {"b": 1, "inputLink": "x"})
    assert a != fingerprint("POST", "/api/v1/removals", {"inputLink": "x", "b": 1})


def test_etags_match_weak_and_listed_tags() -> None:
    etag = compute_etag({"a": 1})
    assert etag.startswith('W/"')
    assert etag == compute_etag({"a": 1})
    assert etag != compute_etag({"a": 2})
    assert _matches(f'"other", {etag}', etag)
    assert _matches(etag.removeprefix("W/"), etag)
    assert not _matches(None, etag)


def test_sse_ids_are_job_and_version() -> None:
    assert parse_last_event_id("abc:3") == ("abc", 3)
    assert parse_last_event_id("abc") is None
    assert parse_last_event_id("abc:x") is None
    assert parse_last_event_id(None) is None


def test_a_new_job_is_queued_unpublished_reserved_and_retry_resets_it() -> None:
    job = new_job_document(
        job_id="j", user_id="u", source="web", input_link="https://sora.chatgpt.com/p/s_1",
        now=NOW, max_retries=3, max_polls=8,
    )  # fmt: skip
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
