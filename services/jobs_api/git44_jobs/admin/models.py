"""The admin panel's numbers, and the audit log's entries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Self

from git44_common.schemas import ApiModel, IsoTime, Page, iso_utc


class QuotaUsage(ApiModel):
    users: int
    total_credits: int
    remaining_credits: int
    used_credits: int
    daily_used_today: int


class ProviderStats(ApiModel):
    """The jobs whose current task is at one provider: `calls` is their tasks' creates
    and polls (the provider's credits), `calledBack` those completed by the provider's
    callback with no poll."""

    jobs: int
    succeeded: int
    failed: int
    calls: int
    called_back: int


class StatsPublic(ApiModel):
    jobs_by_status: dict[str, int]
    total_jobs: int
    success_rate: float | None
    avg_processing_seconds: float | None
    p95_processing_seconds: float | None
    queue_depth: int | None
    dead_letters: int | None
    # upstream (ScraperAPI) calls, each a credit: made by jobs' attempts, and saved by
    # jobs completed from the result cache (at the average cost of an upstream success)
    upstream_calls: int
    upstream_calls_saved: int
    by_provider: dict[str, ProviderStats] = {}
    quota: QuotaUsage
    generated_at: IsoTime


def json_safe(value: Any) -> Any:
    """A stored value as JSON: times as ISO-8601 UTC, anything else not JSON as text."""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, datetime):
        return iso_utc(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class AuditEntryPublic(ApiModel):
    """One admin action: who (`actor`, a user id, or a service acting on its own), what
    (`action`, e.g. `job.retry`), on what (`target`), the changed fields before and after."""

    id: str
    service: str | None = None
    actor: str
    action: str
    target: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    at: IsoTime

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], **fields: Any) -> Self:
        """An entry, its before/after snapshots made JSON-safe."""
        fields.setdefault("before", _snapshot(doc.get("before")))
        fields.setdefault("after", _snapshot(doc.get("after")))
        return super().from_doc(doc, **fields)


def _snapshot(value: Any) -> dict[str, Any] | None:
    safe = json_safe(value)
    return safe if safe is None or isinstance(safe, dict) else {"value": safe}


class AuditEntriesPublic(Page[AuditEntryPublic]):
    pass
