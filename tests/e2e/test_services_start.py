"""Every service starts as a real process, connects, and serves its operational endpoints."""

from __future__ import annotations

import httpx
import pytest
from localstack import SERVICES, LocalStack

HTTP_APIS = [spec.name for spec in SERVICES if spec.name != "worker"]


@pytest.mark.parametrize("name", [spec.name for spec in SERVICES])
def test_service_is_alive_ready_and_exports_metrics(stack: LocalStack, name: str) -> None:
    base = stack.url(name)
    assert httpx.get(f"{base}/healthz").status_code == 200
    ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"mongodb": "ok", "rabbitmq": "ok"}
    metrics = httpx.get(f"{base}/metrics")
    assert metrics.status_code == 200
    assert "git44_http_requests_total" in metrics.text
    assert "git44_event_loop_lag_seconds " in metrics.text  # every service watches its loop


@pytest.mark.parametrize("name", HTTP_APIS)
def test_http_services_publish_their_openapi(stack: LocalStack, name: str) -> None:
    spec = httpx.get(f"{stack.url(name)}/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["openapi"].startswith("3.")


def test_the_worker_has_no_business_api(stack: LocalStack) -> None:
    assert httpx.get(f"{stack.url('worker')}/openapi.json").status_code == 404


def test_unknown_routes_answer_problem_json(stack: LocalStack) -> None:
    response = httpx.get(f"{stack.url('jobs-api')}/no/such/route")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "not_found"


def test_the_simulator_answers(stack: LocalStack) -> None:
    account = httpx.get(f"{stack.url('sim')}/account", params={"api_key": "demo-key-1"})
    assert account.status_code == 200
    assert account.json()["requestCount"] == 0
