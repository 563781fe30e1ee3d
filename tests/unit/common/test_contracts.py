"""Message contracts: stable JSON, versioned, tolerant of fields added later."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from git44_common.contracts import (
    Contract,
    JobEvent,
    JobStatus,
    KeyAcquireRequest,
    KeyAcquireResult,
    KeyEvent,
    KeyLease,
    KeyRelease,
    KeyStatus,
    ReleaseOutcome,
    RemovalRequested,
    WebhookDeliveryRequested,
)

AT = datetime(2025, 6, 1, 12, 30, tzinfo=UTC)
LEASE = KeyLease(key_id="k1", api_key="sk-secret", lease_id="l1", lease_expires_at=AT)

EXAMPLES: list[BaseModel] = [
    RemovalRequested(job_id="j1", user_id="u1", requested_at=AT, attempt=1),
    JobEvent(
        job_id="j1",
        user_id="u1",
        status=JobStatus.SUCCESS,
        previous_status=JobStatus.POLLING,
        retry_count=1,
        poll_count=4,
        output_link="https://cdn.example/v.mp4",
        occurred_at=AT,
    ),
    KeyAcquireRequest(worker_id="w1", job_id="j1"),
    LEASE,
    KeyAcquireResult.granted(LEASE),
    KeyAcquireResult.cooling_down(AT),
    KeyAcquireResult.none_available(),
    KeyRelease(lease_id="l1", key_id="k1", outcome=ReleaseOutcome.LIMITED, status_code=429),
    KeyEvent(
        key_id="k1",
        event="cooldown",
        from_status=KeyStatus.LIMITED,
        to_status=KeyStatus.COOLDOWN,
        occurred_at=AT,
        cooldown_until=AT + timedelta(hours=1),
    ),
    WebhookDeliveryRequested(job_id="j1", event_id="e1", attempt=2),
]


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_json_round_trip(message: BaseModel) -> None:
    body = message.model_dump_json()
    assert type(message).model_validate_json(body) == message
    assert json.loads(body)["schema_version"] == 1


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_unknown_schema_version_is_rejected(message: BaseModel) -> None:
    known = 2 if isinstance(message, WebhookDeliveryRequested) else 1
    data = json.loads(message.model_dump_json()) | {"schema_version": known + 1}
    with pytest.raises(ValidationError):
        type(message).model_validate(data)


def test_an_endpoint_delivery_is_a_version_a_worker_from_before_refuses() -> None:
    """Version 2 (ADR 0012): a worker that knows only 1 dead-letters it rather than
    taking it for a callback's delivery."""
    request = WebhookDeliveryRequested(
        job_id=None, event_id="e1:we_1", endpoint_id="we_1", body="{}", schema_version=2
    )
    data = json.loads(request.model_dump_json())
    assert WebhookDeliveryRequested.model_validate(data) == request

    class BeforeEndpoints(Contract):  # the old shape
        job_id: str
        event_id: str

    with pytest.raises(ValidationError):
        BeforeEndpoints.model_validate(data)


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_extra_fields_are_ignored(message: BaseModel) -> None:
    data = json.loads(message.model_dump_json()) | {"added_in_a_later_release": {"x": 1}}
    assert type(message).model_validate(data) == message


def test_fields_are_snake_case_and_times_iso_utc() -> None:
    data = json.loads(EXAMPLES[1].model_dump_json())
    assert {"job_id", "previous_status", "output_link", "occurred_at", "event_id"} <= set(data)
    assert data["occurred_at"] == "2025-06-01T12:30:00Z"


def test_datetimes_are_normalised_to_utc() -> None:
    naive = RemovalRequested(job_id="j", user_id="u", requested_at=datetime(2025, 6, 1, 12, 30))
    plus_two = timezone(timedelta(hours=2))
    shifted = RemovalRequested(
        job_id="j", user_id="u", requested_at=datetime(2025, 6, 1, 14, 30, tzinfo=plus_two)
    )
    assert naive.requested_at == shifted.requested_at == AT
    assert shifted.requested_at.tzinfo == UTC


def test_unknown_job_status_is_rejected() -> None:
    with pytest.raises(ValidationError):
        JobEvent(job_id="j", user_id="u", status="exploded")


def test_api_key_is_revealed_on_the_wire_but_not_in_reprs() -> None:
    assert "sk-secret" not in repr(LEASE)
    assert "sk-secret" not in str(KeyAcquireResult.granted(LEASE))
    assert json.loads(LEASE.model_dump_json())["api_key"] == "sk-secret"
    reply = KeyAcquireResult.granted(LEASE).model_dump(mode="json")
    assert reply["lease"]["api_key"] == "sk-secret"


@pytest.mark.parametrize(
    "data",
    [
        {"outcome": "lease"},
        {"outcome": "cooldown"},
        {"outcome": "no_keys", "cooldown_until": "2025-06-01T12:30:00Z"},
        {
            "outcome": "cooldown",
            "cooldown_until": "2025-06-01T12:30:00Z",
            "lease": LEASE.model_dump(mode="json"),
        },
        {"outcome": "maybe"},
    ],
)
def test_acquire_result_fields_must_match_its_outcome(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        KeyAcquireResult.model_validate(data)


def test_defaults_fill_event_ids_and_times() -> None:
    first = JobEvent(job_id="j", user_id="u", status=JobStatus.QUEUED)
    second = JobEvent(job_id="j", user_id="u", status=JobStatus.QUEUED)
    assert first.event_id != second.event_id
    assert first.occurred_at.tzinfo == UTC
