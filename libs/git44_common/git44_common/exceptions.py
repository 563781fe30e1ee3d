"""Errors shared by every Git44 service.

Each `ProblemError` maps to one RFC 9457 problem (`git44_common.problems`) with a
stable `code` that clients may branch on.

    Git44Error
    ├── ProblemError                      500 internal_error (base of all HTTP problems)
    │   ├── ValidationFailed              422 validation_failed
    │   ├── Unauthorized                  401 unauthorized  (WWW-Authenticate: Bearer)
    │   │   ├── InvalidCredentials        401 invalid_credentials
    │   │   ├── TokenExpired              401 token_expired
    │   │   └── TokenInvalid              401 token_invalid
    │   ├── Forbidden                     403 forbidden
    │   │   └── EmailUnverified           403 email_unverified
    │   ├── NotFound                      404 not_found
    │   ├── Conflict                      409 conflict
    │   │   ├── EmailTaken                409 email_taken
    │   │   └── IdempotencyConflict       409 idempotency_conflict
    │   ├── QuotaExhausted                402 quota_exhausted
    │   ├── PayloadTooLarge               413 payload_too_large
    │   ├── DailyLimitReached             429 daily_limit_reached  (Retry-After)
    │   ├── RateLimited                   429 rate_limited         (Retry-After)
    │   └── ServiceUnavailable            503 service_unavailable  (Retry-After, optional)
    ├── InvalidLink (also a ValueError)   a rejected Sora link or callback URL
    └── UnreadableSecret                  no configured key opens a stored secret
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


class Git44Error(Exception):
    """Root of every error Git44 code raises on purpose."""


class ProblemError(Git44Error):
    """An error that is answered as an `application/problem+json` response.

    Subclasses set `status`, `code` and `title`; an instance adds a `detail`,
    response `headers` (e.g. Retry-After) and `extra` members for the body.
    """

    status: int = 500
    code: str = "internal_error"
    title: str = "Internal server error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
        status: int | None = None,
        code: str | None = None,
        title: str | None = None,
    ) -> None:
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        if title is not None:
            self.title = title
        self.detail = detail or self.title
        self.headers: dict[str, str] = {**self.default_headers(), **(headers or {})}
        self.extra: dict[str, Any] = dict(extra or {})
        super().__init__(self.detail)

    def default_headers(self) -> dict[str, str]:
        """Headers every instance of the class carries."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r})"


class _RetryableProblem(ProblemError):
    """A problem whose client may try again after `retry_after` seconds."""

    def __init__(
        self,
        detail: str | None = None,
        *,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        merged_headers = dict(headers or {})
        merged_extra = dict(extra or {})
        self.retry_after: int | None = None
        if retry_after is not None:
            self.retry_after = max(1, math.ceil(retry_after))
            merged_headers.setdefault("Retry-After", str(self.retry_after))
            merged_extra.setdefault("retryAfter", self.retry_after)
        super().__init__(detail, headers=merged_headers, extra=merged_extra)


class ValidationFailed(ProblemError):
    """The request is malformed; `errors` lists what is wrong, never the input."""

    status = 422
    code = "validation_failed"
    title = "Validation failed"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        extra = {"errors": errors} if errors is not None else None
        super().__init__(detail, headers=headers, extra=extra)


class Unauthorized(ProblemError):
    status = 401
    code = "unauthorized"
    title = "Authentication required"

    def default_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    title = "Invalid credentials"


class TokenExpired(Unauthorized):
    code = "token_expired"
    title = "Token expired"

    def default_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class TokenInvalid(Unauthorized):
    code = "token_invalid"
    title = "Invalid token"

    def default_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class Forbidden(ProblemError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class EmailUnverified(Forbidden):
    """The user has not verified their email address yet and verification is required
    (AUTH_REQUIRE_EMAIL_VERIFICATION): reading works, submitting and new API keys do not."""

    code = "email_unverified"
    title = "Email address not verified"


class NotFound(ProblemError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(ProblemError):
    status = 409
    code = "conflict"
    title = "Conflict"


class EmailTaken(Conflict):
    code = "email_taken"
    title = "Email already registered"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    title = "Idempotency key reused"


class QuotaExhausted(ProblemError):
    status = 402
    code = "quota_exhausted"
    title = "Quota exhausted"


class PayloadTooLarge(ProblemError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class DailyLimitReached(_RetryableProblem):
    status = 429
    code = "daily_limit_reached"
    title = "Daily limit reached"


class RateLimited(_RetryableProblem):
    status = 429
    code = "rate_limited"
    title = "Too many requests"


class ServiceUnavailable(_RetryableProblem):
    status = 503
    code = "service_unavailable"
    title = "Service unavailable"


class InvalidLink(Git44Error, ValueError):
    """A link or URL was rejected; the message is a short reason safe to show users."""


class UnreadableSecret(Git44Error):
    """No key of an encryption key list opens a stored secret: the key it was encrypted
    under is missing from the setting (dropped too early, or the wrong setting)."""
