"""The job as others see it: the public JSON shapes and the `JobEvent` of a document.

One place builds them, so the SPA, the Dev API, the admin panel, SSE and webhooks
show a job alike (same fields, same defaults).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from git44_common.contracts import JobEvent, JobStatus
from git44_common.jobs.record import DEFAULT_MAX_POLLS, DEFAULT_MAX_RETRIES
from git44_common.mongo import Document
from git44_common.schemas import ApiModel, IsoTime, Page


class JobPublic(ApiModel):
    """The job shape the SPA relies on (and the `data` of a webhook)."""

    id: str
    input_link: str
    output_link: str | None
    status: JobStatus
    task_id: str | None
    retry_count: int
    max_retries: int
    poll_count: int
    max_polls: int
    error: str | None
    # completed from the result cache, with no upstream task of its own
    cached: bool = False
    # while at the upstream: when the worker expects the clean video (what it has learnt
    # of processing times); null before it knows, and once the job has ended
    estimated_ready_at: IsoTime | None = None
    created_at: IsoTime
    started_at: IsoTime | None
    completed_at: IsoTime | None
    updated_at: IsoTime

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], **fields: Any) -> Self:
        return cls(**job_fields(doc), **fields)


class DevJobPublic(JobPublic):
    """A job as the Dev API shows it: the SPA shape plus the webhook target."""

    callback_url: str | None = None

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], **fields: Any) -> Self:
        return super().from_doc(doc, callback_url=doc.get("callback_url"), **fields)


class AdminJobPublic(DevJobPublic):
    """A job as the admin panel shows it: who submitted it, and how."""

    user_id: str
    source: str
    charge: str | None = None

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], **fields: Any) -> Self:
        return super().from_doc(
            doc, user_id=doc["user_id"], source=doc.get("source", "web"),
            charge=doc.get("charge"), **fields,
        )  # fmt: skip


class JobsPublic(Page[JobPublic]):
    pass


class DevJobsPublic(Page[DevJobPublic]):
    pass


class AdminJobsPublic(Page[AdminJobPublic]):
    pass


def job_fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The public fields of a job document (snake_case), with the seed's defaults."""
    return {
        "id": str(doc["_id"]),
        "input_link": doc["input_link"],
        "output_link": doc.get("output_link"),
        "status": doc["status"],
        "task_id": doc.get("task_id"),
        "retry_count": int(doc.get("retry_count") or 0),
        "max_retries": int(doc.get("max_retries", DEFAULT_MAX_RETRIES)),
        "poll_count": int(doc.get("poll_count") or 0),
        "max_polls": int(doc.get("max_polls", DEFAULT_MAX_POLLS)),
        "error": doc.get("error"),
        "cached": bool(doc.get("cached")),
        "estimated_ready_at": (
            doc.get("estimated_ready_at") if doc["status"] in ("processing", "polling") else None
        ),
        "created_at": doc["created_at"],
        "started_at": doc.get("started_at"),
        "completed_at": doc.get("completed_at"),
        "updated_at": doc.get("updated_at") or doc["created_at"],
    }


def job_event(
    doc: Document,
    *,
    previous: JobStatus | str | None = None,
    event_id: str | None = None,
    progress: bool = True,
) -> JobEvent:
    """The `JobEvent` describing the job document `doc` as it is now (`progress`: see
    `JobEvent.progress`)."""
    extra: dict[str, Any] = {"event_id": event_id} if event_id else {}
    if doc.get("updated_at") is not None:
        extra["occurred_at"] = doc["updated_at"]
    return JobEvent(
        job_id=str(doc["_id"]),
        user_id=str(doc["user_id"]),
        status=JobStatus(doc["status"]),
        version=int(doc.get("version") or 1),
        # the state itself, for a consumer that must not read a newer one back (SSE)
        job=job_fields(doc) if "input_link" in doc and "created_at" in doc else None,
        previous_status=JobStatus(previous) if previous else None,
        retry_count=int(doc.get("retry_count") or 0),
        poll_count=int(doc.get("poll_count") or 0),
        output_link=doc.get("output_link"),
        error=doc.get("error"),
        progress=progress,
        **extra,
    )
