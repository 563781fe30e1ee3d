"""Request and response bodies of the removal routes. The job's own shapes
(`JobPublic`, `DevJobPublic`, `AdminJobPublic` and their pages) are the one job record's
(`git44_common.jobs.views`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from git44_common.jobs import DevJobPublic
from git44_common.schemas import ApiInput, ApiModel


class RemovalCreate(ApiInput):
    """A submission; the link is checked by `validate_sora_link` (422 otherwise)."""

    input_link: str = Field(description="A Sora share link, https://sora.chatgpt.com/p/<id>")


class DevRemovalCreate(RemovalCreate):
    callback_url: str | None = Field(
        default=None, description="Public https URL that receives signed webhook events"
    )


class DevBatchCreate(ApiInput):
    items: list[DevRemovalCreate] = Field(min_length=1)


class BatchItemResult(ApiModel):
    """One item of a batch: the job (status 202) or the problem that refused it."""

    index: int
    status: int
    job: DevJobPublic | None = None
    problem: dict[str, Any] | None = None


class BatchResult(ApiModel):
    data: list[BatchItemResult]
