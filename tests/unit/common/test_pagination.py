"""Cursors round-trip the sort key of a page and turn garbage into a 422."""

from __future__ import annotations

import base64
import contextlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from bson import ObjectId
from hypothesis import given
from hypothesis import strategies as st

from git44_common.exceptions import ValidationFailed
from git44_common.pagination import decode_cursor, encode_cursor

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
