"""The dead letters' HTTP shapes."""

from __future__ import annotations

from pydantic import Field

from git44_common.contracts import JobStatus
from git44_common.schemas import ApiModel, IsoTime, Page


class DeadLetterPublic(ApiModel):
    """A message of `git44.removal.dead`, taken over by jobs-api until it is replayed or
    purged. `jobId` is null when the body is not a removal request (it cannot be
    replayed, only purged)."""

    id: str
    queue: str
    job_id: str | None
    user_id: str | None
    reason: str | None = Field(
        description="RabbitMQ's reason: `rejected`, `delivery_limit`, `expired`, `maxlen`"
    )
    source_queue: str | None
    death_count: int
    dead_at: IsoTime | None
    stored_at: IsoTime
    body: str = Field(description="the message body (its first 4096 characters)")
    body_truncated: bool


class DeadLettersPublic(Page[DeadLetterPublic]):
    pass


class DeadLetterReplayPublic(ApiModel):
    """What a replay did with one letter: `replayed` with the job's status after it,
    or kept (`detail` says why)."""

    id: str
    job_id: str | None
    replayed: bool
    status: JobStatus | None
    detail: str | None = None


class DeadLettersReplayPublic(Page[DeadLetterReplayPublic]):
    pass


class DeadLettersPurgedPublic(ApiModel):
    purged: int
