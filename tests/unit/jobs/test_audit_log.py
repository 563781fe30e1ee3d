"""The audit log's read: its filter and the JSON shape of stored snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from bson import ObjectId

from git44_common.exceptions import ValidationFailed
from git44_jobs.admin.audit import AuditFilter, audit_query
from git44_jobs.admin.models import AuditEntryPublic, json_safe

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_the_filter_takes_only_what_is_given_since_inclusive_until_exclusive() -> None:
    assert audit_query(AuditFilter()) == {}
    query = audit_query(AuditFilter(actor="a1", action="job.retry", since=AT))
    assert query == {"actor": "a1", "action": "job.retry", "at": {"$gte": AT}}
    later = AT + timedelta(hours=1)
    assert audit_query(AuditFilter(target="j1", until=later)) == {
        "target": "j1",
        "at": {"$lt": later},
    }
    with pytest.raises(ValidationFailed):
        audit_query(AuditFilter(since=later, until=AT))
    with pytest.raises(ValidationFailed):
        audit_query(AuditFilter(since=AT, until=AT))


def test_snapshots_become_json_whatever_a_service_stored() -> None:
    oid = ObjectId()
    assert json_safe({"at": datetime(2026, 3, 1, 12, 0), "ids": (oid, 1)}) == {
        "at": "2026-03-01T12:00:00.000Z",
        "ids": [str(oid), 1],
    }
    entry = AuditEntryPublic.from_doc(
        {"_id": "e1", "actor": "a1", "action": "x", "at": AT, "before": ["odd"], "after": None}
    )
    assert entry.before == {"value": ["odd"]}
    assert entry.service is None


def test_bounds_with_and_without_a_zone_compare_as_utc_and_absurd_ones_are_refused() -> None:
    """Query strings may mix `2026-03-01T12:00:00` (taken as UTC, as MongoDB stores
    times) with an offset: compared as naive and aware datetimes they would raise (a
    500); a year past what a date holds once in UTC is a 422, not an OverflowError."""
    naive = datetime(2026, 3, 1, 11, 0)
    query = audit_query(AuditFilter(since=naive, until=AT))
    assert query == {"at": {"$gte": naive.replace(tzinfo=UTC), "$lt": AT}}
    with pytest.raises(ValidationFailed):
        audit_query(AuditFilter(since=AT, until=datetime(2026, 3, 1, 12, 0)))
    too_early = datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=14)))
    with pytest.raises(ValidationFailed):
        audit_query(AuditFilter(since=too_early))
