"""The RemoveSora adapter: request shapes through ScraperAPI and typed outcomes
(httpx's MockTransport stands in for the one edge a unit test cannot run)."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from git44_common.circuits import Upstream
from git44_worker.adapters.removesora import (
    KeyLimited,
    RemoveSoraClient,
    TaskCreated,
    TaskFailed,
    TaskProcessing,
    TaskSucceeded,
    UpstreamError,
)

PROXY = "http://proxy.test/"
BASE = "http://removesora.test/removesora"
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler) -> RemoveSoraClient:
    return RemoveSoraClient(
        scraperapi_url=PROXY, removesora_url=BASE, transport=httpx.MockTransport(handler)
    )


async def test_create_posts_the_video_url_through_the_proxy_with_the_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"taskId": "t-1"})

    outcome = await client(handler).create(
        api_key="k-123", video_url="https://sora.chatgpt.com/p/a"
    )

    assert outcome == TaskCreated("t-1")
    [request] = seen
    assert request.method == "POST"
    assert str(request.url).startswith(PROXY)
    query = parse_qs(urlsplit(str(request.url)).query)
    assert query == {"api_key": ["k-123"], "url": [f"{BASE}/api/v1/tasks"]}
    assert json.loads(request.content) == {"videoUrl": "https://sora.chatgpt.com/p/a"}


async def test_poll_gets_the_task_through_the_proxy() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"taskId": "t-1", "status": "processing"})

    assert await client(handler).status(api_key="k", task_id="t-1") == TaskProcessing()
    query = parse_qs(urlsplit(str(seen[0].url)).query)
    assert query["url"] == [f"{BASE}/api/v1/tasks/t-1"]
    assert seen[0].method == "GET"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            200,
            {"status": "success", "downloadUrl": "https://cdn/x.mp4"},
            TaskSucceeded("https://cdn/x.mp4"),
        ),
        (200, {"status": "failed", "error": "bad video"}, TaskFailed("bad video")),
        (404, {"error": "Task not found"}, TaskFailed("the task no longer exists upstream", 404)),
        (403, "You have exhausted the API Credits", KeyLimited(403)),
        (429, "too fast", KeyLimited(429)),
        (401, "Invalid API key", KeyLimited(401)),
        (
            500,
            "Request failed. You will not be charged",
            UpstreamError(500, "poll answered 500", Upstream.SCRAPERAPI),
        ),
        (
            502,
            {"error": "bad gateway"},
            UpstreamError(502, "poll answered 502", Upstream.REMOVESORA),
        ),
        (200, {"status": "weird"}, UpstreamError(200, "poll answered an unknown task status")),
        (200, "not json", UpstreamError(200, "poll answered 200")),
    ],
)
async def test_poll_answers_map_to_outcomes(status: int, body: object, expected: object) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    assert await client(handler).status(api_key="k", task_id="t") == expected


@pytest.mark.parametrize(
    "link",
    [
        None,
        "",
        "/relative/x.mp4",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "ftp://cdn.example/x.mp4",
        "https://user:pw@cdn.example/x.mp4",
        "https://cdn.example/x y.mp4",
        "http://cdn.example/x.mp4",  # production wants https
        "https://" + "a" * 3000,
    ],
)
async def test_a_success_with_an_unusable_download_link_is_a_failed_task(link: object) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "success", "downloadUrl": link})

    outcome = await client(handler).status(api_key="k", task_id="t")
    assert isinstance(outcome, TaskFailed)
    assert outcome.error.startswith("the task answered an unusable download link")


async def test_the_simulators_http_links_pass_where_https_is_not_required() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"status": "success", "downloadUrl": "http://127.0.0.1:8090/d/x.mp4"}
        )

    upstream = RemoveSoraClient(
        scraperapi_url=PROXY, removesora_url=BASE, require_https=False,
        transport=httpx.MockTransport(handler),
    )  # fmt: skip
    assert await upstream.status(api_key="k", task_id="t") == TaskSucceeded(
        "http://127.0.0.1:8090/d/x.mp4"
    )
    production = client(handler)
    assert isinstance(await production.status(api_key="k", task_id="t"), TaskFailed)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (403, "exhausted", KeyLimited(403)),
        (429, "too fast", KeyLimited(429)),
        (
            500,
            "Request failed",
            UpstreamError(500, "create task answered 500", Upstream.SCRAPERAPI),
        ),
        (
            422,
            {"error": "videoUrl must be a Sora share link"},
            UpstreamError(422, "create task answered 422"),
        ),
        (200, {"nope": 1}, UpstreamError(200, "create task answered without a taskId")),
    ],
)
async def test_create_answers_map_to_outcomes(status: int, body: object, expected: object) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    assert (
        await client(handler).create(api_key="k", video_url="https://sora.chatgpt.com/p/a")
        == expected
    )


async def test_a_timeout_is_an_upstream_error_that_never_mentions_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    outcome = await client(handler).create(
        api_key="k-secret-123", video_url="https://sora.chatgpt.com/p/a"
    )

    assert outcome == UpstreamError(None, "create task failed: ReadTimeout", Upstream.SCRAPERAPI)
    assert "k-secret-123" not in repr(outcome)


async def test_an_unreachable_proxy_is_a_scraperapi_failure() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    outcome = await client(handler).create(api_key="k", video_url="https://x")
    assert isinstance(outcome, UpstreamError)
    assert (outcome.status_code, outcome.upstream) == (None, Upstream.SCRAPERAPI)
