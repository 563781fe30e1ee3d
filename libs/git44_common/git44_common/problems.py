"""RFC 9457 `application/problem+json` responses for every error a service answers.

The one place where exceptions become HTTP error bodies:

    {"type": "urn:git44:problem:<code>", "title", "status", "detail", "instance",
     "code", "correlationId", ...extra}

Bodies never carry a stack trace, an exception's text or a request's input values.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import aiormq.exceptions
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure, OperationFailure
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from git44_common.correlation import get_correlation_id
from git44_common.exceptions import Conflict, ProblemError, ServiceUnavailable, ValidationFailed
from git44_common.logs import redact
from git44_common.mongo import is_duplicate_key_error

log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:git44:problem:"
DEPENDENCY_RETRY_AFTER_SECONDS = 5

# Errors meaning "a backing service is unreachable right now" rather than "a bug".
DEPENDENCY_ERRORS: tuple[type[Exception], ...] = (
    ConnectionFailure,
    aiormq.exceptions.AMQPConnectionError,
    aiormq.exceptions.ChannelInvalidStateError,
)

_HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    503: "service_unavailable",
}
_BODYLESS_STATUSES = frozenset({204, 304})
_MAX_ERRORS = 50


def problem_document(error: ProblemError, *, instance: str) -> dict[str, Any]:
    """The JSON body describing `error` for the request at path `instance`."""
    return {
        **error.extra,
        "type": PROBLEM_TYPE_PREFIX + error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "instance": instance,
        "code": error.code,
        "correlationId": get_correlation_id(),
    }


def problem_response(error: ProblemError, *, instance: str) -> JSONResponse:
    """An `application/problem+json` response for `error` (also a plain ASGI app)."""
    return JSONResponse(
        problem_document(error, instance=instance),
        status_code=error.status,
        headers=error.headers,
        media_type=PROBLEM_CONTENT_TYPE,
    )


def internal_error() -> ProblemError:
    """The generic 500 problem; says nothing about what went wrong inside."""
    return ProblemError("An unexpected error occurred; it has been logged.")


def validation_errors(raw_errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic/FastAPI errors reduced to `loc`, `msg`, `type` (no input values)."""
    errors: list[dict[str, Any]] = []
    for raw in list(raw_errors)[:_MAX_ERRORS]:
        item: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        errors.append(
            {
                "loc": [
                    part if isinstance(part, int) else str(part) for part in item.get("loc", ())
                ],
                "msg": redact(str(item.get("msg", "Invalid value")))[:300],
                "type": str(item.get("type", "value_error")),
            }
        )
    return errors


def _summarize(errors: list[dict[str, Any]]) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}" for e in errors[:3]]
    return "; ".join(parts) or "The request is invalid."


def _http_problem(exc: StarletteHTTPException) -> ProblemError:
    status = exc.status_code
    try:
        title = HTTPStatus(status).phrase.capitalize()
    except ValueError:
        title = "HTTP error"
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail else title
    headers = dict(exc.headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    code = _HTTP_CODES.get(status, "http_error")
    return ProblemError(detail, status=status, code=code, title=title, headers=headers)


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc, instance=request.url.path)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc.errors())
    problem = ValidationFailed(_summarize(errors), errors=errors)
    return problem_response(problem, instance=request.url.path)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code in _BODYLESS_STATUSES:
        return Response(status_code=exc.status_code, headers=exc.headers)
    return problem_response(_http_problem(exc), instance=request.url.path)


async def _on_operation_failure(request: Request, exc: Exception) -> Response:
    if not is_duplicate_key_error(exc):
        return await _on_unhandled(request, exc)
    # The server's message names the index and the duplicate value (often an email).
    problem = Conflict("The resource already exists.")
    return problem_response(problem, instance=request.url.path)


async def _on_dependency_down(request: Request, exc: Exception) -> Response:
    log.warning(
        "dependency unavailable: %s",
        type(exc).__name__,
        exc_info=exc,
        extra={"path": request.url.path},
    )
    problem = ServiceUnavailable(
        "A backing service is unavailable; try again shortly.",
        retry_after=DEPENDENCY_RETRY_AFTER_SECONDS,
    )
    return problem_response(problem, instance=request.url.path)


async def _on_unhandled(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
    return problem_response(internal_error(), instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error `app` raises with a problem+json body."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(OperationFailure, _on_operation_failure)
    for error_class in DEPENDENCY_ERRORS:
        app.add_exception_handler(error_class, _on_dependency_down)
    app.add_exception_handler(Exception, _on_unhandled)
