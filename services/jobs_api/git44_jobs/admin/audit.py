"""Reading the audit log: newest first, a page at a time, by actor, action, target and
time (`since` inclusive, `until` exclusive)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from git44_common.clock import as_utc
from git44_common.exceptions import ValidationFailed
from git44_common.mongo import Database, Document
from git44_common.pagination import after_cursor, split_page
from git44_jobs.admin import crud


@dataclass(frozen=True, kw_only=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def query_time(name: str, value: datetime | None) -> datetime | None:
    """A time bound from a query string, in UTC (one without a zone is UTC, as MongoDB
    stores them); ValidationFailed (422) when it falls outside what a date can hold."""
    if value is None:
        return None
    try:
        return as_utc(value)
    except OverflowError:
        error = {"loc": ["query", name], "msg": "out of range", "type": "value_error"}
        raise ValidationFailed(f"{name} is out of range.", errors=[error]) from None


def audit_query(which: AuditFilter) -> Document:
    """The MongoDB filter of `which`; ValidationFailed (422) when `since` is not before
    `until`."""
    since, until = query_time("since", which.since), query_time("until", which.until)
    if since is not None and until is not None and since >= until:
        error = {"loc": ["query", "until"], "msg": "must be after since", "type": "value_error"}
        raise ValidationFailed("until must be after since.", errors=[error])
    query: Document = {
        name: value
        for name, value in (("actor", which.actor), ("action", which.action),
                            ("target", which.target))
        if value is not None
    }  # fmt: skip
    at: Document = {}
    if since is not None:
        at["$gte"] = since
    if until is not None:
        at["$lt"] = until
    if at:
        query["at"] = at
    return query


async def list_entries(
    db: Database, which: AuditFilter, *, cursor: str | None, limit: int
) -> tuple[list[Document], str | None]:
    """A page of the entries matching `which`, newest first, and the next page's cursor."""
    query = after_cursor(audit_query(which), cursor, fields=crud.NEWEST_FIRST)
    docs = await crud.find_audit_entries(db, query, limit=limit + 1)
    return split_page(docs, limit, fields=crud.NEWEST_FIRST)
