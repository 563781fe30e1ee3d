"""Webhook endpoints as the API shows and takes them (ADR 0012)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import Field, model_validator

from git44_common.clock import as_utc, utc_now
from git44_common.schemas import ApiInput, ApiModel, IsoTime
from git44_common.webhook_endpoints import EventType
from git44_jobs.webhooks.models import DeliveryAttempt

ALL_EVENT_TYPES = list(EventType)


class WebhookEndpointCreate(ApiInput):
    url: str = Field(max_length=2048, description="Public https URL that receives the events")
    description: str | None = Field(default=None, max_length=200)
    event_types: list[EventType] = Field(
        default_factory=lambda: list(ALL_EVENT_TYPES),
        min_length=1,
        description="The event types sent to it (all by default)",
    )


class WebhookEndpointUpdate(ApiInput):
    """The fields to change (at least one); `enabled: true` re-enables a disabled one."""

    url: str | None = Field(default=None, max_length=2048)
    description: str | None = Field(default=None, max_length=200)
    event_types: list[EventType] | None = Field(default=None, min_length=1)
    enabled: bool | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("give at least one of url, description, eventTypes, enabled")
        return self


class WebhookEndpointPublic(ApiModel):
    """A registered endpoint. `failingSince`: every attempt since then failed (it is
    disabled after WORKER_WEBHOOK_DISABLE_AFTER_SECONDS of that);
    `previousSecretExpiresAt`: until then the secret replaced at the last rotation
    still signs (a second `v1,` signature)."""

    id: str
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_at: IsoTime | None
    disabled_reason: str | None
    failing_since: IsoTime | None
    previous_secret_expires_at: IsoTime | None
    created_at: IsoTime
    updated_at: IsoTime

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], **fields: Any) -> Self:
        secrets = doc.get("secrets", [])
        previous = secrets[1].get("expires_at") if len(secrets) > 1 else None
        if previous is not None and as_utc(previous) <= utc_now():
            previous = None  # that secret signs no more
        return super().from_doc(
            doc,
            enabled=doc.get("disabled_at") is None,
            previous_secret_expires_at=previous,
            **fields,
        )


class WebhookEndpointCreated(WebhookEndpointPublic):
    """The endpoint with its signing secret: shown here (and at a rotation) only."""

    secret: str


class WebhookEndpointsPublic(ApiModel):
    data: list[WebhookEndpointPublic]


class EndpointDeliveryPublic(DeliveryAttempt):
    """One attempt to deliver an event to the endpoint (`statusCode` null: no answer,
    see `error`; `nextRetryAt` null: no further attempt). `webhookId` is the
    `webhook-id` sent (the same for every attempt and redelivery of the event)."""

    id: str
    webhook_id: str
    event_type: str | None
    job_id: str | None

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], **fields: Any) -> Self:
        webhook_id = doc.get("msg_id") or doc["event_id"]
        return super().from_doc(doc, id=str(doc["_id"]), webhook_id=webhook_id, **fields)


class EndpointDeliveriesPublic(ApiModel):
    data: list[EndpointDeliveryPublic]


class DeliveryQueuedPublic(ApiModel):
    """A delivery queued (redelivery, ping): `webhookId` is the `webhook-id` it carries."""

    webhook_id: str
    event_type: str
