"""The webhook signing secret as the Dev API shows it."""

from __future__ import annotations

from typing import Literal

from git44_common.schemas import ApiModel, IsoTime


class WebhookSecretPublic(ApiModel):
    secret: str
    created_at: IsoTime
    scheme: Literal["standard-webhooks"] = "standard-webhooks"
