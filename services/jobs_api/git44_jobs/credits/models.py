"""The quota as the API shows it, and an admin's change to it."""

from __future__ import annotations

from dataclasses import asdict

from pydantic import Field

from git44_common.quota import QuotaView
from git44_common.schemas import ApiInput, ApiModel, IsoTime


class QuotaPublic(ApiModel):
    total_quota: int
    remaining_quota: int
    daily_limit: int
    daily_used: int
    reset_at: IsoTime

    @classmethod
    def from_view(cls, view: QuotaView) -> QuotaPublic:
        return cls(**asdict(view))


class QuotaUpdate(ApiInput):
    """Admin change to a user's quota; `addCredits` adds to both total and remaining."""

    total_quota: int | None = Field(default=None, ge=0, le=10_000_000)
    remaining_quota: int | None = Field(default=None, ge=0, le=10_000_000)
    daily_limit: int | None = Field(default=None, ge=0, le=10_000_000)
    add_credits: int | None = Field(default=None, ge=1, le=10_000_000)
