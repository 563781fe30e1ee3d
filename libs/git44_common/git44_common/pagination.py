"""Opaque list cursors: the sort key of the last item, as urlsafe base64 of compact JSON.

    cursor = encode_cursor({"created_at": job["created_at"], "id": job["_id"]})
    after = decode_cursor(cursor, fields={"created_at": datetime, "id": ObjectId})

Datetimes travel as ISO-8601 and ObjectIds as hex; `fields` says what to turn them back
into. A cursor that does not decode to exactly those fields is a 422.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from git44_common.exceptions import ValidationFailed

MAX_CURSOR_LENGTH = 1024


def _to_json(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, ObjectId):
        return str(value)
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


def encode_cursor(values: Mapping[str, Any]) -> str:
    """An opaque cursor holding `values` (str, int, float, bool, datetime, ObjectId)."""
    text = json.dumps(dict(values), default=_to_json, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _convert(value: Any, kind: type) -> Any:
    if kind is datetime:
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if kind is ObjectId:
        if not isinstance(value, str):
            raise TypeError("ObjectId must be a hex string")
        return ObjectId(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise TypeError(f"expected {kind.__name__}")
    return value


def _invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is invalid; start again from the first page.",
        errors=[{"loc": ["query", "cursor"], "msg": "Invalid cursor", "type": "cursor_invalid"}],
    )


def decode_cursor(cursor: str, *, fields: Mapping[str, type]) -> dict[str, Any]:
    """The values in `cursor`, converted to `fields`' types; ValidationFailed (422) if garbage."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise _invalid_cursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict) or set(data) != set(fields):
            raise ValueError("unexpected cursor fields")
        return {name: _convert(data[name], kind) for name, kind in fields.items()}
    except (binascii.Error, ValueError, TypeError, InvalidId):
        raise _invalid_cursor() from None
