"""RemoveSora through the ScraperAPI proxy: the one module that knows their HTTP shapes.

ScraperAPI forwards `GET|POST /?api_key=<key>&url=<target>` to the target and answers
with the target's response; it answers 403 (credits exhausted) or 429 (too many
concurrent requests) itself, which is the key's fault, not the job's. RemoveSora:
`POST <base>/api/v1/tasks {videoUrl}` -> `{taskId}`; `GET <base>/api/v1/tasks/{id}` ->
`{status: processing|success|failed, downloadUrl?, error?}`.

Every call returns a typed outcome instead of raising, so the job run decides what a
failure means. ScraperAPI retries a target for up to 70 s before giving up, hence the
read budget. The API key travels only in the query string of the proxy URL; it never
appears in an outcome, and httpx's own request logging is silenced by the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from git44_common.circuits import Upstream
from git44_common.exceptions import InvalidLink
from git44_common.links import validate_output_link

KEY_LIMITED_STATUSES = frozenset({401, 403, 429})
# how ScraperAPI words its own failure (it could not get an answer from the target)
PROXY_FAILED_PREFIX = "Request failed"
MAX_ERROR_LENGTH = 200


@dataclass(frozen=True)
class TaskCreated:
    task_id: str


@dataclass(frozen=True)
class TaskProcessing:
    pass


@dataclass(frozen=True)
class TaskSucceeded:
    download_url: str


@dataclass(frozen=True)
class TaskFailed:
    error: str
    status_code: int = 200


@dataclass(frozen=True)
class KeyLimited:
    """ScraperAPI refused the key: 403 credits exhausted, 429 concurrency, 401 unknown."""

    status_code: int


@dataclass(frozen=True)
class UpstreamError:
    """Anything else: a 5xx, an unexpected answer, a timeout or a connection failure.

    `upstream` names who failed, for its circuit breaker: ScraperAPI when it could not
    be reached or answered its own "Request failed" 500 (it could not reach RemoveSora
    either), RemoveSora for a 5xx of its own passed through; None when an answer came
    but made no sense (not an outage)."""

    status_code: int | None
    reason: str
    upstream: Upstream | None = None


CreateOutcome = TaskCreated | KeyLimited | UpstreamError
PollOutcome = TaskProcessing | TaskSucceeded | TaskFailed | KeyLimited | UpstreamError


def _short(text: object) -> str:
    return str(text)[:MAX_ERROR_LENGTH]


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def failed_upstream(response: httpx.Response) -> Upstream | None:
    """Whose 5xx this is (see UpstreamError.upstream); None below 500."""
    if response.status_code < 500:
        return None
    if response.text.startswith(PROXY_FAILED_PREFIX):
        return Upstream.SCRAPERAPI
    return Upstream.REMOVESORA


def parse_created(response: httpx.Response) -> CreateOutcome:
    """The outcome of a create-task call from ScraperAPI's answer."""
    if response.status_code in KEY_LIMITED_STATUSES:
        return KeyLimited(response.status_code)
    body = _json_object(response)
    if response.status_code != 200 or body is None:
        return UpstreamError(
            response.status_code,
            f"create task answered {response.status_code}",
            failed_upstream(response),
        )
    task_id = body.get("taskId")
    if not isinstance(task_id, str) or not task_id:
        return UpstreamError(response.status_code, "create task answered without a taskId")
    return TaskCreated(task_id)


def parse_polled(response: httpx.Response, *, require_https: bool = True) -> PollOutcome:
    """The outcome of a poll from ScraperAPI's answer; a success whose download link is
    not one to give a user (`validate_output_link`) is a failed task."""
    if response.status_code in KEY_LIMITED_STATUSES:
        return KeyLimited(response.status_code)
    if response.status_code == 404:
        return TaskFailed("the task no longer exists upstream", 404)
    body = _json_object(response)
    if response.status_code != 200 or body is None:
        return UpstreamError(
            response.status_code, f"poll answered {response.status_code}", failed_upstream(response)
        )
    status = body.get("status")
    if status == "processing":
        return TaskProcessing()
    if status == "success":
        try:
            return TaskSucceeded(
                validate_output_link(body.get("downloadUrl"), require_https=require_https)
            )
        except InvalidLink as exc:
            return TaskFailed(f"the task answered an unusable download link: {exc}")
    if status == "failed":
        return TaskFailed(_short(body.get("error") or "the task failed upstream"))
    return UpstreamError(response.status_code, "poll answered an unknown task status")


class RemoveSoraClient:
    """Calls RemoveSora through ScraperAPI with a leased key (a `Provider`)."""

    name = "removesora"
    keys = "scraperapi"
    # the calls' path, outermost first: a failure of one says nothing of those behind it
    upstreams: tuple[Upstream, ...] = (Upstream.SCRAPERAPI, Upstream.REMOVESORA)
    callbacks = False  # RemoveSora is polled

    def own_key(self) -> str | None:
        return None  # leased from key-manager

    def __init__(
        self,
        *,
        scraperapi_url: str,
        removesora_url: str,
        read_timeout: float = 70.0,
        connect_timeout: float = 10.0,
        require_https: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._proxy = scraperapi_url
        self._require_https = require_https  # download links; off for the simulator
        self._tasks_url = removesora_url.rstrip("/") + "/api/v1/tasks"
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        # trust_env=False: an environment proxy must never see the ScraperAPI key.
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport, trust_env=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def create(
        self, *, api_key: str, video_url: str, callback_url: str | None = None
    ) -> CreateOutcome:
        """Ask RemoveSora to start removing the watermark of `video_url`."""
        params = {"api_key": api_key, "url": self._tasks_url}
        try:
            response = await self._http.post(
                self._proxy, params=params, json={"videoUrl": video_url}
            )
        except httpx.HTTPError as exc:
            return UpstreamError(
                None, f"create task failed: {type(exc).__name__}", Upstream.SCRAPERAPI
            )
        return parse_created(response)

    async def status(self, *, api_key: str, task_id: str) -> PollOutcome:
        """Ask RemoveSora how task `task_id` is doing."""
        params = {"api_key": api_key, "url": f"{self._tasks_url}/{quote(task_id, safe='')}"}
        try:
            response = await self._http.get(self._proxy, params=params)
        except httpx.HTTPError as exc:
            return UpstreamError(None, f"poll failed: {type(exc).__name__}", Upstream.SCRAPERAPI)
        return parse_polled(response, require_https=self._require_https)
