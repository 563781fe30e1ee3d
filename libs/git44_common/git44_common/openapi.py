"""The OpenAPI document says which problem+json errors each operation can answer.

FastAPI documents the success status, a 422 shaped like its own validation error, and
whatever a route lists in `responses=`. Every error here is an RFC 9457 problem
(problems.py), so the document is completed once, when first asked for:

- every 4xx/5xx response is `application/problem+json` with the `Problem` schema;
- every operation may answer 400 (a request that cannot be read), 422 (validation)
  and 503 (a dependency down, the request time limit) — paths under /api/; health,
  metrics and JWKS are left as they are;
- an operation with a request body may answer 413 (too large) and 415;
- an operation behind a security scheme may answer 401 and 403;
- an operation with a path parameter may answer 404.

Contract tests (schemathesis) hold the services to this document, statuses included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; `code` is the stable machine-readable reason.",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string"},
        "correlationId": {"type": ["string", "null"]},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}

DESCRIPTIONS = {
    400: "bad_request: the request cannot be read",
    401: "unauthorized / token_expired / token_invalid",
    403: "forbidden",
    404: "not_found",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    503: "service_unavailable: a dependency is down or the request ran out of time",
}
EVERY_OPERATION = (400, 422, 503)
WITH_BODY = (413, 415)
AUTHENTICATED = (401, 403)
WITH_PATH_PARAMETER = (404,)
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


_BEARER = HTTPBearer(auto_error=False, description="Access token from the auth service")


async def authorization_header(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> str | None:
    """The raw `Authorization` header (checked by `Authenticator.from_bearer`); depending
    on it declares the bearer scheme for the operation in the OpenAPI document."""
    return request.headers.get("authorization")


def operation_id(route: APIRoute) -> str:
    """A route's `operationId`: its function's name in camelCase (`create_removal` →
    `createRemoval`); a route names another with `operation_id=`. Ids are stable as
    long as the functions keep their names, and unique across the public document
    (tests/unit/contract/test_public_api.py checks)."""
    first, *rest = route.name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def prefixed_operation_ids(prefix: str) -> Callable[[APIRoute], str]:
    """`operation_id` after `prefix` (`dev`: `devCreateRemoval`), for a router."""

    def generate(route: APIRoute) -> str:
        name = operation_id(route)
        return prefix + name[:1].upper() + name[1:]

    return generate


def problems(
    *statuses: int, described: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route's own problem statuses: `problems(401, 403)` with the
    usual descriptions, `problems(described={409: "email_taken"})` with its own."""
    responses: dict[int | str, dict[str, Any]] = {
        status: {"description": DESCRIPTIONS.get(status, "problem")} for status in statuses
    }
    responses.update({status: {"description": text} for status, text in (described or {}).items()})
    return responses


def document_problems(app: FastAPI) -> None:
    """Make `app.openapi()` answer the completed document (built once, then cached)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with the problem responses above (changed in place and returned)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for path, item in document.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue  # health, metrics, JWKS: documented as they are
        for method, operation in item.items():
            if method in METHODS:
                _complete_operation(operation)
    return document


def _complete_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    statuses = set(EVERY_OPERATION)
    if "requestBody" in operation:
        statuses.update(WITH_BODY)
    if operation.get("security"):
        statuses.update(AUTHENTICATED)
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        statuses.update(WITH_PATH_PARAMETER)
    for status in statuses:
        responses.setdefault(str(status), {"description": DESCRIPTIONS[status]})
    for code, response in responses.items():
        if code.isdigit() and int(code) >= 400:
            response["content"] = {"application/problem+json": {"schema": PROBLEM_REF}}
