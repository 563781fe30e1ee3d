"""The webhook signing secret as the Dev API shows it, and delivery attempts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Self

from git44_common.schemas import ApiModel, IsoTime


class WebhookSecretPublic(ApiModel):
    secret: str
    created_at: IsoTime
    scheme: Literal["standard-webhooks"] = "standard-webhooks"


class DeliveryAttempt(ApiModel):
    """What every recorded delivery attempt shows (`statusCode` null: no answer, see
    `error`; `nextRetryAt` null: no further attempt)."""

    url: str
    attempt: int
    status_code: int | None
    latency_ms: float
    error: str | None
    next_retry_at: IsoTime | None
    attempted_at: IsoTime


class WebhookDeliveryPublic(DeliveryAttempt):
    """One attempt to deliver a webhook event (`statusCode` null: no answer, see `error`;
    `nextRetryAt` null: no further attempt)."""

    id: str
    job_id: str | None
    event_id: str

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], **fields: Any) -> Self:
        return super().from_doc(doc, id=str(doc["_id"]), **fields)
