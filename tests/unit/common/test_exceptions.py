"""The error tree: stable codes, statuses and the headers clients rely on."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError, field_validator

from git44_common.exceptions import (
    Conflict,
    DailyLimitReached,
    EmailTaken,
    Forbidden,
    Git44Error,
    IdempotencyConflict,
    InvalidCredentials,
    InvalidLink,
    NotFound,
    PayloadTooLarge,
    ProblemError,
    QuotaExhausted,
    RateLimited,
    ServiceUnavailable,
    TokenExpired,
    TokenInvalid,
    ValidationFailed,
)


@pytest.mark.parametrize(
    ("error_class", "status", "code"),
    [
        (ValidationFailed, 422, "validation_failed"),
        (InvalidCredentials, 401, "invalid_credentials"),
        (TokenExpired, 401, "token_expired"),
        (TokenInvalid, 401, "token_invalid"),
        (Forbidden, 403, "forbidden"),
        (NotFound, 404, "not_found"),
        (Conflict, 409, "conflict"),
        (EmailTaken, 409, "email_taken"),
        (QuotaExhausted, 402, "quota_exhausted"),
        (DailyLimitReached, 429, "daily_limit_reached"),
        (RateLimited, 429, "rate_limited"),
        (IdempotencyConflict, 409, "idempotency_conflict"),
        (PayloadTooLarge, 413, "payload_too_large"),
        (ServiceUnavailable, 503, "service_unavailable"),
    ],
)
def test_each_problem_has_its_stable_status_and_code(
    error_class: type[ProblemError], status: int, code: str
) -> None:
    error = error_class()
    assert (error.status, error.code) == (status, code)
    assert isinstance(error, Git44Error)
    assert error.detail == error.title


@pytest.mark.parametrize("error_class", [InvalidCredentials, TokenExpired, TokenInvalid])
def test_401s_ask_for_a_bearer_token(error_class: type[ProblemError]) -> None:
    assert error_class().headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("error_class", [DailyLimitReached, RateLimited, ServiceUnavailable])
def test_retry_after_becomes_a_whole_second_header(error_class: type[RateLimited]) -> None:
    error = error_class("slow down", retry_after=2.1)
    assert error.headers["Retry-After"] == "3"
    assert error.extra["retryAfter"] == 3


def test_service_unavailable_without_retry_after_has_no_header() -> None:
    assert "Retry-After" not in ServiceUnavailable().headers


def test_validation_failed_carries_its_errors() -> None:
    errors = [{"loc": ["body", "email"], "msg": "bad", "type": "value_error"}]
    assert ValidationFailed("bad", errors=errors).extra == {"errors": errors}


def test_overrides_per_instance_do_not_leak_to_the_class() -> None:
    error = ProblemError("teapot", status=418, code="teapot", title="I'm a teapot")
    assert (error.status, error.code) == (418, "teapot")
    assert (ProblemError.status, ProblemError.code) == (500, "internal_error")


def test_invalid_link_works_inside_a_pydantic_validator() -> None:
    class Model(BaseModel):
        link: str

        @field_validator("link")
        @classmethod
        def check(cls, value: str) -> str:
            raise InvalidLink("The link must start with https://.")

    with pytest.raises(ValidationError) as caught:
        Model(link="x")
    assert "must start with https" in caught.value.errors()[0]["msg"]
    assert issubclass(InvalidLink, Git44Error)
