"""Cursor pagination of job lists (newest first on (created_at, _id))."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from git44_common.exceptions import ValidationFailed
from git44_jobs.removals.paging import after_cursor, split_page

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
