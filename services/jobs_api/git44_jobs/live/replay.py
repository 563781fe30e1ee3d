"""What a reconnecting SSE client missed: the jobs that changed since its last event.

The client sends back the id of the last event it saw (`Last-Event-ID`,
`<job id>:<version>`); the replay is read from the job store, oldest change first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from git44_common.mongo import Database
from git44_jobs.live.hub import JobUpdate, update_from_doc
from git44_jobs.removals import crud as jobs_crud


def parse_last_event_id(value: str | None) -> tuple[str, int] | None:
    """(job id, version) from a `Last-Event-ID` we issued, or None."""
    if not value or len(value) > 100:
        return None
    job_id, _, version = value.rpartition(":")
    if not job_id or not version.isdigit():
        return None
    return job_id, int(version)


async def replay_since(
    db: Database,
    user_id: str,
    last_event_id: str | None,
    *,
    now: datetime,
    window_seconds: float,
    limit: int,
) -> list[JobUpdate]:
    """The user's jobs updated since the event `last_event_id` (at most `window_seconds`
    back, at most `limit` of them), oldest change first."""
    parsed = parse_last_event_id(last_event_id)
    if parsed is None:
        return []
    since = await _resume_point(db, user_id, *parsed, now=now)
    floor = now - timedelta(seconds=window_seconds)
    docs = await jobs_crud.jobs_updated_since(db, user_id, since=max(since, floor), limit=limit)
    return [update_from_doc(doc) for doc in docs]


async def _resume_point(
    db: Database, user_id: str, job_id: str, version: int, *, now: datetime
) -> datetime:
    """When the client's last event happened: exact if that job has not moved since."""
    job = await jobs_crud.get_job(db, job_id, user_id=user_id)
    if job is not None and job.get("version", 1) == version:
        updated_at: datetime = job["updated_at"]
        return updated_at
    # the job moved on (or is unknown): replay the whole window; duplicates are harmless
    return datetime.min.replace(tzinfo=now.tzinfo)
