"""Every error a service answers is an RFC 9457 problem that leaks nothing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiormq.exceptions
import httpx
import pytest
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field
from pymongo.errors import DuplicateKeyError, OperationFailure, ServerSelectionTimeoutError

from git44_common.exceptions import NotFound, RateLimited
from git44_common.middleware import CorrelationIdMiddleware
from git44_common.problems import PROBLEM_CONTENT_TYPE, install_problem_handlers

PASSWORD = "hunter2-correct-horse"


class Signup(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    password: str = Field(min_length=64)


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/jobs/{job_id}")
    async def get_job(job_id: str) -> dict[str, str]:
        raise NotFound("No such job.")

    @app.get("/limited")
    async def limited() -> None:
        raise RateLimited("Slow down.", retry_after=7)

    @app.post("/signup")
    async def signup(body: Signup) -> dict[str, str]:
        return {"email": body.email}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(f"database said password={PASSWORD}")

    @app.get("/duplicate")
    async def duplicate() -> None:
        raise DuplicateKeyError('E11000 duplicate key error { email: "alice@example.com" }', 11000)

    @app.get("/write-conflict")
    async def write_conflict() -> None:
        raise OperationFailure("E11000 duplicate key", code=11000)

    @app.get("/mongo-down")
    async def mongo_down() -> None:
        raise ServerSelectionTimeoutError("127.0.0.1:27017: connection refused")

    @app.get("/amqp-down")
    async def amqp_down() -> None:
        raise aiormq.exceptions.AMQPConnectionError("amqp://guest:guest@broker refused")

    @app.get("/http/{status}")
    async def http_status(status: int) -> None:
        raise HTTPException(status_code=status)

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_a_problem_error_becomes_a_problem_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/jobs/123")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.json() == {
        "type": "urn:git44:problem:not_found",
        "title": "Not found",
        "status": 404,
        "detail": "No such job.",
        "instance": "/jobs/123",
        "code": "not_found",
        "correlationId": None,
    }


async def test_retry_after_is_sent_as_a_header(client: httpx.AsyncClient) -> None:
    response = await client.get("/limited")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json()["code"] == "rate_limited"


async def test_validation_errors_never_echo_the_input(client: httpx.AsyncClient) -> None:
    response = await client.post("/signup", json={"email": "not-an-email", "password": PASSWORD})
    body = response.json()
    assert response.status_code == 422
    assert body["code"] == "validation_failed"
    assert {tuple(error["loc"]) for error in body["errors"]} == {
        ("body", "email"),
        ("body", "password"),
    }
    assert all(set(error) == {"loc", "msg", "type"} for error in body["errors"])
    assert PASSWORD not in response.text
    assert "not-an-email" not in response.text


async def test_a_body_that_is_not_json_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/signup",
        content=b'{"password": "' + PASSWORD.encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "json_invalid"
    assert PASSWORD not in response.text


async def test_a_missing_body_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/signup")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nowhere", 404, "not_found"),
        ("DELETE", "/limited", 405, "method_not_allowed"),
        ("GET", "/http/401", 401, "unauthorized"),
        ("GET", "/http/403", 403, "forbidden"),
        ("GET", "/http/418", 418, "http_error"),
    ],
)
async def test_http_errors_map_to_stable_codes(
    client: httpx.AsyncClient, method: str, path: str, status: int, code: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["code"] == code


async def test_method_not_allowed_keeps_the_allow_header(client: httpx.AsyncClient) -> None:
    response = await client.delete("/limited")
    assert response.headers["allow"] == "GET"


async def test_a_401_from_http_exception_asks_for_bearer(client: httpx.AsyncClient) -> None:
    response = await client.get("/http/401")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_not_modified_has_no_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/http/304")
    assert response.status_code == 304
    assert response.content == b""


# path, status, code, what the body must not show (the value, the driver's words)
DRIVER_ERRORS = [
    ("/duplicate", 409, "conflict", ["alice@example.com", "E11000"]),
    ("/write-conflict", 409, "conflict", ["alice@example.com", "E11000"]),
    ("/mongo-down", 503, "service_unavailable", ["27017", "guest"]),
    ("/amqp-down", 503, "service_unavailable", ["27017", "guest"]),
]


@pytest.mark.parametrize(("path", "status", "code", "hidden"), DRIVER_ERRORS)
async def test_driver_errors_become_problems_without_their_details(
    client: httpx.AsyncClient, path: str, status: int, code: str, hidden: list[str]
) -> None:
    """A duplicate key is a 409 conflict without the value; an unreachable dependency a
    503 with Retry-After."""
    response = await client.get(path)
    assert response.status_code == status
    assert response.json()["code"] == code
    if status == 503:
        assert int(response.headers["retry-after"]) > 0
    for text in hidden:
        assert text not in response.text


async def test_an_unexpected_error_is_a_generic_500(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="git44_common.problems"):
        response = await client.get("/boom")
    body = response.json()
    assert response.status_code == 500
    assert body["code"] == "internal_error"
    assert PASSWORD not in response.text
    assert "RuntimeError" not in response.text
    assert "Traceback" not in response.text
    assert any(record.exc_info for record in caplog.records)


async def test_with_the_correlation_middleware_a_500_carries_the_id() -> None:
    app = build_app()
    app.add_middleware(CorrelationIdMiddleware)
    transport = httpx.ASGITransport(app=app)  # the middleware answers; nothing re-raises
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/boom", headers={"X-Correlation-ID": "req-500"})
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.headers["x-correlation-id"] == "req-500"
    assert response.json()["correlationId"] == "req-500"
    assert PASSWORD not in response.text
