"""A provider's call back about a task (`POST /api/providers/{provider}/callback/{token}`).

The token in the path is the task's own (git44_worker.callbacks: unguessable, only its
hash is stored), so the call needs no other credential. The result is stored on the
job once — a replay is refused and changes nothing — and `callback.received` wakes the
worker waiting for it, which completes the job with no poll. The body is limited like
every request (64 KiB), and the task id it names must be the job's.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any

from git44_common.amqp import CALLBACK_RECEIVED, AmqpError, Publisher
from git44_common.contracts import CallbackReceived
from git44_common.exceptions import Conflict, InvalidLink, NotFound, ValidationFailed
from git44_common.links import validate_output_link
from git44_common.mongo import Database, Document
from git44_jobs.removals import crud

log = logging.getLogger(__name__)

PROVIDERS_CALLING_BACK = frozenset({"kie"})


class CallbackReplayed(Conflict):
    code = "callback_replayed"
    title = "Callback already received"


async def receive_callback(
    db: Database,
    publisher: Publisher,
    *,
    provider: str,
    token: str,
    body: bytes,
    now: datetime,
    allow_http_links: bool,
) -> Document:
    """Store the callback's result on its job and wake the worker; the job."""
    if provider not in PROVIDERS_CALLING_BACK or not token or len(token) > 128:
        raise NotFound("No such callback.")
    job = await crud.job_of_callback(db, hashlib.sha256(token.encode()).hexdigest(), provider)
    if job is None:
        raise NotFound("No such callback.")
    result = _kie_result(body, allow_http_links=allow_http_links)
    if result["task_id"] != job.get("task_id"):
        raise ValidationFailed("The callback names another task.")
    stored = await crud.store_callback(db, str(job["_id"]), {**result, "received_at": now})
    if stored is None:
        raise CallbackReplayed("This task's callback was received already.")
    event = CallbackReceived(job_id=str(job["_id"]), provider=provider)
    try:
        await publisher.publish_event(CALLBACK_RECEIVED, event)
    except (AmqpError, OSError, RuntimeError) as exc:
        # stored: a worker waiting for it polls once its wait runs out
        log.warning("callback.received not published: %s", type(exc).__name__)
    return stored


def _kie_result(body: bytes, *, allow_http_links: bool) -> dict[str, Any]:
    """{task_id, state, output_link, error} from a kie-style callback body."""
    try:
        payload = json.loads(body)
        data = payload["data"]
        task_id, state = str(data["taskId"]), str(data["state"])
    except (ValueError, KeyError, TypeError):
        raise ValidationFailed("The callback body is not a task record.") from None
    if state == "success":
        try:
            urls = json.loads(data.get("resultJson") or "{}").get("resultUrls") or []
            link = validate_output_link(urls[0], require_https=not allow_http_links)
        except (ValueError, IndexError, AttributeError, InvalidLink):
            raise ValidationFailed("The callback's result is not a usable link.") from None
        return {"task_id": task_id, "state": "success", "output_link": link, "error": None}
    if state == "fail":
        error = str(data.get("failMsg") or "the task failed upstream")[:200]
        return {"task_id": task_id, "state": "fail", "output_link": None, "error": error}
    raise ValidationFailed("The callback reports no end of the task.")
