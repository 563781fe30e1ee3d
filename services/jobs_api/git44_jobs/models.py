"""API schemas (camelCase on the wire, ISO-8601 UTC times) and their construction from documents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

from git44_common.contracts import JobStatus
from git44_common.quota import QuotaView


def _iso_utc(value: datetime) -> str:
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


IsoTime = Annotated[datetime, PlainSerializer(_iso_utc, return_type=str)]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class RemovalCreate(ApiModel):
    """A submission; the link is checked by `validate_sora_link` (422 otherwise)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    input_link: str = Field(description="A Sora share link, https://sora.chatgpt.com/p/<id>")


class DevRemovalCreate(RemovalCreate):
    callback_url: str | None = Field(
        default=None, description="Public https URL that receives signed webhook events"
    )


class DevBatchCreate(ApiModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    items: list[DevRemovalCreate] = Field(min_length=1)


class JobPublic(ApiModel):
    """The job shape the SPA relies on."""

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
    created_at: IsoTime
    started_at: IsoTime | None
    completed_at: IsoTime | None
    updated_at: IsoTime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> JobPublic:
        return cls(**_job_fields(doc))


class DevJobPublic(JobPublic):
    """A job as the Dev API shows it: the SPA shape plus the webhook target."""

    callback_url: str | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> DevJobPublic:
        return cls(**_job_fields(doc), callback_url=doc.get("callback_url"))


class AdminJobPublic(DevJobPublic):
    """A job as the admin panel shows it: who submitted it, and how."""

    user_id: str
    source: str
    charge: str | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> AdminJobPublic:
        return cls(
            **_job_fields(doc),
            callback_url=doc.get("callback_url"),
            user_id=doc["user_id"],
            source=doc.get("source", "web"),
            charge=doc.get("charge"),
        )


def _job_fields(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "input_link": doc["input_link"],
        "output_link": doc.get("output_link"),
        "status": doc["status"],
        "task_id": doc.get("task_id"),
        "retry_count": doc.get("retry_count", 0),
        "max_retries": doc.get("max_retries", 0),
        "poll_count": doc.get("poll_count", 0),
        "max_polls": doc.get("max_polls", 0),
        "error": doc.get("error"),
        "created_at": doc["created_at"],
        "started_at": doc.get("started_at"),
        "completed_at": doc.get("completed_at"),
        "updated_at": doc.get("updated_at") or doc["created_at"],
    }


class JobsPublic(ApiModel):
    data: list[JobPublic]
    next_cursor: str | None


class DevJobsPublic(ApiModel):
    data: list[DevJobPublic]
    next_cursor: str | None


class AdminJobsPublic(ApiModel):
    data: list[AdminJobPublic]
    next_cursor: str | None


class BatchItemResult(ApiModel):
    """One item of a batch: the job (status 202) or the problem that refused it."""

    index: int
    status: int
    job: DevJobPublic | None = None
    problem: dict[str, Any] | None = None


class BatchResult(ApiModel):
    data: list[BatchItemResult]


class QuotaPublic(ApiModel):
    total_quota: int
    remaining_quota: int
    daily_limit: int
    daily_used: int
    reset_at: IsoTime

    @classmethod
    def from_view(cls, view: QuotaView) -> QuotaPublic:
        return cls(
            total_quota=view.total_quota,
            remaining_quota=view.remaining_quota,
            daily_limit=view.daily_limit,
            daily_used=view.daily_used,
            reset_at=view.reset_at,
        )


class QuotaUpdate(ApiModel):
    """Admin change to a user's quota; `addCredits` adds to both total and remaining."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    total_quota: int | None = Field(default=None, ge=0, le=10_000_000)
    remaining_quota: int | None = Field(default=None, ge=0, le=10_000_000)
    daily_limit: int | None = Field(default=None, ge=0, le=10_000_000)
    add_credits: int | None = Field(default=None, ge=1, le=10_000_000)


class WebhookSecretPublic(ApiModel):
    secret: str
    created_at: IsoTime
    scheme: Literal["standard-webhooks"] = "standard-webhooks"


class QuotaUsage(ApiModel):
    users: int
    total_credits: int
    remaining_credits: int
    used_credits: int
    daily_used_today: int


class StatsPublic(ApiModel):
    jobs_by_status: dict[str, int]
    total_jobs: int
    success_rate: float | None
    avg_processing_seconds: float | None
    p95_processing_seconds: float | None
    queue_depth: int | None
    dead_letters: int | None
    quota: QuotaUsage
    generated_at: IsoTime
