"""The kie-style provider's adapter: request shapes and typed outcomes (httpx's
MockTransport stands in for the one edge a unit test cannot run; the simulator's
`/kie` runs in tests/integration/worker/test_breaker.py)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from git44_common.circuits import Upstream
from git44_worker.adapters.kie import KieClient
from git44_worker.adapters.removesora import (
    TaskCreated,
    TaskFailed,
    TaskProcessing,
    TaskSucceeded,
    UpstreamError,
)

BASE = "http://kie.test/kie"
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler) -> KieClient:
    return KieClient(
        base_url=BASE,
        api_keys=["k1", "k2"],
        require_https=False,
        transport=httpx.MockTransport(handler),
    )


async def test_create_sends_the_model_and_video_with_its_own_keys_in_turn() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"code": 200, "msg": "success", "data": {"taskId": "t1"}})

    kie = client(handler)
    for _ in range(2):
        assert await kie.create(api_key=kie.own_key(), video_url="https://v") == TaskCreated("t1")
    assert [r.headers["authorization"] for r in seen] == ["Bearer k1", "Bearer k2"]
    assert str(seen[0].url) == f"{BASE}/api/v1/jobs/createTask"
    assert json.loads(seen[0].content)["input"] == {"video_url": "https://v"}


@pytest.mark.parametrize(
    ("status", "data", "expected"),
    [
        (200, {"state": "waiting"}, TaskProcessing()),
        (200, {"state": "generating"}, TaskProcessing()),
        (
            200,
            {"state": "success", "resultJson": json.dumps({"resultUrls": ["http://cdn/x.mp4"]})},
            TaskSucceeded("http://cdn/x.mp4"),
        ),
        (200, {"state": "fail", "failMsg": "bad video"}, TaskFailed("bad video")),
        (404, None, TaskFailed("the task no longer exists upstream", 404)),
        (500, None, UpstreamError(500, "poll answered 500", Upstream.KIE)),
        (401, None, UpstreamError(401, "poll answered 401", None)),
    ],
)
async def test_record_info_maps_to_outcomes(status: int, data: object, expected: object) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["taskId"] == "t1"
        return httpx.Response(status, json={"code": status, "msg": "m", "data": data})

    assert await client(handler).status(api_key="k1", task_id="t1") == expected


async def test_a_success_without_a_usable_result_is_a_failed_task() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        data = {"state": "success", "resultJson": json.dumps({"resultUrls": []})}
        return httpx.Response(200, json={"code": 200, "data": data})

    assert isinstance(await client(handler).status(api_key="k", task_id="t"), TaskFailed)


async def test_an_unreachable_provider_is_a_failure_of_its_circuit() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    outcome = await client(handler).create(api_key="k", video_url="https://v")
    assert isinstance(outcome, UpstreamError)
    assert outcome.upstream is Upstream.KIE
