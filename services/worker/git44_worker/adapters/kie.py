"""A kie.ai-style hosted removal service (the second provider; the simulator's `/kie`):
`POST /api/v1/jobs/createTask {model, input: {video_url}}` → `{code, msg, data:
{taskId}}`; `GET /api/v1/jobs/recordInfo?taskId=` → `data.state` waiting | queuing |
generating | success | fail, `resultJson` `{"resultUrls": [...]}` on success.

Its own API keys (`WORKER_KIE_API_KEYS`, a bearer token each, used in turn): no
ScraperAPI, no key-manager lease. Like the RemoveSora adapter, every call returns a
typed outcome; a 5xx, a timeout or a refused connection is a failure of the `kie`
upstream for its circuit breaker.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx

from git44_common.circuits import Upstream
from git44_common.exceptions import InvalidLink
from git44_common.links import validate_output_link
from git44_worker.adapters.removesora import (
    CreateOutcome,
    PollOutcome,
    TaskCreated,
    TaskFailed,
    TaskProcessing,
    TaskSucceeded,
    UpstreamError,
)

MODEL = "sora-watermark-remover"
PROCESSING_STATES = frozenset({"waiting", "queuing", "generating"})
MAX_ERROR_LENGTH = 200


def _body(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _failure(response: httpx.Response, what: str) -> UpstreamError:
    upstream = Upstream.KIE if response.status_code >= 500 else None
    return UpstreamError(response.status_code, f"{what} answered {response.status_code}", upstream)


class KieClient:
    """The kie-style provider (a `Provider`)."""

    name = "kie"
    keys = "own"
    upstreams: tuple[Upstream, ...] = (Upstream.KIE,)
    callbacks = True

    def __init__(
        self,
        *,
        base_url: str,
        api_keys: list[str],
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        require_https: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_keys:
            raise ValueError("the kie provider needs at least one API key")
        self._jobs = base_url.rstrip("/") + "/api/v1/jobs"
        self._keys = itertools.cycle(api_keys)
        self._require_https = require_https
        # trust_env=False: an environment proxy must never see an API key
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
            trust_env=False,
        )

    def own_key(self) -> str:
        return next(self._keys)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def create(
        self, *, api_key: str, video_url: str, callback_url: str | None = None
    ) -> CreateOutcome:
        payload: dict[str, Any] = {"model": MODEL, "input": {"video_url": video_url}}
        if callback_url is not None:
            payload["callBackUrl"] = callback_url
        try:
            response = await self._http.post(
                f"{self._jobs}/createTask", json=payload, headers=_auth(api_key)
            )
        except httpx.HTTPError as exc:
            return UpstreamError(None, f"create task failed: {type(exc).__name__}", Upstream.KIE)
        body = _body(response)
        task_id = ((body or {}).get("data") or {}).get("taskId")
        if response.status_code != 200 or not isinstance(task_id, str) or not task_id:
            return _failure(response, "create task")
        return TaskCreated(task_id)

    async def status(self, *, api_key: str, task_id: str) -> PollOutcome:
        try:
            response = await self._http.get(
                f"{self._jobs}/recordInfo", params={"taskId": task_id}, headers=_auth(api_key)
            )
        except httpx.HTTPError as exc:
            return UpstreamError(None, f"poll failed: {type(exc).__name__}", Upstream.KIE)
        if response.status_code == 404:
            return TaskFailed("the task no longer exists upstream", 404)
        data = ((_body(response) or {}).get("data")) if response.status_code == 200 else None
        if not isinstance(data, dict):
            return _failure(response, "poll")
        state = data.get("state")
        if state in PROCESSING_STATES:
            return TaskProcessing()
        if state == "fail":
            return TaskFailed(str(data.get("failMsg") or "the task failed upstream")[:200])
        if state == "success":
            return self._succeeded(data)
        return UpstreamError(200, "poll answered an unknown task state")

    def _succeeded(self, data: dict[str, Any]) -> PollOutcome:
        try:
            urls = json.loads(data.get("resultJson") or "{}").get("resultUrls") or []
            link = validate_output_link(urls[0], require_https=self._require_https)
        except (ValueError, IndexError, AttributeError, InvalidLink) as exc:
            return TaskFailed(f"the task answered an unusable result: {exc}"[:MAX_ERROR_LENGTH])
        return TaskSucceeded(link)


def _auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}
