"""Cursors round-trip the sort key of a page and turn garbage into a 422."""

from __future__ import annotations

import base64
import contextlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from bson import ObjectId
from hypothesis import given
from hypothesis import strategies as st

from git44_common.exceptions import ValidationFailed
from git44_common.pagination import (
    after_cursor,
    decode_cursor,
    encode_cursor,
    keyset_sort,
    split_page,
)

FIELDS = {"created_at": datetime, "id": ObjectId}


def test_a_cursor_round_trips_datetimes_and_object_ids() -> None:
    values = {"created_at": datetime(2025, 5, 1, 12, 30, 15, 123000, tzinfo=UTC), "id": ObjectId()}
    cursor = encode_cursor(values)
    assert decode_cursor(cursor, fields=FIELDS) == values
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_other_time_zones_come_back_as_the_same_instant() -> None:
    local = datetime(2025, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    decoded = decode_cursor(encode_cursor({"created_at": local, "id": ObjectId()}), fields=FIELDS)
    assert decoded["created_at"] == datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def test_plain_values_round_trip() -> None:
    values = {"status": "queued", "n": 3, "score": 1.5, "done": False}
    fields = {"status": str, "n": int, "score": float, "done": bool}
    assert decode_cursor(encode_cursor(values), fields=fields) == values


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64 at all!",
        "\u00e9t\u00e9",
        _b64("not json"),
        _b64("[1, 2]"),
        _b64('{"created_at": "2025-01-01T00:00:00+00:00"}'),
        _b64('{"created_at": "yesterday", "id": "65f1c2a9e4b0a1b2c3d4e5f6"}'),
        _b64('{"created_at": "2025-01-01T00:00:00+00:00", "id": "zz"}'),
        _b64('{"created_at": 5, "id": "65f1c2a9e4b0a1b2c3d4e5f6"}'),
        _b64('{"created_at": "2025-01-01T00:00:00", "id": "65f1c2a9e4b0a1b2c3d4e5f6", "x": 1}'),
        "A" * 5000,
    ],
)
def test_garbage_cursors_are_a_validation_failure(cursor: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(cursor, fields=FIELDS)
    assert caught.value.status == 422
    assert caught.value.code == "validation_failed"
    assert caught.value.extra["errors"][0]["loc"] == ["query", "cursor"]


def test_types_are_checked_strictly() -> None:
    with pytest.raises(ValidationFailed):
        decode_cursor(encode_cursor({"n": True}), fields={"n": int})
    with pytest.raises(ValidationFailed):
        decode_cursor(encode_cursor({"n": "3"}), fields={"n": int})


def test_values_a_cursor_cannot_hold_are_refused_when_encoding() -> None:
    with pytest.raises(TypeError):
        encode_cursor({"x": object()})


@given(st.text(max_size=200))
def test_any_text_decodes_or_is_a_validation_failure(text: str) -> None:
    with contextlib.suppress(ValidationFailed):
        decode_cursor(text, fields={"id": str})


# Keyset helpers: after_cursor / split_page / keyset_sort.

T0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def _matches(doc: dict[str, Any], query: dict[str, Any]) -> bool:
    """The subset of MongoDB's filter language `after_cursor` writes."""
    for key, condition in query.items():
        if key == "$and":
            ok = all(_matches(doc, part) for part in condition)
        elif key == "$or":
            ok = any(_matches(doc, part) for part in condition)
        elif isinstance(condition, dict):
            ((op, value),) = condition.items()
            ok = doc[key] < value if op == "$lt" else doc[key] > value
        else:
            ok = doc[key] == condition
        if not ok:
            return False
    return True


def _read_all_pages(
    docs: list[dict[str, Any]], limit: int, *, descending: bool
) -> list[dict[str, Any]]:
    order = sorted(docs, key=lambda d: (d["created_at"], d["_id"]), reverse=descending)
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = after_cursor({}, cursor, descending=descending)
        fetched = [d for d in order if _matches(d, query)][: limit + 1]
        page, cursor = split_page(fetched, limit)
        seen.extend(page)
        if cursor is None:
            return seen


@given(
    st.lists(st.integers(min_value=0, max_value=5), max_size=30),
    st.integers(min_value=1, max_value=7),
    st.booleans(),
)
def test_reading_page_after_page_yields_every_document_once_in_order(
    minutes: list[int], limit: int, descending: bool
) -> None:
    # Few distinct times, so many documents share a created_at and the _id decides.
    docs = [
        {"_id": f"{n:04x}", "created_at": T0 + timedelta(minutes=m)} for n, m in enumerate(minutes)
    ]
    expected = sorted(docs, key=lambda d: (d["created_at"], d["_id"]), reverse=descending)
    assert _read_all_pages(docs, limit, descending=descending) == expected


def test_without_a_cursor_the_query_is_unchanged() -> None:
    assert after_cursor({"user_id": "u1"}, None) == {"user_id": "u1"}
    assert after_cursor({}, "") == {}


def test_the_cursor_filter_is_combined_with_the_query() -> None:
    cursor = encode_cursor({"created_at": T0, "id": "b"})
    assert after_cursor({"user_id": "u1"}, cursor) == {
        "$and": [
            {"user_id": "u1"},
            {"$or": [{"created_at": {"$lt": T0}}, {"created_at": T0, "_id": {"$lt": "b"}}]},
        ]
    }
    assert after_cursor({}, cursor, descending=False) == {
        "$or": [{"created_at": {"$gt": T0}}, {"created_at": T0, "_id": {"$gt": "b"}}]
    }


def test_cursors_name_id_without_its_underscore_as_listings_always_did() -> None:
    docs = [{"_id": "c", "created_at": T0}, {"_id": "b", "created_at": T0}]
    page, cursor = split_page(docs, 1)
    assert page == docs[:1]
    assert cursor is not None
    assert decode_cursor(cursor, fields={"created_at": datetime, "id": str}) == {
        "created_at": T0,
        "id": "c",
    }


def test_other_sort_fields_and_their_sort_specification() -> None:
    fields = (("score", int), ("_id", ObjectId))
    oid = ObjectId()
    page, cursor = split_page([{"score": 3, "_id": oid}, {"score": 2}], 1, fields=fields)
    assert cursor is not None
    assert after_cursor({}, cursor, fields=fields) == {
        "$or": [{"score": {"$lt": 3}}, {"score": 3, "_id": {"$lt": oid}}]
    }
    assert keyset_sort(fields) == [("score", -1), ("_id", -1)]
    assert keyset_sort(descending=False) == [("created_at", 1), ("_id", 1)]


def test_a_bad_cursor_is_a_validation_failure_before_any_query() -> None:
    with pytest.raises(ValidationFailed):
        after_cursor({}, encode_cursor({"created_at": T0}))


# job lists (newest first on (created_at, _id)), as jobs-api pages them
JOBS_NOW = datetime(2026, 11, 26, 12, 0, 0, 123000, tzinfo=UTC)


def _docs(n: int) -> list[dict]:
    return [{"_id": f"j{i}", "created_at": JOBS_NOW - timedelta(seconds=i)} for i in range(n)]


def test_jobs_api_a_full_page_gives_a_cursor_that_continues_after_its_last_item() -> None:
    page, cursor = split_page(_docs(3), 2)
    assert [d["_id"] for d in page] == ["j0", "j1"]
    assert cursor is not None
    query = after_cursor({"user_id": "u"}, cursor)
    older = query["$and"][1]["$or"]
    assert older[0] == {"created_at": {"$lt": JOBS_NOW - timedelta(seconds=1)}}
    assert older[1] == {"created_at": JOBS_NOW - timedelta(seconds=1), "_id": {"$lt": "j1"}}


def test_jobs_api_the_last_page_has_no_cursor_and_a_bad_cursor_is_422() -> None:
    assert split_page(_docs(2), 2) == (_docs(2), None)
    with pytest.raises(ValidationFailed):
        after_cursor({}, "not-a-cursor")
