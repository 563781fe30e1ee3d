"""RemoveSora under `/removesora`: create a task, poll it, download the clean video."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from git44_sim.deps import State
from git44_sim.models import TaskCreated, TaskView

SORA_HOST = "sora.chatgpt.com"
SHARE_PATH = re.compile(r"^/p/[A-Za-z0-9_-]+/?$")
# An ftyp box and an empty mdat box: enough for a client to see an MP4.
FAKE_MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x00\x08mdat"


async def apply_removesora_latency(state: State) -> None:
    if state.config.removesora_latency_ms > 0:
        await asyncio.sleep(state.config.removesora_latency_ms / 1000)


router = APIRouter(prefix="/removesora", tags=["removesora"])
api = APIRouter(prefix="/api/v1", dependencies=[Depends(apply_removesora_latency)])


def error_response(status_code: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"error": message, "code": code}, status_code=status_code)


def is_sora_share_link(url: str) -> bool:
    """Only `https://sora.chatgpt.com/p/<id>` (no credentials, no port)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and parts.hostname == SORA_HOST
        and port is None
        and "@" not in parts.netloc
        and bool(SHARE_PATH.match(parts.path))
    )


def video_url_problem(payload: Any) -> str | None:
    """Why `payload` is not a valid create-task body, or None when it is."""
    video_url = payload.get("videoUrl") if isinstance(payload, dict) else None
    if not isinstance(video_url, str) or not video_url:
        return "videoUrl is required"
    if not is_sora_share_link(video_url):
        return "videoUrl must be a Sora share link (https://sora.chatgpt.com/p/...)"
    return None


@api.post("/tasks", response_model=TaskCreated)
async def create_task(request: Request, state: State) -> Response | TaskCreated:
    """Start removing the watermark of a Sora video."""
    try:
        payload = await request.json()
    except ValueError:
        return error_response(422, "body must be JSON with a videoUrl", "invalid_body")
    problem = video_url_problem(payload)
    if problem is not None:
        return error_response(422, problem, "invalid_video_url")
    task = state.create_task(payload["videoUrl"])
    return TaskCreated(task_id=task.task_id)


@api.get("/tasks/{task_id}", response_model=TaskView, response_model_exclude_none=True)
async def get_task(task_id: str, request: Request, state: State) -> Response | TaskView:
    """The task's status; a download link once it succeeded."""
    task = state.poll_task(task_id)
    if task is None:
        return error_response(404, "Task not found", "task_not_found")
    now = datetime.now(UTC)
    status = task.status_at(now)
    view = TaskView(task_id=task.task_id, status=status)
    if status == "success":
        # a signed link that expires, as object stores issue them
        expires, signature = state.sign_download(task.task_id, now=now)
        url = request.url_for("download_video", task_id=task.task_id)
        view.download_url = str(url.include_query_params(expires=expires, signature=signature))
    elif status == "failed":
        view.error = task.error
    return view


@router.get("/files/{task_id}.mp4", name="download_video")
async def download_video(
    task_id: str, state: State, expires: int = 0, signature: str = ""
) -> Response:
    """The clean video of a task that succeeded, through an unexpired signed link."""
    if not state.download_link_valid(task_id, expires, signature, now=datetime.now(UTC)):
        return error_response(403, "The link has expired or is not valid", "link_expired")
    if state.downloadable_task(task_id) is None:
        return error_response(404, "File not found", "file_not_found")
    return Response(FAKE_MP4, media_type="video/mp4")


router.include_router(api)
