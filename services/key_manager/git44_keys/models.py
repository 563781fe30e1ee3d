"""HTTP schemas of the admin API (camelCase on the wire, as the SPA expects)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from git44_common.circuits import CircuitState, Upstream
from git44_common.contracts import KeyStatus
from git44_common.schemas import ApiInput, ApiModel, IsoTime, Page

# Printable ASCII without whitespace; the length bounds give clear 422s.
ScraperApiKey = Annotated[
    str, StringConstraints(min_length=8, max_length=128, pattern=r"^[\x21-\x7e]+$")
]
Label = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x20-\x7e]+$")]


class ScraperKeyCreate(ApiInput):
    model_config = ConfigDict(hide_input_in_errors=True)  # a 422 must not echo the key

    api_key: ScraperApiKey
    label: Label | None = None
    max_concurrency: int | None = Field(default=None, ge=1, le=1000)


class ScraperKeyUpdate(ApiInput):
    """The fields to change (at least one). `enabled: false` disables the key (never
    leased); `enabled: true` makes a disabled key active again."""

    label: Label | None = None
    max_concurrency: int | None = Field(default=None, ge=1, le=1000)
    enabled: bool | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        given = {name for name in self.model_fields_set if getattr(self, name) is not None}
        if not given:
            raise ValueError("give at least one of label, maxConcurrency, enabled")
        return self


class ScraperKeyPublic(ApiModel):
    id: str
    label: str
    masked_key: str
    status: KeyStatus
    usage_count: int = 0
    in_flight: int = 0
    max_concurrency: int
    last_used: IsoTime | None = None
    limited_at: IsoTime | None = None
    cooldown_until: IsoTime | None = None
    credits_left: int | None = Field(
        default=None, description="per ScraperAPI's /account at `planReadAt` (null: not read)"
    )
    plan_concurrency: int | None = Field(
        default=None, description="the plan's concurrency limit; it caps `maxConcurrency`"
    )
    plan_read_at: IsoTime | None = None
    created_at: IsoTime
    updated_at: IsoTime

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], **fields: Any) -> Self:
        """A key, masked: only its hint is shown."""
        plan = doc.get("plan") or {}
        if plan:
            fields.setdefault("credits_left", plan["request_limit"] - plan["request_count"])
            fields.setdefault("plan_concurrency", plan["concurrency_limit"])
            fields.setdefault("plan_read_at", plan.get("read_at"))
        return super().from_doc(doc, masked_key=doc["key_hint"], **fields)


class ScraperKeysPublic(Page[ScraperKeyPublic]):
    pass


class CircuitPublic(ApiModel):
    """An upstream's circuit breaker, as the workers share it: `halfOpen` while a probe
    is in flight; while not closed, jobs wait (no retry spent) until `nextProbeAt`."""

    upstream: Upstream
    state: CircuitState
    opened_at: IsoTime | None
    reason: str | None
    next_probe_at: IsoTime | None
    opened_count: int


class KeysSummaryPublic(ApiModel):
    total: int
    by_state: dict[KeyStatus, int]
    in_flight: int
    cooldown_until: IsoTime | None
    circuits: list[CircuitPublic] = Field(
        default_factory=list, description="every upstream's circuit (closed until one opened)"
    )
