"""The jobs-side part of a user's data export (`GET /api/removal/export`)."""

from __future__ import annotations

from git44_common.jobs import JobPublic
from git44_common.schemas import ApiModel
from git44_jobs.credits.models import QuotaPublic
from git44_jobs.webhooks.endpoint_models import WebhookEndpointPublic
from git44_jobs.webhooks.models import WebhookDeliveryPublic


class JobsExportPublic(ApiModel):
    quota: QuotaPublic
    jobs: list[JobPublic]
    webhook_deliveries: list[WebhookDeliveryPublic]
    webhook_endpoints: list[WebhookEndpointPublic]  # without their secrets
