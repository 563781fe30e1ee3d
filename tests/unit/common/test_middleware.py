"""Correlation ids, body-size limits and request time limits, as a client sees them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from git44_common.correlation import get_correlation_id, get_traceparent
from git44_common.middleware import (
    BodySizeLimitMiddleware,
    CorrelationIdMiddleware,
    RequestTimeoutMiddleware,
    install_middleware,
)
from git44_common.problems import PROBLEM_CONTENT_TYPE, install_problem_handlers

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def build_app(*, max_bytes: int = 1000, timeout: float = 0.2) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_middleware(app, service="test-mw", max_body_bytes=max_bytes, timeout_seconds=timeout)

    @app.get("/context")
    async def context() -> dict[str, str | None]:
        return {"correlationId": get_correlation_id(), "traceparent": get_traceparent()}

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.post("/json")
    async def json_body(payload: dict[str, str]) -> dict[str, int]:
        return {"keys": len(payload)}

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(5)
        return {"status": "late"}

    @app.get("/own-timeout")
    async def own_timeout() -> None:
        raise TimeoutError("upstream took too long")

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def events() -> AsyncIterator[bytes]:
            for n in range(3):
                yield f"data: {n}\n\n".encode()
                await asyncio.sleep(0.15)

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_a_correlation_id_is_generated_and_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/context")
    generated = response.headers["x-correlation-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert response.headers["x-request-id"] == generated
    assert response.json()["correlationId"] == generated


@pytest.mark.parametrize("header", ["X-Correlation-ID", "X-Request-ID"])
async def test_a_safe_incoming_id_is_adopted(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get("/context", headers={header: "client-id.42"})
    assert response.headers["x-correlation-id"] == "client-id.42"
    assert response.json()["correlationId"] == "client-id.42"


@pytest.mark.parametrize("unsafe", ["has space", "x" * 129, "<script>", "a\u00e9"])
async def test_an_unsafe_incoming_id_is_replaced(client: httpx.AsyncClient, unsafe: str) -> None:
    response = await client.get("/context", headers={"X-Correlation-ID": unsafe.encode("utf-8")})
    assert response.headers["x-correlation-id"] != unsafe
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-correlation-id"])


async def test_a_valid_traceparent_is_adopted_and_a_bad_one_ignored(
    client: httpx.AsyncClient,
) -> None:
    good = await client.get("/context", headers={"traceparent": TRACEPARENT})
    bad = await client.get("/context", headers={"traceparent": "00-nonsense"})
    assert good.json()["traceparent"] == TRACEPARENT
    assert bad.json()["traceparent"] is None


async def test_the_context_is_reset_after_the_request(client: httpx.AsyncClient) -> None:
    await client.get("/context", headers={"X-Correlation-ID": "leaky"})
    assert get_correlation_id() is None


async def test_problems_carry_the_correlation_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/missing", headers={"X-Request-ID": "req-404"})
    assert response.status_code == 404
    assert response.json()["correlationId"] == "req-404"
    assert response.headers["x-correlation-id"] == "req-404"


async def test_a_body_within_the_limit_passes(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", content=b"x" * 1000)
    assert response.json() == {"size": 1000}


async def test_a_declared_body_over_the_limit_is_a_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", content=b"x" * 1001)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["code"] == "payload_too_large"
    assert response.headers["x-correlation-id"]


@pytest.mark.parametrize("path", ["/echo", "/json"])
async def test_a_streamed_body_over_the_limit_is_a_413(
    client: httpx.AsyncClient, path: str
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"y" * 400

    response = await client.post(
        path, content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_a_slow_handler_gets_a_503_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/slow")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["code"] == "service_unavailable"
    assert response.headers["retry-after"]


async def test_a_started_stream_is_not_cut_off(client: httpx.AsyncClient) -> None:
    response = await client.get("/stream")  # 3 events over 0.45 s; the limit is 0.2 s
    assert response.status_code == 200
    assert response.text.count("data:") == 3


async def test_the_apps_own_timeout_error_is_not_mistaken_for_ours(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/own-timeout")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"


async def test_the_middlewares_work_standalone_on_a_bare_asgi_app() -> None:
    async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        await asyncio.sleep(1)

    wrapped = CorrelationIdMiddleware(
        BodySizeLimitMiddleware(RequestTimeoutMiddleware(app, 0.05), 10)
    )
    transport = httpx.ASGITransport(app=wrapped)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        too_big = await http.post("/x", content=b"z" * 11)
        too_slow = await http.get("/x")
    assert (too_big.status_code, too_slow.status_code) == (413, 503)
    assert too_slow.json()["instance"] == "/x"
