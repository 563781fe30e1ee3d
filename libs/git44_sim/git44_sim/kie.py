"""A second removal provider under `/kie`, shaped like the common task API of hosted
services (kie.ai-style): its own API keys (`Authorization: Bearer <key>`), latency,
injected failures and callbacks.

    POST /kie/api/v1/jobs/createTask  {model, callBackUrl?, input: {video_url}}
         → {code: 200, msg: "success", data: {taskId}}
    GET  /kie/api/v1/jobs/recordInfo?taskId=…
         → {code: 200, msg: "success", data: {taskId, model, state, resultJson,
            failCode, failMsg, createTime, completeTime}}

`state` goes waiting → queuing → generating → success | fail; on success `resultJson`
is a JSON string `{"resultUrls": [<signed download link>]}`. When a task with a
`callBackUrl` ends, the same `data` is POSTed there (`{code, msg, data}`), unless
callbacks are withheld (`kieCallbacks: false` in the control plane). Tasks share the
RemoveSora simulator's store (processing times, failure rate, download links), so the
control plane's task list shows both providers'.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from git44_sim.deps import Http, State
from git44_sim.records import Task
from git44_sim.removesora import is_sora_share_link
from git44_sim.state import SimState

log = logging.getLogger(__name__)

MODEL = "sora-watermark-remover"
CALLBACK_TIMEOUT_S = 10.0
_CALLBACKS: set[asyncio.Task[None]] = set()


async def apply_kie_latency(state: State) -> None:
    if state.config.kie_latency_ms > 0:
        await asyncio.sleep(state.config.kie_latency_ms / 1000)


router = APIRouter(
    prefix="/kie/api/v1/jobs", tags=["kie"], dependencies=[Depends(apply_kie_latency)]
)


def answer(state: SimState, code: int, msg: str, data: Any = None) -> JSONResponse:
    """The provider's envelope; the HTTP status follows `code`, as such APIs do."""
    state.stats.kie_served[code] += 1
    return JSONResponse({"code": code, "msg": msg, "data": data}, status_code=code)


def refusal(state: SimState, authorization: str | None) -> JSONResponse | None:
    """401 for a missing or unknown key; an injected 500 (a provider outage)."""
    key = (authorization or "").removeprefix("Bearer ").strip()
    if key not in state.kie_keys:
        return answer(state, 401, "You do not have access permissions")
    if state.config.kie_failure_rate > 0 and state.rng.random() < state.config.kie_failure_rate:
        return answer(state, 500, "Server error, please try again later")
    return None


@router.post("/createTask")
async def create_task(
    request: Request,
    state: State,
    http: Http,
    authorization: str | None = Header(default=None),
) -> JSONResponse:
    refused = refusal(state, authorization)
    if refused is not None:
        return refused
    try:
        payload = await request.json()
    except ValueError:
        return answer(state, 422, "body must be JSON")
    video_url = (payload.get("input") or {}).get("video_url") if isinstance(payload, dict) else None
    if not isinstance(video_url, str) or not is_sora_share_link(video_url):
        return answer(state, 422, "input.video_url must be a Sora share link")
    callback = payload.get("callBackUrl")
    if callback is not None and not isinstance(callback, str):
        return answer(state, 422, "callBackUrl must be a URL")
    task = state.create_task(video_url)
    state.stats.kie_tasks_created += 1
    if callback:
        pending = asyncio.create_task(
            _call_back(state, http, task, callback, str(request.base_url))
        )
        # the loop keeps only a weak reference to a task: hold it until it is done
        _CALLBACKS.add(pending)
        pending.add_done_callback(_CALLBACKS.discard)
    return answer(state, 200, "success", {"taskId": task.task_id})


@router.get("/recordInfo")
async def record_info(
    request: Request,
    state: State,
    taskId: str,  # noqa: N803 - the provider's parameter name
    authorization: str | None = Header(default=None),
) -> JSONResponse:
    refused = refusal(state, authorization)
    if refused is not None:
        return refused
    task = state.poll_task(taskId)
    if task is None:
        return answer(state, 404, "recordInfo is null")
    state.stats.kie_polls += 1
    return answer(state, 200, "success", record(state, task, str(request.base_url)))


def record(
    state: SimState, task: Task, base_url: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """The task as `recordInfo` shows it at `now` (default: now)."""
    now = now or datetime.now(UTC)
    status = task.status_at(now)
    data: dict[str, Any] = {
        "taskId": task.task_id,
        "model": MODEL,
        "state": _state(task, now) if status == "processing" else status.replace("failed", "fail"),
        "resultJson": "",
        "failCode": None,
        "failMsg": None,
        "createTime": int(task.created_at.timestamp() * 1000),
        "completeTime": None,
    }
    if status == "success":
        expires, signature = state.sign_download(task.task_id, now=now)
        link = f"{base_url.rstrip('/')}/removesora/files/{task.task_id}.mp4"
        link += f"?expires={expires}&signature={signature}"
        data["resultJson"] = json.dumps({"resultUrls": [link]})
        data["completeTime"] = int(task.ready_at.timestamp() * 1000)
    elif status == "failed":
        data.update(failCode="500", failMsg=task.error or "generation failed")
        data["completeTime"] = int(task.ready_at.timestamp() * 1000)
    return data


def _state(task: Task, now: datetime) -> str:
    """waiting, queuing, generating: the first tenth, the next fifth, the rest."""
    total = (task.ready_at - task.created_at).total_seconds() or 1.0
    share = (now - task.created_at).total_seconds() / total
    return "waiting" if share < 0.1 else "queuing" if share < 0.3 else "generating"


async def _call_back(
    state: SimState, http: httpx.AsyncClient, task: Task, url: str, base_url: str
) -> None:
    """POST the ended task to `url` once it is ready (if callbacks are not withheld)."""
    await asyncio.sleep(max(0.0, (task.ready_at - datetime.now(UTC)).total_seconds()))
    if not state.config.kie_callbacks:
        return
    # a timer may fire a hair before `ready_at`: the callback describes the ended task
    ended = max(datetime.now(UTC), task.ready_at)
    body = {"code": 200, "msg": "success", "data": record(state, task, base_url, now=ended)}
    try:
        await http.post(url, json=body, timeout=CALLBACK_TIMEOUT_S)
    except httpx.HTTPError as exc:
        log.warning("kie callback for %s failed: %s", task.task_id, type(exc).__name__)
        return
    state.stats.kie_callbacks_sent += 1
