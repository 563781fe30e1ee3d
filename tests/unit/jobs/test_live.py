"""SSE event ids (`<job id>:<version>`) as `Last-Event-ID`."""

from __future__ import annotations

from git44_jobs.live.replay import parse_last_event_id


def test_sse_ids_are_job_and_version() -> None:
    assert parse_last_event_id("abc:3") == ("abc", 3)
    assert parse_last_event_id("abc") is None
    assert parse_last_event_id("abc:x") is None
    assert parse_last_event_id(None) is None
