"""JSON shapes of the simulator (camelCase on the wire), shared by routes and client."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from git44_sim.mailbox import ReceivedMail
from git44_sim.records import Account, Task, TaskOutcome, TaskStatus


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


# --- ScraperAPI ----------------------------------------------------------------------


class AccountPublic(CamelModel):
    """ScraperAPI's `GET /account` body."""

    request_count: int
    failed_request_count: int
    request_limit: int
    concurrent_requests: int
    concurrency_limit: int

    @classmethod
    def from_account(cls, account: Account) -> Self:
        return cls(
            request_count=account.request_count,
            failed_request_count=account.failed_request_count,
            request_limit=account.request_limit,
            concurrent_requests=account.concurrent_requests,
            concurrency_limit=account.concurrency_limit,
        )


# --- RemoveSora ----------------------------------------------------------------------


class TaskCreated(CamelModel):
    task_id: str


class TaskView(CamelModel):
    """RemoveSora's task status; `downloadUrl` on success, `error` on failure."""

    task_id: str
    status: TaskStatus
    download_url: str | None = None
    error: str | None = None


# --- control plane -------------------------------------------------------------------


class KeyPublic(AccountPublic):
    api_key: str

    @classmethod
    def from_account(cls, account: Account) -> Self:
        public = AccountPublic.from_account(account)
        return cls(api_key=account.api_key, **public.model_dump())


class KeysPublic(CamelModel):
    data: list[KeyPublic]


class KeyUpdate(CamelModel):
    request_limit: int | None = Field(default=None, ge=0)
    concurrency_limit: int | None = Field(default=None, ge=0)
    request_count: int | None = Field(default=None, ge=0)


class ProcessingSeconds(CamelModel):
    min: float = Field(ge=0)
    max: float = Field(ge=0)

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Self:
        if self.min > self.max:
            raise ValueError("processingSeconds.min must not exceed max")
        return self


class ConfigPublic(CamelModel):
    proxy_latency_ms: float
    proxy_failure_rate: float
    fail_next_requests: int
    processing_seconds: ProcessingSeconds
    task_failure_rate: float
    removesora_latency_ms: float
    forward_timeout_seconds: float
    download_link_ttl_seconds: float
    kie_latency_ms: float = 0.0
    kie_failure_rate: float = 0.0
    kie_callbacks: bool = True


class ConfigUpdate(CamelModel):
    """Partial update: only the fields present change."""

    proxy_latency_ms: float | None = Field(default=None, ge=0)
    proxy_failure_rate: float | None = Field(default=None, ge=0, le=1)
    fail_next_requests: int | None = Field(default=None, ge=0)
    processing_seconds: ProcessingSeconds | None = None
    task_failure_rate: float | None = Field(default=None, ge=0, le=1)
    removesora_latency_ms: float | None = Field(default=None, ge=0)
    forward_timeout_seconds: float | None = Field(default=None, gt=0)
    download_link_ttl_seconds: float | None = Field(default=None, gt=0)
    kie_latency_ms: float | None = Field(default=None, ge=0)
    kie_failure_rate: float | None = Field(default=None, ge=0, le=1)
    kie_callbacks: bool | None = None


class KeyStatsPublic(CamelModel):
    charged: int
    failed: int
    statuses: dict[str, int]


class StatsPublic(CamelModel):
    requests_by_key: dict[str, KeyStatsPublic]
    served_401: int
    served_403: int
    served_429: int
    served_500: int
    served_by_status: dict[str, int]
    tasks_created: int
    tasks_by_video_url: dict[str, int]
    task_polls: int
    max_concurrent_by_key: dict[str, int] = Field(
        description="peak in-flight requests per key (never above its limit; excess got 429)"
    )
    kie_served_by_status: dict[str, int] = Field(default_factory=dict)
    kie_tasks_created: int = 0
    kie_polls: int = 0
    kie_callbacks_sent: int = 0


class TaskInfo(CamelModel):
    task_id: str
    video_url: str
    created_at: datetime
    ready_at: datetime
    outcome: TaskOutcome
    status: TaskStatus
    polls: int

    @classmethod
    def from_task(cls, task: Task, *, now: datetime) -> Self:
        return cls(
            task_id=task.task_id,
            video_url=task.video_url,
            created_at=task.created_at,
            ready_at=task.ready_at,
            outcome=task.outcome,
            status=task.status_at(now),
            polls=task.polls,
        )


class TasksPublic(CamelModel):
    data: list[TaskInfo]


class ResetRequest(CamelModel):
    """Without `keys` the current keys stay; limits and config return to start-up values."""

    keys: list[str] | None = None
    request_limit: int | None = Field(default=None, ge=0)
    concurrency_limit: int | None = Field(default=None, ge=0)
    keep_config: bool = False
    seed: int | None = None


class MailPublic(CamelModel):
    """A mail the SMTP sink received; `to` are its envelope recipients."""

    to: list[str]
    subject: str
    text: str | None
    html: str | None
    received_at: datetime

    @classmethod
    def from_mail(cls, mail: ReceivedMail) -> Self:
        return cls(
            to=list(mail.to),
            subject=mail.subject,
            text=mail.text,
            html=mail.html,
            received_at=mail.received_at,
        )


class MailsPublic(CamelModel):
    data: list[MailPublic]
