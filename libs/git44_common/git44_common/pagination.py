"""Keyset pagination: opaque cursors holding the sort key of a page's last item.

A list sorted on a unique key (by default `created_at` then `_id`, newest first) is read
a page at a time: fetch `limit + 1` documents after the cursor, keep `limit`, and the
last one kept is the next cursor. Items inserted meanwhile never shift or repeat items.

    query = after_cursor({"user_id": user_id}, cursor)     # 422 for a bad cursor
    docs = await find(query).sort(keyset_sort()).limit(limit + 1).to_list()
    page, next_cursor = split_page(docs, limit)

A cursor is urlsafe base64 of compact JSON; datetimes travel as ISO-8601 and ObjectIds as
hex. A document key is named in the cursor without its leading underscore (`_id` is
`id`), so `{"created_at": ..., "id": ...}` cursors keep working. The lower level:

    cursor = encode_cursor({"created_at": job["created_at"], "id": job["_id"]})
    after = decode_cursor(cursor, fields={"created_at": datetime, "id": ObjectId})

A cursor that does not decode to exactly those fields is a 422.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from bson import ObjectId
from bson.errors import InvalidId

from git44_common.exceptions import ValidationFailed

MAX_CURSOR_LENGTH = 1024

SortFields = Sequence[tuple[str, type]]
"""The document keys a list is sorted on, most significant first, with their types;
the last key must be unique (`_id`) so that "after" is never ambiguous."""

NEWEST_FIRST: Final[SortFields] = (("created_at", datetime), ("_id", str))

DocT = TypeVar("DocT", bound=Mapping[str, Any])


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


def _cursor_name(key: str) -> str:
    return key.removeprefix("_")


def keyset_sort(
    fields: SortFields = NEWEST_FIRST, *, descending: bool = True
) -> list[tuple[str, int]]:
    """The sort specification that goes with `after_cursor` and `split_page`."""
    direction = -1 if descending else 1
    return [(key, direction) for key, _kind in fields]


def after_cursor(
    query: Mapping[str, Any],
    cursor: str | None,
    *,
    fields: SortFields = NEWEST_FIRST,
    descending: bool = True,
) -> dict[str, Any]:
    """`query` narrowed to the documents strictly after `cursor` in the `keyset_sort`
    order (`query` itself without a cursor); ValidationFailed (422) for a bad cursor."""
    if not cursor:
        return dict(query)
    values = decode_cursor(cursor, fields={_cursor_name(key): kind for key, kind in fields})
    beyond = "$lt" if descending else "$gt"
    branches: list[dict[str, Any]] = []
    for index, (key, _kind) in enumerate(fields):
        equal = {prior: values[_cursor_name(prior)] for prior, _ in fields[:index]}
        branches.append({**equal, key: {beyond: values[_cursor_name(key)]}})
    after = {"$or": branches}
    return {"$and": [dict(query), after]} if query else after


def split_page(
    docs: Sequence[DocT], limit: int, *, fields: SortFields = NEWEST_FIRST
) -> tuple[list[DocT], str | None]:
    """The page (the first `limit` of `docs`, fetched as `limit + 1`) and the cursor of
    the next page, None when `docs` held no more than the page."""
    page = list(docs[:limit])
    if len(docs) <= limit:
        return page, None
    last = page[-1]
    return page, encode_cursor({_cursor_name(key): last[key] for key, _kind in fields})
