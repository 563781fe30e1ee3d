"""Cursor pagination over jobs, newest first on (created_at, _id) (pure: builds queries).

Keyset pagination: a page starts strictly after the last item of the previous one,
so jobs inserted meanwhile (always newer) never shift or repeat items.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from git44_common.pagination import decode_cursor, encode_cursor

Document = dict[str, Any]
_CURSOR_FIELDS: dict[str, type] = {"created_at": datetime, "id": str}


def after_cursor(query: Document, cursor: str | None) -> Document:
    """`query` limited to the jobs after `cursor` (422 for a bad cursor)."""
    if not cursor:
        return query
    after = decode_cursor(cursor, fields=_CURSOR_FIELDS)
    older = {
        "$or": [
            {"created_at": {"$lt": after["created_at"]}},
            {"created_at": after["created_at"], "_id": {"$lt": after["id"]}},
        ]
    }
    return {"$and": [query, older]} if query else older


def split_page(docs: list[Document], limit: int) -> tuple[list[Document], str | None]:
    """The page (at most `limit` of `docs`, fetched as limit + 1) and the next cursor."""
    if len(docs) <= limit:
        return docs, None
    page = docs[:limit]
    last = page[-1]
    return page, encode_cursor({"created_at": last["created_at"], "id": last["_id"]})
